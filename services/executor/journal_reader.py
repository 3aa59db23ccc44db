"""Read the executor's order journal from another process (scripts/status), read-only.

The journal is SQLite in WAL mode: a reader opened with `mode=ro` sees the last committed
state while the executor keeps writing, and never writes (no lock held, nothing created).
The computation over what is read is pure, in day_summary.py.
"""

import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Final

import msgspec

from services.executor.day_summary import (
    DaySummary,
    EventRecord,
    FillRecord,
    JournalRecords,
    day_bounds,
    summarise,
)
from services.executor.journal_records import SCHEMA_VERSION, EventKind
from shared.schema import OrderSide

JOURNAL_FILE: Final = "executor-journal.sqlite"  # in the run directory

# A fill with the symbol and side of its intent, or of its "fill" event for an order we did
# not send (an external fill: no intent, the event's payload says).
_FILLS: Final = f"""
SELECT f.exec_id, f.qty, f.price, f.fee, f.ts_event_ns, i.symbol, i.command, e.payload
FROM fills f
LEFT JOIN intents i ON i.client_order_id = f.client_order_id
LEFT JOIN events e ON i.client_order_id IS NULL AND e.client_order_id = f.client_order_id
    AND e.kind = '{EventKind.FILL}' AND json_extract(e.payload, '$.exec_id') = f.exec_id
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


def journal_path(run_dir: Path) -> Path:
    return run_dir / JOURNAL_FILE


def read_day(path: Path, now_ns: int) -> DaySummary:
    """Today's (UTC) summary of the journal at `path`; raises JournalUnreadable."""
    return summarise(read_records(path, day_bounds(now_ns)[1]), now_ns)


def read_records(path: Path, since_ns: int) -> JournalRecords:
    """The intents and events since `since_ns`, and every fill; raises JournalUnreadable."""
    if not path.exists():
        raise JournalUnreadable(f"{path} does not exist (has the executor run here?)")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                found = "no version" if row is None else f"version {row[0]}"
                raise JournalUnreadable(f"{path}: {found}, want {SCHEMA_VERSION}")
            intents = db.execute(
                "SELECT ts_recorded_ns FROM intents WHERE ts_recorded_ns >= ?", (since_ns,)
            ).fetchall()
            events = db.execute(
                "SELECT kind, status, ts_ns FROM events WHERE ts_ns >= ?", (since_ns,)
            ).fetchall()
            fills = db.execute(_FILLS).fetchall()
        return JournalRecords(
            intent_ts_ns=tuple(int(row[0]) for row in intents),
            events=tuple(EventRecord(row[0], row[1], int(row[2])) for row in events),
            fills=tuple(_fill(row) for row in fills),
        )
    except (sqlite3.Error, msgspec.MsgspecError) as e:
        raise JournalUnreadable(f"{path}: {e}") from e


def _fill(row: tuple[str, str, str, str, int, str | None, str | None, str | None]) -> FillRecord:
    exec_id, qty, price, fee, ts_event_ns, symbol, command, payload = row
    side: OrderSide | None = None
    reduce_only = False
    if command is not None:
        order = _order_decoder.decode(command)
        side, reduce_only = order.side, order.reduce_only
    elif payload is not None:
        external = _external_decoder.decode(payload)
        symbol = external.symbol
        side = OrderSide(external.side) if external.side in set(OrderSide) else None
    return FillRecord(
        exec_id=exec_id,
        symbol=symbol or "",
        side=side,
        qty=_decimal(qty),
        price=_decimal(price),
        fee=_decimal(fee),
        reduce_only=reduce_only,
        ts_event_ns=int(ts_event_ns),
    )


def _decimal(text: str) -> Decimal:
    """A journaled amount; NaN for text that is no number (day_summary says it is no fill)."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return Decimal("NaN")
