"""Positions from the private stream and from REST: an answer older than the stream is dropped.

Reconciliation reads /v5/position/list; a fill can reach us over the private stream while
that request is on its way. Publishing the older answer would tell the strategy it is flat
while it holds the fill (and it could enter again beside it). Bybit's `seq` (per symbol,
raised by every fill) orders the two; an answer that omits the symbol is judged by time.
"""

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from services.executor.ports import Parts
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.venue_events import VenueEvents
from shared.bybit import wire
from shared.runtime.clock import FakeClock
from shared.schema import PositionChanged, Symbol
from tests.helpers.executor_parts import RecordingPublisher, make_parts
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES

BTC = Symbol("BTCUSDT")


def _streamed(size: str, seq: int) -> wire.PositionEvent:
    raw = (FIXTURES / "ws_private_position_linear_docexample.json").read_bytes()
    (event,) = msgspec.json.decode(raw, type=wire.PrivateMessage[wire.PositionEvent]).data
    return msgspec.structs.replace(event, size=Decimal(size), side="Buy", seq=seq, position_idx=0)


def _listed(size: str, seq: int) -> wire.PositionInfo:
    raw = (FIXTURES / "rest_position_list_response_docexample.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    info = msgspec.json.decode(result, type=wire.PositionList).list[0]
    side = "Buy" if Decimal(size) else ""
    return msgspec.structs.replace(
        info, symbol=BTC, size=Decimal(size), side=side, seq=seq, position_idx=0
    )


def _published_qty(publisher: RecordingPublisher) -> list[Decimal]:
    return [m.qty for m in publisher.sent if isinstance(m, PositionChanged)]


def test_a_rest_position_older_than_the_streams_is_dropped_and_counted(tmp_path: Path) -> None:
    parts, publisher, _ = make_parts(tmp_path)
    events = VenueEvents(parts)

    events.on_position(_streamed("0.002", seq=101), 1)  # the entry's fill
    events.on_position(_listed("0", seq=100), 2)  # read before it
    events.on_position(_listed("0.002", seq=101), 3)  # read after: applied

    assert _published_qty(publisher) == [Decimal("0.002"), Decimal("0.002")]
    assert parts.registry.positions[BTC].qty == Decimal("0.002")
    assert parts.counters["stale_positions"] == 1


def test_the_stream_is_followed_even_if_its_seq_goes_down(tmp_path: Path) -> None:
    parts, publisher, _ = make_parts(tmp_path)
    events = VenueEvents(parts)

    events.on_position(_streamed("0.002", seq=101), 1)
    events.on_position(_streamed("0", seq=5), 2)

    assert _published_qty(publisher) == [Decimal("0.002"), Decimal(0)]


class _Rest:
    """Answers the reconciliation's reads: no orders, no executions, `listed` positions."""

    def __init__(self) -> None:
        self.meanwhile: Any = lambda: None  # what the stream delivers while it is asked
        self.listed: list[wire.PositionInfo] = []

    async def open_orders(self) -> list[wire.Order]:
        return []

    async def executions(self) -> list[wire.Execution]:
        return []

    async def positions(self) -> list[wire.PositionInfo]:
        self.meanwhile()
        return self.listed


def _runner(tmp_path: Path) -> tuple[Parts, VenueEvents, _Rest, FakeClock]:
    rest = _Rest()
    parts, _, clock = make_parts(tmp_path, rest)
    events = VenueEvents(parts)
    return parts, events, rest, clock


def test_a_rest_list_without_the_symbol_does_not_undo_a_fill_streamed_meanwhile(
    tmp_path: Path,
) -> None:
    parts, events, rest, clock = _runner(tmp_path)

    def fill_arrives() -> None:
        clock.ns += 1_000
        events.on_position(_streamed("0.002", seq=101), clock.ns)

    rest.meanwhile = fill_arrives
    asyncio.run(ReconcileRunner(parts, None, events).poll())  # type: ignore[arg-type]

    assert parts.registry.positions[BTC].qty == Decimal("0.002")
    assert parts.counters["stale_positions"] == 1


def test_a_rest_list_without_the_symbol_zeroes_a_position_the_stream_told_earlier(
    tmp_path: Path,
) -> None:
    parts, events, _, clock = _runner(tmp_path)
    events.on_position(_streamed("0.002", seq=101), clock.ns)
    clock.ns += 1_000

    asyncio.run(ReconcileRunner(parts, None, events).poll())  # type: ignore[arg-type]

    assert parts.registry.positions[BTC].qty == 0


def test_a_listed_position_judged_stale_is_not_zeroed_afterwards(tmp_path: Path) -> None:
    parts, events, rest, clock = _runner(tmp_path)
    events.on_position(_streamed("0.002", seq=101), clock.ns)
    clock.ns += 1_000
    rest.listed = [_listed("0", seq=100)]  # asked after the stream's report, read before it

    asyncio.run(ReconcileRunner(parts, None, events).poll())  # type: ignore[arg-type]

    assert parts.registry.positions[BTC].qty == Decimal("0.002")
    assert parts.counters["stale_positions"] == 1
