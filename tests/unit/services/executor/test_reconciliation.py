"""Reconciliation against the venue, with wire structs built from the captured fixtures."""

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from services.executor.order_state import OrderRecord
from services.executor.reconciliation import (
    EXTERNAL_STRATEGY_ID,
    JournalView,
    ReconcileResult,
    VenueView,
    adopt,
    reconcile,
)
from services.executor.venue_reports import (
    VenueFill,
    VenueOrder,
    VenuePosition,
    fill_of,
    order_of,
    position_of,
)
from shared.bybit import wire
from shared.order_ids import client_order_id
from shared.schema import (
    AlertSeverity,
    OrderSide,
    OrderStatus,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    VenueOrderId,
)
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES

NOW = 1_763_700_000_000_000_000
D = Decimal
A = client_order_id("mom1", 3, 1)
B = client_order_id("mom1", 3, 2)
VOID_A = "fd4300ae-7847-404e-b947-b46980a4d140"  # the fixture's orderId
VOID_B = "1321003749386327552"


def _fixture(name: str, kind: Any) -> Any:
    return msgspec.json.decode((FIXTURES / name).read_bytes(), type=kind)


_ORDER: wire.Order = _fixture(
    "rest_order_realtime_response_docexample.json", wire.Response[wire.OrderList]
).result.list[0]  # ETHUSDT Buy Limit 0.10 @ 1600, New, nothing filled
_EXECUTION: wire.Execution = _fixture(
    "rest_execution_list_response_docexample.json", wire.Response[wire.ExecutionList]
).result.list[0]
_WS_EXECUTION: wire.ExecutionEvent = _fixture(
    "ws_private_execution_linear_docexample.json", wire.PrivateMessage[wire.ExecutionEvent]
).data[0]
_POSITION: wire.PositionInfo = _fixture(
    "rest_position_list_response_docexample.json", wire.Response[wire.PositionList]
).result.list[0]


def venue_order(link_id: str = A, **changes: Any) -> VenueOrder:
    """The fixture's order, changed, as the edge hands it on (venue_reports.order_of)."""
    return order_of(
        msgspec.structs.replace(_ORDER, order_link_id=link_id, position_idx=0, **changes)
    )


def execution(exec_id: str, qty: str, order_id: str = VOID_A, **changes: Any) -> VenueFill:
    fields: dict[str, Any] = {
        "symbol": "ETHUSDT",
        "order_id": order_id,
        "order_link_id": A if order_id == VOID_A else "",
        "order_type": "Limit",
        "order_qty": D("0.10"),
        "order_price": D("1600"),
        "exec_id": exec_id,
        "exec_qty": D(qty),
        "exec_price": D("1600"),
        "exec_value": D(qty) * 1600,
        "exec_fee": D("0.01"),
    }
    return fill_of(msgspec.structs.replace(_EXECUTION, **(fields | changes)))


def position(symbol: str, side: str, size: str) -> VenuePosition:
    """The fixture's position, changed, as the edge hands it on (venue_reports.position_of)."""
    return position_of(msgspec.structs.replace(_POSITION, symbol=symbol, side=side, size=D(size)))


def record(
    coid: str = A, status: OrderStatus = OrderStatus.ACCEPTED, void: str = VOID_A
) -> OrderRecord:
    command = SubmitOrder(
        client_order_id=coid,  # type: ignore[arg-type]
        strategy_id="mom1",
        epoch=3,
        symbol=Symbol("ETHUSDT"),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        qty=D("0.10"),
        limit_price=D("1600"),
        ts_created_ns=NOW,
        expires_at_ns=NOW + 1,
        ts_trigger_recv_ns=NOW,
        ts_trigger_event_ns=NOW,
    )
    result = OrderRecord.from_command(command)
    result.status, result.venue_order_id = status, VenueOrderId(void)
    return result


def run(
    orders: list[OrderRecord] | None = None,
    venue_orders: list[VenueOrder] | None = None,
    executions: list[VenueFill] | None = None,
    *,
    exec_ids: frozenset[str] = frozenset(),
    ours: dict[str, Decimal] | None = None,
    theirs: list[VenuePosition] | None = None,
) -> ReconcileResult:
    journal = JournalView(orders or [], exec_ids, ours or {})
    venue = VenueView(venue_orders or [], executions or [], theirs or [])
    return reconcile(journal, venue, NOW)


def codes(result: ReconcileResult) -> list[str]:
    return [alert.code for alert in result.alerts]


def apply(result: ReconcileResult, orders: list[OrderRecord]) -> list[OrderRecord]:
    """Apply a result the way the executor does: adopt, fills, corrections."""
    by_link = {o.client_order_id: o for o in orders + result.adopted}
    by_venue = {o.venue_order_id: o for o in by_link.values()}
    for fill in result.fills:
        target = by_link.get(fill.order_link_id) or by_venue[fill.order_id]  # type: ignore[index]
        target.apply_fill(fill.exec_id, fill.qty, fill.price, fill.fee)
    for correction in result.corrections:
        by_link[correction.client_order_id].correct(correction.venue)
    return list(by_link.values())


