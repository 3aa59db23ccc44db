"""Recovery of a lost journal tail: which venue orders are ours and unknown, and their intents."""

from services.executor.recovery import (
    HISTORY_SPAN_MS,
    command_from_venue,
    history_start_ms,
    unknown_ours,
)
from shared.order_ids import client_order_id
from shared.schema import OrderSide, OrderType, TimeInForce
from tests.unit.services.executor.test_reconciliation import D, execution, venue_order

A = client_order_id("mom1", 3, 1)
B = client_order_id("mom1", 3, 2)
C = client_order_id("rev2", 4, 7)


def test_only_our_ids_unknown_to_the_journal_and_unbooked_are_recovered_once() -> None:
    orders = [venue_order(A), venue_order("manual-order"), venue_order(""), venue_order(B)]
    executions = [
        execution("e1", "0.05", order_link_id=A),  # its order is listed open too: once
        execution("e2", "0.05", order_link_id=C, symbol="BTCUSDT"),
        execution("e3", "0.05", order_link_id=client_order_id("mom1", 3, 9)),  # booked
        execution("e4", "0.05", order_link_id="not-ours"),  # our form has base36 parts
        execution("e5", "0.05", order_link_id=""),
    ]
    found = unknown_ours(orders, executions, {"e3"}, lambda coid: coid == B, since_ns=0)
    assert found == [("ETHUSDT", A), ("BTCUSDT", C)]


def test_nothing_to_recover_when_the_journal_knows_everything() -> None:
    found = unknown_ours([venue_order(A)], [execution("e1", "0.1")], set(), lambda _: True, 0)
    assert found == []


def test_orders_and_executions_before_the_journal_began_are_not_recovered() -> None:
    order, fill = venue_order(A, created_time="1000"), execution("e1", "0.1", exec_time="1000")
    assert unknown_ours([order], [fill], set(), lambda _: False, since_ns=1000 * 10**6 + 1) == []
    found = unknown_ours([order], [fill], set(), lambda _: False, since_ns=1000 * 10**6)
    assert found == [("ETHUSDT", A)]


def test_the_intent_is_rebuilt_from_the_venue_order() -> None:
    order = venue_order(A, order_status="Filled", cum_exec_qty=D("0.10"), reduce_only=True)
    command = command_from_venue(order)
    assert command is not None
    assert (command.client_order_id, command.strategy_id, command.epoch) == (A, "mom1", 3)
    assert (command.symbol, command.side, command.order_type) == (
        "ETHUSDT",
        OrderSide.BUY,
        OrderType.LIMIT,
    )
    assert (command.qty, command.limit_price, command.reduce_only) == (D("0.10"), D("1600"), True)
    assert command.time_in_force is TimeInForce.GTC
    assert command.ts_created_ns == order.created_ns


def test_a_market_order_has_no_limit_price() -> None:
    order = venue_order(A, order_type="Market", time_in_force="IOC", price=D("1650"))
    command = command_from_venue(order)
    assert command is not None
    assert command.limit_price is None


def test_an_id_not_ours_or_an_order_no_intent_can_be_is_not_rebuilt() -> None:
    assert command_from_venue(venue_order("manual-order")) is None
    assert command_from_venue(venue_order(A, qty=D(0))) is None
    assert command_from_venue(venue_order(A, side="Sideways")) is None


def test_the_history_is_asked_from_the_journal_start_or_the_last_week_at_most() -> None:
    now_ms = 2_000_000_000_000
    assert history_start_ms((now_ms - 5000) * 10**6, now_ms * 10**6) == now_ms - 5000
    assert history_start_ms(0, now_ms * 10**6) == now_ms - HISTORY_SPAN_MS
