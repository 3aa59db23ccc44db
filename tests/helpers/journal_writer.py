"""Child process for the kill -9 test: python -m tests.helpers.journal_writer <db path>.

It journals one intent, prints "recorded" once record_intent has returned, then blocks on
stdin (which the parent never writes to) until it is killed.
"""

import sys
from pathlib import Path

from services.executor.journal import Journal
from tests.helpers.samples import T, make_submit


def main() -> None:
    journal = Journal(Path(sys.argv[1]))
    journal.record_intent(make_submit(), ts_ns=T)
    print("recorded", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
