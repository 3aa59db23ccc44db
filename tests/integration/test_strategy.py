"""The strategy end to end: simulator, feed, executor and strategy in-process over ZeroMQ.

The scanner is a publisher the test drives; everything else is the real service. Outcomes
are read where they are recorded: the executor's journal (intents, status events, fills),
the execution events and FeedReady on the bus, and the simulator's positions.
"""

import itertools
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from services.strategy.book import WorkingOrder
from services.strategy.core import State
from shared.bus import BusNode
from shared.schema import (
    FeedReady,
    OrderAccepted,
    OrderFilled,
    OrderSide,
    Position,
    SubmitOrder,
    VenueOrderId,
)
from tests.helpers.fake_executor import execution_snapshot, fake_executor_rig
from tests.helpers.strategy_rig import FAST_STRATEGY, Intent, strategy_rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]
_SLOW_VENUE_MS = 1000
_WORKING_OR_RESTING = {State.IDLE, State.ENTRY_PENDING, State.POSITION_OPEN, State.EXIT_PENDING}


def _assert_one_entry_at_a_time(intents: list[Intent]) -> None:
    """Each entry order ended (terminal status journaled) before the strategy made the next.

    The strategy's creation time, not the journal's: the executor takes commands one at a
    time, so a command may wait in its queue and be journaled later than it was sent.
    """
    entries = [i for i in intents if not i.is_exit]
    for earlier, later in itertools.pairwise(entries):
        assert earlier.ts_done_ns is not None, f"{earlier.command.client_order_id} never ended"
        assert earlier.ts_done_ns <= later.command.ts_created_ns, (
            f"entry {later.command.client_order_id} recorded while"
            f" {earlier.command.client_order_id} was still working"
        )


