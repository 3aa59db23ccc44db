"""Read the executor's order journal from another process (scripts/status, scripts/trace),
read-only (shared/journal_read.py opens it): a day's summary, and the story of an order.

The computation over what is read is pure, in day_summary.py.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from services.executor.day_summary import DaySummary, EventRecord, JournalRecords, summarise
from shared.journal_pnl import day_bounds
from shared.journal_read import JOURNAL_FILE, read_fills, reading
from shared.schema import SubmitOrder


def journal_path(run_dir: Path) -> Path:
    return run_dir / JOURNAL_FILE


def read_day(path: Path, now_ns: int) -> DaySummary:
    """Today's (UTC) summary of the journal at `path`; raises JournalUnreadable."""
    return summarise(read_records(path, day_bounds(now_ns)[1]), now_ns)


def read_records(path: Path, since_ns: int) -> JournalRecords:
    """The intents and events since `since_ns`, and every fill; raises JournalUnreadable."""
    with reading(path) as (db, _):
        intents = db.execute(
            "SELECT ts_recorded_ns FROM intents WHERE ts_recorded_ns >= ?", (since_ns,)
        ).fetchall()
        events = db.execute(
            "SELECT kind, status, ts_ns FROM events WHERE ts_ns >= ?", (since_ns,)
        ).fetchall()
        return JournalRecords(
            intent_ts_ns=tuple(int(row[0]) for row in intents),
            events=tuple(EventRecord(row[0], row[1], int(row[2])) for row in events),
            fills=tuple(read_fills(db)),
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
    with reading(path) as (db, version):
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
