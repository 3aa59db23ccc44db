"""OrderRegistry.exposure: what risk weighs, working orders included as if they filled."""

from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from services.executor.order_state import OrderRecord
from services.executor.registry import OrderRegistry
from shared.schema import ClientOrderId, OrderSide, OrderStatus
from tests.helpers.samples import make_submit

D = Decimal


def record(n: int, side: OrderSide, qty: str, *, reduce_only: bool = False) -> OrderRecord:
    command = msgspec.structs.replace(
        make_submit(),
        client_order_id=ClientOrderId(f"mom1-3-{n}"),
        side=side,
        qty=D(qty),
        reduce_only=reduce_only,
    )
    made = OrderRecord.from_command(command)
    made.status = OrderStatus.ACCEPTED
    return made


def test_working_orders_count_their_unfilled_qty_by_side_and_reduce_only_ones_do_not() -> None:
    registry = OrderRegistry()
    partly = record(1, OrderSide.BUY, "0.003")
    partly.status, partly.cum_filled_qty = OrderStatus.PARTIALLY_FILLED, D("0.001")
    done = record(2, OrderSide.BUY, "0.5")
    done.status = OrderStatus.FILLED
    for made in (
        partly,
        done,
        record(3, OrderSide.SELL, "0.004"),
        record(4, OrderSide.SELL, "0.9", reduce_only=True),
    ):
        registry.add(made)

    exposure = registry.exposure(now_ns=0)

    assert exposure.working_qty == {"BTCUSDT": (D("0.002"), D("0.004"))}
    assert exposure.open_orders == 3  # the filled one is not working


def recomputed(registry: OrderRegistry) -> tuple[int, dict[str, tuple[Decimal, Decimal]]]:
    """The working orders' totals from a scan of every record, as the check of the kept ones."""
    working, leaves = 0, {}
    for made in registry.open_records():
        working += 1
        buys, sells = leaves.get(made.symbol, (D(0), D(0)))
        left = D(0) if made.reduce_only else made.qty - made.cum_filled_qty
        is_buy = made.side is OrderSide.BUY
        leaves[made.symbol] = (buys + left, sells) if is_buy else (buys, sells + left)
    return working, {s: v for s, v in leaves.items() if v != (D(0), D(0))}


steps = st.lists(
    st.tuples(
        st.integers(0, 4),  # which order
        st.sampled_from(["fill", "cancel", "reject", "resize", "accept"]),
    ),
    max_size=40,
)


@given(steps)
def test_the_kept_totals_equal_a_scan_of_the_working_orders_after_any_changes(
    changes: list[tuple[int, str]],
) -> None:
    registry = OrderRegistry()
    made = [record(n, OrderSide.BUY if n % 2 else OrderSide.SELL, "0.004") for n in range(5)]
    made[4].reduce_only = True
    for one in made:
        one.status = OrderStatus.SUBMITTED
        registry.add(one)
    fills = 0
    for n, change in changes:
        target = made[n]
        if target.is_terminal:
            continue
        if change == "fill" and target.cum_filled_qty < target.qty:
            fills += 1
            target.apply_fill(f"e{fills}", D("0.001"), D("64000"), D(0))
        elif change == "cancel" and target.status is not OrderStatus.SUBMITTED:
            target.apply_status(OrderStatus.CANCELED)
        elif change == "reject" and target.status is OrderStatus.SUBMITTED:
            target.apply_status(OrderStatus.REJECTED)
        elif change == "resize":
            target.resize(max(target.qty + D("0.001"), target.cum_filled_qty), target.limit_price)
        elif change == "accept" and target.status is OrderStatus.SUBMITTED:
            target.apply_status(OrderStatus.ACCEPTED)
        exposure = registry.exposure(now_ns=0)
        assert (exposure.open_orders, exposure.working_qty) == recomputed(registry)
