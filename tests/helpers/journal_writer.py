"""Child process for kill -9 tests: python -m tests.helpers.journal_writer <db> [command json].

It journals one intent (the sample SubmitOrder, or the JSON-encoded one given) exactly as
the executor does before sending, prints "recorded" once record_intent has returned, then
blocks on stdin (which the parent never writes to) until it is killed.

`write_fill_row` writes a fill row as it is, past every check, as an older executor did.
"""

import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import msgspec

from services.executor.journal import Journal
from shared.schema import SubmitOrder
from tests.helpers.samples import T, make_submit


def write_fill_row(
    path: Path, client_order_id: str, exec_id: str, qty: str, price: str, fee: str
) -> None:
    """Write one `fills` row (and its "fill" event) straight into the journal at `path`."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "INSERT INTO fills (exec_id, client_order_id, venue_order_id, qty, price, fee,"
            " is_maker, ts_event_ns, ts_recorded_ns) VALUES (?, ?, 'v1', ?, ?, ?, 1, ?, ?)",
            (exec_id, client_order_id, qty, price, fee, T, T),
        )
        db.execute(
            "INSERT INTO events (client_order_id, kind, status, payload, ts_ns)"
            " VALUES (?, 'fill', 'PartiallyFilled', '{}', ?)",
            (client_order_id, T),
        )
        db.execute(
            "UPDATE intents SET status = 'PartiallyFilled' WHERE client_order_id = ?",
            (client_order_id,),
        )


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