async def test_entries_and_exits_happen_end_to_end(
    make_node: MakeNode, ipc_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.strategy.loop")
    # A cooldown after each exit holds the strategy in Idle long enough to compare it with
    # the venue; max-hold-s closes every position quickly.
    async with strategy_rig(make_node, ipc_dir, strategy={**FAST_STRATEGY, "cooldown_s": 3.0}) as r:
        machine = r.strategy.machine
        # A slow venue keeps each order working while market data flows on: the window in
        # which a second entry could slip out.
        await r.sim.set_faults(rest_latency_ms=_SLOW_VENUE_MS // 3)
        r.announce("BTCUSDT", 1)
        await eventually(lambda: r.filled(exit_=True), timeout_s=15)
        await eventually(lambda: machine.state is State.IDLE and not machine.book.qty, 5)
        venue_qty = await r.venue_qty("BTCUSDT")
        state, book_qty = machine.state, machine.book.qty
        intents = r.intents()
        fills = [m for m in r.messages(OrderFilled) if m.strategy_id == "mom1"]
    _assert_one_entry_at_a_time(intents)
    entry = r.filled(exit_=False)[0]
    exit_ = r.filled(exit_=True)[0]
    assert entry.symbol == exit_.symbol == "BTCUSDT"
    assert entry.command.epoch == exit_.command.epoch == 1
    assert exit_.command.side is not entry.command.side
    assert exit_.command.qty == entry.command.qty
    assert entry.ts_first_fill_ns is not None
    assert exit_.ts_first_fill_ns is not None
    assert entry.ts_first_fill_ns < exit_.command.ts_created_ns  # the exit follows a venue fill
    assert exit_.command.order_type == "Market"
    assert exit_.command.reduce_only
    # The bus told the strategy about both fills, and it knew every order it heard of.
    filled_ids = {f.client_order_id for f in fills}
    assert {entry.command.client_order_id, exit_.command.client_order_id} <= filled_ids
    assert machine.counters["unknown_order_event"] == 0
    assert machine.counters["position_mismatch"] == 0
    # Issue 14: each order carries the trace id of the feed frame behind it, journaled with
    # the intent and named in the strategy's log line about the command.
    trace_form = re.compile(r"[0-9a-z]+-[1-9][0-9]*")
    for intent in (entry, exit_):
        trace_id = intent.command.trace_id
        assert trace_form.fullmatch(trace_id), trace_id
        sent = f"command sent SubmitOrder order={intent.command.client_order_id} "
        assert any(sent in m and m.endswith(f"trace={trace_id}") for m in caplog.messages)
    journal = r.run_dir / "executor-journal.sqlite"
    assert _journaled_trace(journal, entry.command.client_order_id) == entry.command.trace_id
    # Flat on both sides: the strategy's book and the venue agree.
    assert state is State.IDLE
    assert book_qty == 0
    assert venue_qty == 0


async def test_a_symbol_switch_flattens_first_and_waits_for_feed_ready(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    # No exit of its own: a long holding time and stop/target levels far away.
    holding = {**FAST_STRATEGY, "max_hold_s": 600.0, "stop_loss_pct": 50.0, "take_profit_pct": 50.0}
    async with strategy_rig(make_node, ipc_dir, strategy=holding) as r:
        machine = r.strategy.machine
        r.announce("BTCUSDT", 1)
        await eventually(
            lambda: machine.state is State.POSITION_OPEN and r.filled(exit_=False), timeout_s=15
        )

        async def btc_open_at_venue() -> bool:
            return await r.venue_qty("BTCUSDT") != 0

        await eventually(btc_open_at_venue, timeout_s=5)
        # A slow venue: the flattening exit fills well after the feed is ready for ETHUSDT,
        # so the strategy must hold the new symbol back until the old one is flat.
        await r.sim.set_faults(rest_latency_ms=_SLOW_VENUE_MS)
        switched_ns = time.time_ns()
        r.announce("ETHUSDT", 2)
        await eventually(lambda: any(i.symbol == "ETHUSDT" for i in r.intents()), timeout_s=15)
        await r.sim.set_faults(rest_latency_ms=0)
        await eventually(lambda: machine.state in _WORKING_OR_RESTING, timeout_s=5)
        btc_left = await r.venue_qty("BTCUSDT")
        intents = r.intents()
        ready = [m for m in r.messages(FeedReady) if (m.symbol, m.epoch) == ("ETHUSDT", 2)]
    first_eth = min((i for i in intents if i.symbol == "ETHUSDT"), key=_created)
    before_eth = [i for i in intents if _created(i) < _created(first_eth)]
    btc_entries = [i for i in before_eth if i.symbol == "BTCUSDT" and not i.is_exit]
    flatten = [i for i in before_eth if i.symbol == "BTCUSDT" and i.is_exit]
    # The position was flattened by a reduce-only exit sent after the switch...
    assert len(flatten) == 1, flatten
    (exit_,) = flatten
    assert exit_.command.ts_created_ns >= switched_ns
    assert exit_.command.qty == abs(sum(_signed(i) for i in btc_entries))
    # ... whose fill the venue reported before anything was sent for ETHUSDT.
    assert exit_.status == "Filled"
    assert exit_.ts_first_fill_ns is not None
    assert exit_.ts_done_ns is not None
    assert exit_.ts_first_fill_ns < first_eth.command.ts_created_ns
    assert exit_.ts_done_ns <= first_eth.command.ts_created_ns
    assert not [
        i for i in intents if i.symbol == "BTCUSDT" and i.command.ts_created_ns > switched_ns
    ][1:]
    assert btc_left == 0
    # No ETHUSDT order before the feed's FeedReady(ETHUSDT, 2), and none of an older epoch.
    assert len(ready) == 1, ready
    assert ready[0].ts_event_ns < exit_.ts_first_fill_ns  # the race this test is about
    assert ready[0].ts_event_ns < first_eth.command.ts_created_ns
    assert {i.command.epoch for i in intents if i.symbol == "ETHUSDT"} == {2}
    _assert_one_entry_at_a_time(intents)


async def test_a_restarted_executors_snapshot_with_the_fill_moves_a_pending_entry_on_at_once(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    # Issue 12, item 6. The executor accepts the entry and restarts; the venue filled it
    # meanwhile and no fill is ever published. The new incarnation's snapshot shows the
    # position: the strategy must manage it (here: its holding time, an exit) at once, not
    # after order-quiet-s, which is far beyond the wait.
    settings = {**FAST_STRATEGY, "order_quiet_s": 60.0, "max_hold_s": 0.3}
    async with fake_executor_rig(make_node, ipc_dir, strategy=settings) as r:
        machine, loop = r.strategy.machine, r.strategy.loop
        assert loop is not None
        r.announce("BTCUSDT", 1)
        await eventually(lambda: r.executor.commands, timeout_s=15)
        entry = r.executor.commands[0]
        r.executor.send(_accepted(entry))
        await eventually(lambda: _heard(machine.book.orders.get(entry.client_order_id)), 5)
        assert machine.state is State.ENTRY_PENDING

        await r.executor.restart(execution_snapshot(_position(entry)))
        await eventually(lambda: [c for c in r.executor.commands if c.reduce_only], timeout_s=5)
        exits = [c for c in r.executor.commands if c.reduce_only]
        entries = [c for c in r.executor.commands if not c.reduce_only]
        rejoins, silences = machine.counters["snapshot_rejoin"], loop.counters["executor_silent"]
    assert r.executor.incarnations == 2
    assert entries == [entry]  # no second entry beside the position
    assert exits[0].qty == entry.qty
    assert exits[0].side is not entry.side
    assert rejoins == 1
    assert silences == 0  # a restart quicker than the heartbeats: seen as a new incarnation


def _journaled_trace(journal: Path, client_order_id: str) -> str:
    with closing(sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True)) as db:
        row = db.execute(
            "SELECT trace_id FROM intents WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
    return str(row[0])


def _accepted(entry: SubmitOrder) -> OrderAccepted:
    ts = time.time_ns()
    return OrderAccepted(
        client_order_id=entry.client_order_id,
        venue_order_id=VenueOrderId("venue-1"),
        strategy_id=entry.strategy_id,
        symbol=entry.symbol,
        ts_event_ns=ts,
        ts_trigger_recv_ns=entry.ts_trigger_recv_ns,
        ts_request_sent_ns=ts,
        ts_ack_ns=ts,
    )


def _heard(order: WorkingOrder | None) -> bool:
    """The strategy heard the executor's news of `order` (its accept)."""
    return order is not None and order.heard_ns > order.placed_ns


def _position(entry: SubmitOrder) -> Position:
    qty = entry.qty if entry.side is OrderSide.BUY else -entry.qty
    price = entry.limit_price or Decimal("50000")
    zero = Decimal(0)
    return Position(
        symbol=entry.symbol, qty=qty, avg_entry_price=price, unrealised_pnl=zero, realised_pnl=zero
    )


def _signed(intent: Intent) -> Decimal:
    qty = intent.command.qty
    return qty if intent.command.side is OrderSide.BUY else -qty


def _created(intent: Intent) -> int:
    return intent.command.ts_created_ns