def test_agreeing_views_give_no_alerts() -> None:
    result = run([record()], [venue_order()], ours={"ETHUSDT": D(0)})
    assert result.alerts == []
    assert (result.adopted, result.to_query, result.corrections, result.fills) == ([], [], [], [])
    assert result.positions == {"ETHUSDT": D(0)}


def test_order_on_the_venue_only_is_adopted_with_an_alert() -> None:
    result = run([], [venue_order(B, order_id=VOID_B)])

    (adopted,) = result.adopted
    assert (adopted.client_order_id, adopted.strategy_id, adopted.venue_order_id) == (
        B,
        "mom1",
        VOID_B,
    )
    assert (adopted.status, adopted.qty, adopted.limit_price) == (
        OrderStatus.ACCEPTED,
        D("0.10"),
        D("1600"),
    )
    (alert,) = result.alerts
    assert (alert.source, alert.severity, alert.code, alert.ts_event_ns) == (
        "executor",
        AlertSeverity.WARNING,
        "orphan_order",
        NOW,
    )
    assert B in alert.detail
    assert VOID_B in alert.detail


def test_order_placed_outside_the_system_is_keyed_by_its_order_id() -> None:
    result = run([], [venue_order("")])
    (adopted,) = result.adopted
    assert (adopted.client_order_id, adopted.strategy_id) == (VOID_A, EXTERNAL_STRATEGY_ID)


def test_an_order_the_journal_saw_end_is_rechecked_not_adopted_when_the_venue_lists_it() -> None:
    # The stream reported the fill while the open-order list was on its way.
    result = run([record(status=OrderStatus.FILLED)], [venue_order()])

    assert (result.adopted, result.corrections, result.to_query, result.alerts) == ([], [], [], [])
    assert [o.order_link_id for o in result.to_recheck] == [A]


def test_an_open_view_is_matched_before_a_finished_one_of_the_same_venue_order() -> None:
    finished, working = record(B, OrderStatus.CANCELED), record(A)

    result = run([finished, working], [venue_order(A)])

    assert (result.to_recheck, result.adopted, result.alerts) == ([], [], [])


def test_a_rechecked_order_still_open_is_adopted_with_an_alert() -> None:
    result = adopt(venue_order(B, order_id=VOID_B), NOW)

    assert [(r.client_order_id, r.status) for r in result.adopted] == [(B, OrderStatus.ACCEPTED)]
    assert codes(result) == ["orphan_order"]


def test_closed_order_unknown_to_the_journal_is_not_adopted() -> None:
    result = run([], [venue_order(B, order_status="Cancelled")])
    assert (result.adopted, result.alerts) == ([], [])


def test_journal_open_order_missing_on_the_venue_must_be_queried() -> None:
    result = run([record(), record(B, OrderStatus.IN_DOUBT, "")], [venue_order()])
    assert result.to_query == [B]
    assert codes(result) == ["unknown_final_status"]
    assert f"client_order_id={B}" in result.alerts[0].detail


def test_terminal_orders_in_the_view_are_not_queried() -> None:
    result = run([record(B, OrderStatus.FILLED, VOID_B)], [])
    assert (result.to_query, result.alerts) == ([], [])


def test_venue_status_and_filled_qty_win_with_an_alert() -> None:
    venue = venue_order(
        order_status="PartiallyFilled", cum_exec_qty=D("0.04"), cum_exec_value=D("64")
    )

    result = run([record()], [venue])

    (correction,) = result.corrections
    assert correction.client_order_id == A
    assert (correction.venue.status, correction.venue.cum_filled_qty) == (
        OrderStatus.PARTIALLY_FILLED,
        D("0.04"),
    )
    assert codes(result) == ["order_mismatch"]
    assert "cum_filled_qty 0 -> 0.04" in result.alerts[0].detail
    (fixed,) = apply(result, [record()])
    assert (fixed.status, fixed.cum_filled_qty, fixed.avg_fill_price) == (
        OrderStatus.PARTIALLY_FILLED,
        D("0.04"),
        D("1600"),
    )


def test_amended_qty_and_price_on_the_venue_win() -> None:
    result = run([record()], [venue_order(qty=D("0.05"), price=D("1590"))])
    (correction,) = result.corrections
    assert (correction.venue.qty, correction.venue.limit_price) == (D("0.05"), D("1590"))


