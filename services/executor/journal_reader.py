"""Read the executor's order journal from another process (scripts/status, scripts/trace),
read-only.

The journal is SQLite in WAL mode: a reader opened with `mode=ro` sees the last committed
state while the executor keeps writing, and never writes (no lock held, nothing created).
The computation over what is read is pure, in day_summary.py.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import msgspec

from services.executor.day_summary import (
    DaySummary,
    EventRecord,
    FillRecord,
    JournalRecords,
    day_bounds,
    summarise,
)
from services.executor.journal_records import READABLE_VERSIONS, SCHEMA_VERSION, EventKind
from shared.schema import OrderSide, SubmitOrder

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
    with _reading(path) as (db, _):
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


@dataclass(frozen=True, slots=True)
class StoryEvent:
    """One `events` row of an order: kind (EventKind), status after it, payload as text."""

    kind: str
    status: str | None
    venue_order_id: str | None
    payload: dict[str, str]
    ts_ns: int


@dataclass(frozen=True, slots=True)
class StoryFill:
    exec_id: str
    qty: str
    price: str
    fee: str
    is_maker: bool
    ts_event_ns: int  # the venue's execTime
    ts_recorded_ns: int


@dataclass(frozen=True, slots=True)
class OrderStory:
    """What the journal knows of one order, for scripts/trace: its command (with the
    trace id and trigger times), when it was journaled, sent and acknowledged, its events
    and its fills, each in the order written."""

    command: SubmitOrder
    trace_id: str
    status: str
    venue_order_id: str | None
    ts_recorded_ns: int
    ts_request_sent_ns: int
    ts_ack_ns: int
    events: tuple[StoryEvent, ...]
    fills: tuple[StoryFill, ...]


_command_decoder: Final = msgspec.json.Decoder(SubmitOrder)
_payload_decoder: Final = msgspec.json.Decoder(dict[str, object])


def read_stories(path: Path, ident: str) -> list[OrderStory]:
    """The orders whose client order id, venue order id or trace id is `ident`, in the
    order journaled; raises JournalUnreadable. A version 1 journal (no trace_id column)
    is searched by the trace id inside each command."""
    with _reading(path) as (db, version):
        trace = "trace_id" if version >= 2 else "coalesce(json_extract(command, '$.trace_id'), '')"
        rows = db.execute(
            f"SELECT client_order_id, command, {trace}, status, venue_order_id, ts_recorded_ns,"
            " ts_request_sent_ns, ts_ack_ns FROM intents WHERE client_order_id = :id"
            f" OR venue_order_id = :id OR (:id != '' AND {trace} = :id) ORDER BY rowid",
            {"id": ident},
        ).fetchall()
        return [_story(db, row) for row in rows]


def _story(db: sqlite3.Connection, row: tuple[Any, ...]) -> OrderStory:
    coid, command, trace_id, status, venue_order_id, recorded, sent, acked = row
    events = db.execute(
        "SELECT kind, status, venue_order_id, payload, ts_ns FROM events"
        " WHERE client_order_id = ? ORDER BY id",
        (coid,),
    ).fetchall()
    fills = db.execute(
        "SELECT exec_id, qty, price, fee, is_maker, ts_event_ns, ts_recorded_ns FROM fills"
        " WHERE client_order_id = ? ORDER BY rowid",
        (coid,),
    ).fetchall()
    return OrderStory(
        command=_command_decoder.decode(command),
        trace_id=str(trace_id),
        status=str(status),
        venue_order_id=None if venue_order_id is None else str(venue_order_id),
        ts_recorded_ns=int(recorded),
        ts_request_sent_ns=int(sent),
        ts_ack_ns=int(acked),
        events=tuple(
            StoryEvent(
                kind=e[0],
                status=e[1],
                venue_order_id=e[2],
                payload={k: str(v) for k, v in _payload_decoder.decode(e[3]).items()},
                ts_ns=int(e[4]),
            )
            for e in events
        ),
        fills=tuple(
            StoryFill(f[0], str(f[1]), str(f[2]), str(f[3]), bool(f[4]), int(f[5]), int(f[6]))
            for f in fills
        ),
    )


@contextmanager
def _reading(path: Path) -> Iterator[tuple[sqlite3.Connection, int]]:
    """The journal opened read-only, and its schema version (one this reader knows)."""
    if not path.exists():
        raise JournalUnreadable(f"{path} does not exist (has the executor run here?)")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None or row[0] not in READABLE_VERSIONS:
                found = "no version" if row is None else f"version {row[0]}"
                raise JournalUnreadable(f"{path}: {found}, want {SCHEMA_VERSION}")
            yield db, int(row[0])
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
