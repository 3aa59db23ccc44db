"""The two venue channels driven past decoding, through their consumers (in memory).

`feed_frames`: a public frame as the feed handles it (FeedService._on_frame: decode, then
FeedSession.on_book / on_trades with the checks of shared/bybit/validate.py on the
captured BTCUSDT instrument's grid, then the real Publisher's encoding). Each frame meets a
fresh book: a mutated snapshot is its first snapshot (so it is applied, not a repeat of the
same u), any other frame finds the captured snapshot applied (LIVE), so a delta is applied
to a book.

`executor_reports`: a private frame through VenueEvents.on_frame on real executor Parts
(a NORMAL-synchronous journal in a temporary directory), with a fresh registry holding one
working order (tests.helpers.samples.COID, 0.002 BTCUSDT, venue id VENUE_ORDER_ID) per
frame. The seeds are the captured order, execution, position and wallet frames with ids,
symbol and sizes set so they reach the apply path: a fill of that order is checked on the
grid, journaled and applied; an order report moves it; a position is published.

The outcome is None (accepted) or the comma-joined reasons: the decoding drop, or the
`refused_*` counters that grew. The consumers' last resort (they catch ArithmeticError and
ValueError around applying a decoded frame: the feed resyncs its book, the executor drops
the frame) is told apart as `book_broke` and `report_broke`: the checks should refuse
first, so a fuzz run that shows either names a missing check.
"""

import itertools
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final, cast

import msgspec

from services.executor.order_state import OrderRecord
from services.executor.ports import Outbox
from services.executor.registry import OrderRegistry
from services.executor.venue_events import VenueEvents
from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from shared.bus import BusContext, Publisher, Signer
from shared.bybit import wire
from shared.bybit.stream import BybitStream, StreamFrame
from shared.bybit.translate import InstrumentRules, instrument_rules
from shared.bybit.ws_frames import decode_public
from shared.runtime.bootstrap import ServiceContext
from shared.runtime.clock import FakeClock
from shared.schema import OrderStatus
from tests.helpers.executor_parts import make_parts
from tests.helpers.fixtures import BYBIT_FIXTURES
from tests.helpers.fuzz_targets import (
    Boundary,
    FakeSocket,
    Outcome,
    bus_command_receiver,
    bus_decode_frames,
    bus_snapshot_client,
    bus_snapshot_server,
    captures,
    rest_bodies,
    ws_control,
    ws_private,
    ws_public,
)
from tests.helpers.samples import COID, make_submit

SYMBOL: Final = "BTCUSDT"
VENUE_ORDER_ID: Final = "fuzz-venue-order-1"
EXEC_ID: Final = "fuzz-exec-000000000000"  # the seeds' execId: each frame gets a fresh one
_EXEC_ID_DIGITS: Final = 12


