"""One command from the PULL socket to the worker that carries it out, synchronously.

Orders, cancels and amends are decided and their requests written before this returns
(order_flow, order_control); what must wait on the venue first (closing a position: its
size is asked) runs as a task, and a failed venue call denies the command.
"""

from collections.abc import Awaitable, Callable

from services.executor.ports import Outbox
from services.executor.workers import Workers
from shared.bus import Delivery, RefusedCommand
from shared.bybit.errors import BybitError
from shared.schema import (
    AmendOrder,
    AmendOrders,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    ClosePosition,
    ExecutionSnapshot,
    RequestSnapshot,
    SetTradingState,
    SubmitOrder,
    SubmitOrders,
)


def take(
    work: Workers, item: Delivery | RefusedCommand, snapshot: Callable[[], ExecutionSnapshot]
) -> None:
    """Carry out one delivered command, or deny it with the bus's reason."""
    outbox = work.parts.outbox
    if isinstance(item, RefusedCommand):
        outbox.deny(item.delivery.message, item.reason)
        return
    strategy_id = getattr(item.message, "strategy_id", None)
    if strategy_id is not None:
        work.guard.core.heard_command(item.ts_recv_ns, strategy_id, item.header.sender)
    try:
        _carry_out(work, item.message, item.ts_recv_ns, snapshot)
    except BybitError as e:  # e.g. no API keys: nothing was sent
        outbox.deny(item.message, f"venue call failed: {e}")


def _carry_out(
    work: Workers,
    command: BusMessage,
    ts_recv_ns: int,
    snapshot: Callable[[], ExecutionSnapshot],
) -> None:
    if isinstance(command, SubmitOrder):
        work.flow.submit(command, ts_recv_ns)
    elif isinstance(command, SubmitOrders):
        work.flow.submit_batch(command, ts_recv_ns)
    elif isinstance(command, CancelOrder | CancelOrders | AmendOrder | AmendOrders):
        work.control.change(command, ts_recv_ns)
    elif isinstance(command, CancelAllOrders):
        work.control.cancel_all(command)
    elif isinstance(command, ClosePosition):
        close = work.control.close_position(command.symbol, command.strategy_id, command)
        work.calls.spawn(_denying(work.parts.outbox, command, close))
    elif isinstance(command, SetTradingState):
        work.control.set_trading_state(command)
    elif isinstance(command, RequestSnapshot):
        work.parts.outbox.publish(snapshot())
    else:
        work.parts.outbox.deny(command, f"{type(command).__name__} is not supported yet")


async def _denying(outbox: Outbox, command: BusMessage, work: Awaitable[None]) -> None:
    """Run a command's venue work; a failed venue call denies the command."""
    try:
        await work
    except BybitError as e:
        outbox.deny(command, f"venue call failed: {e}")
