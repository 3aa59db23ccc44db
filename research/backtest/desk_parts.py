"""The backtest desk's amend and batch pieces: the venue request and the executor's event
of an amend, the orders a batch names.

As the live executor (services/executor/amends.py) writes them: the request names only what
changes; the OrderAmended carries the new qty and price (no network here: the command's
creation time stands for its receive and send times, the answer's time for the ack).
"""

from services.executor.order_core import AmendPlan
from services.executor.order_state import OrderRecord
from shared.schema import (
    AmendOrder,
    AmendOrders,
    CancelOrder,
    CancelOrders,
    OrderAmended,
    SubmitOrder,
    SubmitOrders,
    VenueOrderId,
)


def amended_event(
    record: OrderRecord, plan: AmendPlan, command: AmendOrder, now_ns: int
) -> OrderAmended:
    """What the executor publishes when the venue took `command` (`plan` applied)."""
    return OrderAmended(
        client_order_id=record.client_order_id,
        venue_order_id=record.venue_order_id or VenueOrderId(""),
        strategy_id=record.strategy_id,
        symbol=record.symbol,
        qty=plan.qty,
        limit_price=plan.limit_price,
        ts_event_ns=now_ns,
        ts_command_recv_ns=command.ts_created_ns,
        ts_request_sent_ns=command.ts_created_ns,
        ts_ack_ns=now_ns,
        trace_id=command.trace_id,
    )


def batch_items(
    command: SubmitOrders | AmendOrders | CancelOrders,
) -> tuple[SubmitOrder | AmendOrder | CancelOrder, ...]:
    """The orders a batch command names, in its order."""
    if isinstance(command, SubmitOrders):
        return command.orders
    if isinstance(command, AmendOrders):
        return command.amends
    return command.cancels