def captured_rules(symbol: str = SYMBOL) -> InstrumentRules:
    """The symbol's tick size and qty step, from the captured instruments-info answer."""
    raw = (BYBIT_FIXTURES / "rest_market_instruments_info_linear.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    page = msgspec.json.decode(result, type=wire.InstrumentsPage)
    return next(instrument_rules(i) for i in page.list if i.symbol == symbol)


def _fixture(name: str) -> Any:
    return msgspec.json.decode((BYBIT_FIXTURES / name).read_bytes())


def _with(name: str, **fields: Any) -> bytes:
    """The captured frame `name`, its first data item updated with `fields`."""
    frame = _fixture(name)
    frame["data"][0].update(fields)
    return msgspec.json.encode(frame)


# ---------------------------------------------------------------- the feed


def feed_frames() -> Boundary:
    snapshot, delta, trade, multi = (
        captures(name)[0]
        for name in (
            "ws_public_linear_orderbook50_snapshot",
            "ws_public_linear_orderbook50_delta",  # u follows the snapshot's
            "ws_public_linear_publicTrade",  # the first: publicTrade.json
            "ws_public_linear_publicTrade_multi",
        )
    )
    seeds = [snapshot, delta, trade, multi.replace(b"ETHUSDT", SYMBOL.encode())]
    book = decode_public(snapshot)
    assert isinstance(book, wire.OrderBookMessage)
    recv_ns = (book.ts + 1) * 1_000_000
    clock = FakeClock(recv_ns)
    service = FeedService(
        FeedSettings(metrics_port=1, depth=50),
        cast(ServiceContext, SimpleNamespace(clock=clock)),
    )
    bus = BusContext(Signer(None), clock)
    service._publisher = Publisher(
        FakeSocket().as_socket(), "feed", bus=bus, heartbeat_interval_ns=10**9
    )
    service._stream = stream = BybitStream("ws://127.0.0.1:9/unused")
    session = service.session
    session.begin_switch(SYMBOL, 1, captured_rules())

    def feed(index: int, data: bytes) -> Outcome:
        session.subscribed(recv_ns)  # a fresh book: a snapshot (seed 0) is its first
        if index != 0:
            session.on_book(book, recv_ns)  # the others meet a live book
        counters, drops = Counter(session.counters), Counter(stream.stats.dropped)
        service._on_frame(StreamFrame(data, recv_ns + 1_000_000))
        grown = _grown(stream.stats.dropped, drops)
        refused = _grown(session.counters, counters, "refused_")
        if session.counters["bad_frames"] > counters["bad_frames"] and not grown:
            refused.append("book_broke")  # _on_frame's last resort: the book was reset
        return ",".join(sorted(grown + refused)) or None

    return Boundary("feed_frames", "json", seeds, feed)


def _grown(now: Counter[str], before: Counter[str], prefix: str = "") -> list[str]:
    return [k for k, v in now.items() if k.startswith(prefix) and v > before[k]]


# ---------------------------------------------------------------- the executor


def executor_seeds() -> list[bytes]:
    """Captured private frames about the working order of `executor_reports` (and others)."""
    ours = {"symbol": SYMBOL, "orderLinkId": COID, "orderId": VENUE_ORDER_ID, "category": "linear"}
    fill = ours | {"execId": EXEC_ID, "execQty": "0.001", "execPrice": "64000.1"}
    order = ours | {"qty": "0.002", "price": "64000.1", "cumExecValue": "0", "cumExecFee": "0"}
    execution = "ws_private_execution_linear_docexample.json"
    return [
        _with(execution, **fill),
        _with(execution, execId=EXEC_ID),  # an order we did not send (external)
        _with("ws_private_order_spot_filled.json", **order, orderStatus="New", cumExecQty="0"),
        _with(
            "ws_private_order_spot_partiallyfilledcanceled.json",
            **order | {"cumExecQty": "0.001", "cumExecValue": "64.0001", "cumExecFee": "0.01"},
        ),
        _with(
            "ws_private_position_linear_docexample.json",
            size="0.002",
            side="Buy",
            positionIdx=0,
            entryPrice="64000",
        ),
        captures("ws_private_wallet")[0],
    ]


def executor_reports() -> Boundary:
    directory = tempfile.TemporaryDirectory(prefix="fuzz-executor-")
    made, _, clock = make_parts(Path(directory.name))
    publisher = Publisher(  # the real encoding of what the executor publishes
        FakeSocket().as_socket(),
        "executor",
        bus=BusContext(Signer(None), clock),
        heartbeat_interval_ns=10**9,
    )
    outbox = Outbox(publisher, clock, made.counters, made.status, made.journal)
    parts = replace(made, outbox=outbox)
    command = make_submit()
    parts.journal.record_intent(command, 1, sent_ns=1)
    rules = captured_rules()
    grid_of: Callable[[str], InstrumentRules | None] = lambda s: rules if s == SYMBOL else None  # noqa: E731
    exec_ids = itertools.count(1)

    def feed(index: int, data: bytes) -> Outcome:
        assert directory.name  # the journal's directory lives as long as the boundary
        record = OrderRecord.from_command(command)
        record.apply_status(OrderStatus.SUBMITTED)
        fresh = replace(parts, registry=OrderRegistry())
        fresh.registry.add(record)
        events = VenueEvents(fresh)
        events.checks.grid_of = grid_of
        fresh_id = f"fuzz-exec-{next(exec_ids):0{_EXEC_ID_DIGITS}d}"
        counters = Counter(parts.counters)
        drop = events.on_frame(StreamFrame(data.replace(EXEC_ID.encode(), fresh_id.encode()), 1))
        if drop is not None:
            return drop.reason.value
        refused = _grown(parts.counters, counters, "refused_")
        if parts.counters["invalid_fills"] > counters["invalid_fills"]:
            refused.append("invalid_fill")  # a fill our order cannot take: not journaled
        if parts.counters["bad_frames"] > counters["bad_frames"]:
            refused.append("report_broke")  # on_frame's last resort: the frame was dropped
        return ",".join(sorted(refused)) or None

    return Boundary("executor_reports", "json", executor_seeds(), feed)


def all_boundaries() -> list[Boundary]:
    """Every boundary: the eight of tests.helpers.fuzz_targets, then the two consumers."""
    return [
        bus_decode_frames(),
        bus_command_receiver(),
        bus_snapshot_server(),
        bus_snapshot_client(),
        ws_public(),
        ws_private(),
        ws_control(),
        rest_bodies(),
        feed_frames(),
        executor_reports(),
    ]