def test_missed_fill_is_returned_once_and_explains_the_venues_filled_qty() -> None:
    # Arrange: the fill came while the private stream was down
    venue = venue_order(order_status="PartiallyFilled", cum_exec_qty=D("0.04"))
    missed = execution("x1", "0.04")

    # Act
    result = run([record()], [venue], [missed])

    # Assert: applying the fill is enough, no correction needed
    assert result.fills == [missed]
    assert result.corrections == []
    assert codes(result) == ["missed_fill"]
    assert "exec_id=x1" in result.alerts[0].detail
    (fixed,) = apply(result, [record()])
    assert (fixed.status, fixed.cum_filled_qty) == (OrderStatus.PARTIALLY_FILLED, D("0.04"))


def test_fills_are_deduplicated_by_exec_id_across_websocket_and_rest() -> None:
    # The same fill seen on the websocket (ExecutionEvent) and in the REST list (Execution),
    # plus one the journal already has.
    ws = fill_of(
        msgspec.structs.replace(
            _WS_EXECUTION, symbol="ETHUSDT", order_id=VOID_A, order_link_id=A, exec_qty=D("0.01")
        )
    )
    rest = execution(ws.exec_id, "0.01")
    known = execution("known-1", "0.02")
    venue = venue_order(order_status="PartiallyFilled", cum_exec_qty=D("0.03"))
    ours = record()
    ours.apply_fill("known-1", D("0.02"), D("1600"), D("0"))

    result = run([ours], [venue], [ws, rest, known], exec_ids=frozenset({"known-1"}))

    assert [fill.exec_id for fill in result.fills] == [ws.exec_id]
    assert result.duplicate_executions == 2
    assert codes(result) == ["missed_fill"]


def test_funding_and_other_non_trade_executions_are_not_fills() -> None:
    funding = execution("f1", "0.1", exec_type="Funding")
    adl = execution("a1", "0.1", exec_type="AdlTrade")
    result = run([record()], [venue_order()], [funding, adl])
    assert (result.fills, result.other_fills, result.ignored_executions) == ([], [], 2)
    assert result.alerts == []


def test_fill_of_an_order_not_open_in_either_view_is_set_apart() -> None:
    late = execution("x9", "0.1", order_id=VOID_B)
    result = run([record()], [venue_order()], [late])
    assert (result.fills, result.other_fills) == ([], [late])
    assert codes(result) == ["missed_fill"]


def test_adopted_order_starts_below_its_unapplied_fills() -> None:
    venue = venue_order(
        B,
        order_id=VOID_B,
        order_status="PartiallyFilled",
        cum_exec_qty=D("0.06"),
        cum_exec_value=D("96"),
        cum_exec_fee=D("0.05"),
    )
    missed = execution("x2", "0.02", order_id=VOID_B, order_link_id=B)

    result = run([], [venue], [missed])

    (adopted,) = result.adopted
    assert (adopted.cum_filled_qty, adopted.cum_filled_value) == (D("0.04"), D("64"))
    assert result.fills == [missed]
    (fixed,) = apply(result, [])
    assert (fixed.cum_filled_qty, fixed.avg_fill_price, fixed.fees) == (
        D("0.06"),
        D("1600"),
        D("0.05"),
    )


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        ({"ETHUSDT": D("0.1")}, [position("ETHUSDT", "Sell", "0.2")], {"ETHUSDT": D("-0.2")}),
        ({"ETHUSDT": D("0.1")}, [], {"ETHUSDT": D(0)}),
        ({}, [position("BTCUSDT", "Buy", "0.01")], {"BTCUSDT": D("0.01")}),
    ],
)
def test_position_mismatch_is_critical_and_the_venues_qty_wins(
    ours: dict[str, Decimal], theirs: list[VenuePosition], expected: dict[str, Decimal]
) -> None:
    result = run(ours=ours, theirs=theirs)
    assert result.positions == expected
    (alert,) = result.alerts
    assert (alert.code, alert.severity) == ("position_mismatch", AlertSeverity.CRITICAL)


def test_flat_venue_position_matches_a_flat_journal() -> None:
    result = run(ours={"ETHUSDT": D(0)}, theirs=[position("ETHUSDT", "", "0")])
    assert (result.alerts, result.positions) == ([], {"ETHUSDT": D(0)})


def test_applying_a_result_makes_the_next_reconciliation_clean() -> None:
    # Arrange: every kind of order mismatch at once
    orders = [record(), record(B, OrderStatus.SUBMITTED, "")]
    orphan = client_order_id("mom1", 3, 3)
    venue = [
        venue_order(order_status="PartiallyFilled", cum_exec_qty=D("0.05"), cum_exec_value=D("80")),
        venue_order(B, order_id=VOID_B),
        venue_order(orphan, order_id="77"),
    ]
    executions = [execution("x1", "0.03")]

    # Act
    first = run(orders, venue, executions)
    fixed = apply(first, orders)
    known = frozenset(e for o in fixed for e in o.seen_exec_ids)
    second = run(fixed, venue, executions, exec_ids=known)

    # Assert
    assert sorted(codes(first)) == [
        "missed_fill",
        "order_mismatch",
        "order_mismatch",
        "orphan_order",
    ]
    assert second.alerts == []
