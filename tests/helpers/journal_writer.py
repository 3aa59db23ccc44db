"""Child process for kill -9 tests: python -m tests.helpers.journal_writer <db> [command json].

It journals one intent (the sample SubmitOrder, or the JSON-encoded one given) exactly as
the executor does before sending, prints "recorded" once record_intent has returned, then
blocks on stdin (which the parent never writes to) until it is killed.
"""

import sys
from pathlib import Path

import msgspec

from services.executor.journal import Journal
from shared.schema import SubmitOrder
from tests.helpers.samples import T, make_submit


def main() -> None:
    journal = Journal(Path(sys.argv[1]))
    command = (
        make_submit() if len(sys.argv) < 3 else msgspec.json.decode(sys.argv[2], type=SubmitOrder)
    )
    journal.record_intent(command, ts_ns=T, sent_ns=T if len(sys.argv) >= 3 else 0)
    print("recorded", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
