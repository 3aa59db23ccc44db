"""Read the executor's order journal from another process, read-only: its fills with the
symbol and side of their orders (scripts/status, scripts/trace, the dashboard).

The journal is SQLite in WAL mode: a reader opened with `mode=ro`, in one read transaction,
sees the last committed state while the executor keeps writing, and never writes (no lock
held, nothing created). The executor owns the journal's tables
(services/executor/journal_records.py); what is computed over the fills is pure, in
shared/journal_pnl.py. Blocking.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import msgspec

from shared.journal_pnl import JournalFill
from shared.schema import OrderSide

JOURNAL_FILE: Final = "executor-journal.sqlite"  # in the run directory
# The schema versions this reader reads (1: no intents.trace_id column). Here, not beside the
# executor's SCHEMA_VERSION (services/executor/journal_records.py), since shared/ imports no
# service: a new version of the executor's journal is added here once this reader reads it.
READABLE_VERSIONS: Final = (1, 2)

# A fill with the symbol and side of its intent, or of its "fill" event (the executor's
# EventKind.FILL) for an order it did not send (an external fill: no intent, the event's
# payload says).
_FILLS: Final = """
SELECT f.rowid, f.exec_id, f.qty, f.price, f.fee, f.ts_event_ns, i.symbol, i.command, e.payload
FROM fills f
LEFT JOIN intents i ON i.client_order_id = f.client_order_id
LEFT JOIN events e ON i.client_order_id IS NULL AND e.client_order_id = f.client_order_id
    AND e.kind = 'fill' AND json_extract(e.payload, '$.exec_id') = f.exec_id
WHERE f.rowid > ?
ORDER BY f.ts_event_ns, f.rowid
"""


class JournalUnreadable(Exception):
    """The journal is missing, of another schema version, or SQLite refused to read it."""


class _Order(msgspec.Struct):
    side: OrderSide
    reduce_only: bool = False


class _External(msgspec.Struct):
    symbol: str = ""
    side: str = ""


_order_decoder: Final = msgspec.json.Decoder(_Order)
_external_decoder: Final = msgspec.json.Decoder(_External)


@contextmanager
def reading(path: Path) -> Iterator[tuple[sqlite3.Connection, int]]:
    """The journal at `path` opened read-only in one read transaction, and its schema
    version (one of READABLE_VERSIONS); raises JournalUnreadable."""
    if not path.exists():
        raise JournalUnreadable(f"{path} does not exist (has the executor run here?)")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            db.execute("BEGIN")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None or row[0] not in READABLE_VERSIONS:
                found = "no version" if row is None else f"version {row[0]}"
                raise JournalUnreadable(f"{path}: {found}, this reader reads {READABLE_VERSIONS}")
            yield db, int(row[0])
    except (sqlite3.Error, msgspec.MsgspecError, OSError) as e:
        raise JournalUnreadable(f"{path}: {e}") from e


def read_fills(db: sqlite3.Connection, after_rowid: int = 0) -> list[JournalFill]:
    """The fills journaled after row `after_rowid`, in replay order (by the venue's time,
    then as journaled); a side is None where the journal does not hold it."""
    return [_fill(row) for row in db.execute(_FILLS, (after_rowid,)).fetchall()]


def _fill(row: tuple[Any, ...]) -> JournalFill:
    rowid, exec_id, qty, price, fee, ts_event_ns, symbol, command, payload = row
    side: OrderSide | None = None
    reduce_only = False
    if command is not None:
        order = _order_decoder.decode(command)
        side, reduce_only = order.side, order.reduce_only
    elif payload is not None:
        external = _external_decoder.decode(payload)
        symbol = external.symbol
        side = OrderSide(external.side) if external.side in set(OrderSide) else None
    return JournalFill(
        int(rowid),
        str(exec_id),
        symbol or "",
        side,
        _decimal(qty),
        _decimal(price),
        _decimal(fee),
        reduce_only,
        int(ts_event_ns),
    )


def _decimal(text: Any) -> Decimal:
    """A journaled amount; NaN for text that is no number (the replay says it is no fill)."""
    try:
        return Decimal(str(text))
    except ArithmeticError:
        return Decimal("NaN")
