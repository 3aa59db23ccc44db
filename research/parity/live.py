"""The live side of a session: the executor's journal (SQLite, opened read-only) and the
executor's events the recorder kept (`executor.events.gz`).

Decisions are the journal's intents of one strategy in the order journaled (rowid: the
executor journals each intent before its request leaves, in the order the commands
arrived). Fills are the journal's fills in venue time (execTime, then the order journaled),
each with its intent's side; a fill of an order we did not send (a venue-side stop) takes
its side from its journaled event. Commands the executor denied are never journaled: the
recorded events count them (`OrderDenied` of a SubmitOrder).
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

import msgspec

from research.parity.records import Decision, Fill
from shared.recordings import day_dirs, read_events
from shared.schema import OrderDenied, SubmitOrder

_command: Final = msgspec.json.Decoder(SubmitOrder)
_payload: Final = msgspec.json.Decoder(dict[str, object])

_FILLS: Final = """
SELECT f.client_order_id, f.qty, f.price, f.is_maker, f.ts_event_ns, i.command, e.payload
FROM fills f
LEFT JOIN intents i ON i.client_order_id = f.client_order_id
LEFT JOIN events e ON i.client_order_id IS NULL AND e.client_order_id = f.client_order_id
    AND e.kind = 'fill' AND json_extract(e.payload, '$.exec_id') = f.exec_id
WHERE i.strategy_id = :strategy OR i.client_order_id IS NULL
ORDER BY f.ts_event_ns, f.rowid
"""


class SessionUnreadable(Exception):
    """A journal or recording of the session is missing or cannot be read."""


@dataclass(frozen=True, slots=True)
class Intent:
    """One journaled order: the decision, and the executor's times of it (ns)."""

    decision: Decision
    symbol: str
    ts_trigger_recv_ns: int  # the feed received the data behind it
    ts_created_ns: int  # the strategy made the command
    ts_recorded_ns: int  # the executor journaled it
    ts_request_sent_ns: int  # its create request left (0: never)
    ts_ack_ns: int  # the venue's answer arrived (0: never)


@dataclass(frozen=True, slots=True)
class LiveSide:
    intents: list[Intent]  # of the strategy, in the order journaled
    fills: list[Fill]
    other_strategies: int  # intents of other ids (the executor's own flatten orders ...)
    symbols: list[str]  # of the strategy's intents, in first-seen order


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.is_file():
        raise SessionUnreadable(f"{path}: no such journal (give the run's executor-journal)")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            yield db
    except sqlite3.Error as e:
        raise SessionUnreadable(f"{path}: {e}") from e


def read_journal(path: Path, strategy_id: str) -> LiveSide:
    """The strategy's intents and the session's fills from the journal at `path`."""
    with _read_only(path) as db:
        rows = db.execute(
            "SELECT client_order_id, strategy_id, symbol, command, ts_recorded_ns,"
            " ts_request_sent_ns, ts_ack_ns, status, (SELECT json_extract(e.payload,"
            " '$.reason') FROM events e WHERE e.client_order_id = i.client_order_id"
            " AND e.kind = 'status' ORDER BY e.id DESC LIMIT 1)"
            " FROM intents i ORDER BY rowid"
        ).fetchall()
        fill_rows = db.execute(_FILLS, {"strategy": strategy_id}).fetchall()
    intents: list[Intent] = []
    others = 0
    for coid, strategy, symbol, command_json, recorded, sent, acked, status, why in rows:
        if strategy != strategy_id:
            others += 1
            continue
        try:
            command = _command.decode(command_json)
        except msgspec.MsgspecError as e:
            raise SessionUnreadable(f"{path}: intent {coid}: command unreadable ({e})") from e
        intents.append(
            Intent(
                decision=Decision(
                    side=str(command.side),
                    order_type=f"{command.order_type} {command.time_in_force}",
                    limit_price=command.limit_price,
                    qty=command.qty,
                    reduce_only=command.reduce_only,
                    ts_ns=command.ts_created_ns,
                    client_order_id=str(coid),
                    outcome=f"{status} {why or ''}".strip(),
                ),
                symbol=str(symbol),
                ts_trigger_recv_ns=command.ts_trigger_recv_ns,
                ts_created_ns=command.ts_created_ns,
                ts_recorded_ns=int(recorded),
                ts_request_sent_ns=int(sent),
                ts_ack_ns=int(acked),
            )
        )
    fills = [_fill(path, row) for row in fill_rows]
    symbols = list(dict.fromkeys(i.symbol for i in intents))
    return LiveSide(intents, fills, others, symbols)


def _fill(path: Path, row: tuple[object, ...]) -> Fill:
    coid, qty, price, is_maker, ts_event_ns, command_json, payload = row
    if isinstance(command_json, str):
        side = str(_command.decode(command_json).side)
    elif isinstance(payload, str):
        side = str(_payload.decode(payload).get("side", "?"))
    else:
        side = "?"  # a fill whose order the journal does not know: shown, never equal
    try:
        return Fill(
            side=side,
            qty=Decimal(str(qty)),
            price=Decimal(str(price)),
            is_maker=bool(is_maker),
            ts_ns=int(str(ts_event_ns)),
            client_order_id=str(coid),
        )
    except (InvalidOperation, ValueError) as e:
        raise SessionUnreadable(f"{path}: fill of {coid} unreadable ({e})") from e


def count_denied(recordings: Path, strategy_id: str) -> int | None:
    """Submits the live executor denied, from the recorded events of every day; None when
    there are no recorded events (unknown, not zero)."""
    days = [d for d in day_dirs(recordings) if (recordings / d / "executor.events.gz").exists()]
    if not days:
        return None
    return sum(
        1
        for day in days
        for _, message in read_events(recordings, day)
        if isinstance(message, OrderDenied)
        and message.command_kind == "SubmitOrder"
        and message.strategy_id == strategy_id
    )
