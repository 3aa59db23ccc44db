"""The market maker and the executor's snapshot after a rejoin (the executor restarted
quicker than its heartbeats, or its stream skipped): the snapshot is newer than all the
maker heard, and rebuilds its quotes at once, whatever phase it is in.

CI (tests/system/test_market_maker.py, kill -9 of the executor while mm1 quotes): the new
executor answered and reported before mm1's subscription had reconnected, so mm1 lost the
fill of its bid; the rejoin's snapshot was counted (snapshot_while_running) and dropped. mm1
kept the filled bid as working: each cancel of it was denied ("is Filled"), which put it
back to working, the next cycle cancelled it again, and no new bid was ever quoted.
"""

from decimal import Decimal

from services.strategy.api import Transition
from services.strategy.mm.core import MarketMaker
from shared.schema import OrderDenied, OrderSide, TimeInForce, TradingState
from tests.unit.services.strategy.mm.core_support import (
    START,
    accepted,
    book,
    canceled,
    cancels,
    filled,
    maker,
    mm_settings,
    side_of,
    submits,
)
from tests.unit.services.strategy.support import BTC, MS, open_order, position, snapshot

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
REJOIN = START + 2_000 * MS  # the new executor's snapshot, 2 s later


def _quoting(mm: MarketMaker) -> tuple[str, str]:
    out = book(mm, "50000.0", "50000.1", START)
    bid, ask = side_of(submits(out), BUY), side_of(submits(out), SELL)
    mm.on_message(accepted(bid, START + MS), START + MS)
    mm.on_message(accepted(ask, START + MS), START + MS)
    return bid.client_order_id, ask.client_order_id


def _transitions(out: list[object]) -> list[tuple[str, str]]:
    return [(o.from_state, o.to_state) for o in out if isinstance(o, Transition)]


def _cancel_denied_as_filled(order_id: str, ts: int) -> OrderDenied:
    return OrderDenied(
        client_order_id=order_id,  # type: ignore[arg-type]
        strategy_id="mm1",
        command_kind="CancelOrders",
        reason=f"order {order_id} is Filled",
        ts_event_ns=ts,
    )


def test_a_rejoin_snapshot_while_quoting_replaces_the_quotes_at_once() -> None:
    # Arrange: both quotes rest; the bid fills while the executor restarts, unheard of.
    mm = maker()
    first = book(mm, "50000.0", "50000.1", START)
    bid, ask = side_of(submits(first), BUY), side_of(submits(first), SELL)
    mm.on_message(accepted(bid, START + MS), START + MS)
    mm.on_message(accepted(ask, START + MS), START + MS)
    rejoin = snapshot((position(BTC, str(bid.qty), "50000.0"),), (open_order(ask),))

    # Act
    out = mm.on_message(rejoin, REJOIN)
    mm.on_message(canceled(ask.client_order_id, BTC, REJOIN + MS), REJOIN + MS)
    after = submits(book(mm, "50000.0", "50000.1", REJOIN + 2 * MS))

    # Assert
    assert _transitions(out) == [("Quoting", "Syncing"), ("Syncing", "Quoting")]
    assert [c.client_order_id for c in cancels(out)] == [ask.client_order_id]  # a leftover
    assert mm.manager.book.by_id(bid.client_order_id) is None  # the filled bid is not held
    assert {o.side for o in after} == {BUY, SELL}
    assert mm.markets[BTC].position_qty == bid.qty
    assert mm.counters["snapshot_rejoin"] == 1


def test_a_quote_filled_unheard_of_does_not_block_its_side_after_a_rejoin() -> None:
    # Arrange: the bid filled during the restart; the maker moved on and tries to cancel it.
    mm = maker()
    bid_id, ask_id = _quoting(mm)
    moved = book(mm, "49999.0", "49999.1", START + 2 * MS)  # toward the bid: fast-cancel
    assert [c.client_order_id for c in cancels(moved)] == [bid_id]
    mm.on_message(_cancel_denied_as_filled(bid_id, START + 3 * MS), START + 3 * MS)
    mm.on_message(canceled(ask_id, BTC, START + 3 * MS), START + 3 * MS)  # (no ask left)

    # Act: the rejoin's snapshot lists no order of ours
    out = mm.on_message(snapshot((position(BTC, "0.002", "50000.0"),)), REJOIN)
    after = submits(book(mm, "49999.0", "49999.1", REJOIN + MS))

    # Assert
    assert cancels(out) == []
    assert {o.side for o in after} == {BUY, SELL}


def test_a_rejoin_snapshot_of_a_halted_executor_leaves_the_maker_halted() -> None:
    mm = maker()
    _quoting(mm)

    out = mm.on_message(snapshot(state=TradingState.HALTED), REJOIN)

    assert _transitions(out) == [("Quoting", "Syncing"), ("Syncing", "Halted")]
    assert submits(book(mm, "50000.0", "50000.1", REJOIN + MS)) == []


def test_a_rejoin_snapshot_leaves_a_stopped_maker_stopped() -> None:
    mm = maker(mm_settings(max_total_inventory_usdt=1_000.0))
    _quoting(mm)
    mm.on_message(snapshot((position(BTC, "0.04", "50000"),)), START + 2 * MS)  # HARD for all
    book(mm, "50000.0", "50000.1", START + 3 * MS)
    assert mm.status(START).state == "Stopped"

    out = mm.on_message(snapshot((position(BTC, "0.04", "50000"),)), REJOIN)

    assert _transitions(out) == [("Stopped", "Syncing"), ("Syncing", "Stopped")]
    later = submits(book(mm, "50000.0", "50000.1", REJOIN + MS))
    assert [o for o in later if o.time_in_force is TimeInForce.POST_ONLY] == []


def test_a_quote_accepted_after_the_rejoin_snapshot_is_cancelled_not_left_resting() -> None:
    # Arrange: a new bid left just before the rejoin; the executor took it after serving
    # the snapshot, which does not list it.
    mm = maker()
    _, ask_id = _quoting(mm)
    mm.on_message(canceled(ask_id, BTC, START + 2 * MS), START + 2 * MS)  # the ask is gone
    (late,) = submits(book(mm, "50000.0", "50000.1", START + 3 * MS))
    mm.on_message(snapshot(), REJOIN)

    # Act
    out = mm.on_message(accepted(late, REJOIN + MS), REJOIN + MS)
    waiting = submits(book(mm, "50000.0", "50000.1", REJOIN + 2 * MS))
    mm.on_message(canceled(late.client_order_id, BTC, REJOIN + 3 * MS), REJOIN + 3 * MS)
    after = submits(book(mm, "50000.0", "50000.1", REJOIN + 4 * MS))

    # Assert
    assert [c.client_order_id for c in cancels(out)] == [late.client_order_id]
    assert mm.counters["stray_accepted"] == 1
    assert waiting == []  # quoting waits until the stray is gone
    assert {o.side for o in after} == {BUY, SELL}


def test_an_accept_heard_after_its_quotes_fill_is_no_stray() -> None:
    # The private stream's fill may come before the REST answer's accept.
    mm = maker()
    out = book(mm, "50000.0", "50000.1", START)
    bid = side_of(submits(out), BUY)
    mm.on_message(filled(bid, START + MS), START + MS)

    late = mm.on_message(accepted(bid, START + 2 * MS), START + 2 * MS)

    assert cancels(late) == []
    assert mm.counters["stray_accepted"] == 0
