"""OrderRegistry.exposure: what risk weighs, working orders included as if they filled."""

from decimal import Decimal

import msgspec

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
