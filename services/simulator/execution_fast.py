"""The private `execution.fast` topic: the trade fills of `execution`, with fewer fields.

Reference 8.2: only execType Trade; category, symbol, orderId, isMaker, orderLinkId (always
"" for a maker fill), execId, execPrice, execQty, side, execTime, seq; no `id`, no fee.
"""

from typing import Any, Final

from shared.bybit import wire

TOPICS: Final = ("execution.fast", "execution.fast.linear")


class FastExecution(wire.Wire, kw_only=True):
    category: str
    symbol: str
    exec_id: str
    exec_price: str
    exec_qty: str
    order_id: str
    is_maker: bool
    order_link_id: str
    side: str
    exec_time: str
    seq: int


class FastExecutionMessage(wire.Wire, kw_only=True):
    topic: str
    creation_time: int
    data: list[FastExecution]


def fast_executions(items: list[Any]) -> list[FastExecution]:
    """The `execution.fast` form of the trade fills among `execution` payloads."""
    return [
        FastExecution(
            category=e.category,
            symbol=e.symbol,
            exec_id=e.exec_id,
            exec_price=format(e.exec_price, "f"),
            exec_qty=format(e.exec_qty, "f"),
            order_id=e.order_id,
            is_maker=e.is_maker,
            order_link_id="" if e.is_maker else e.order_link_id,
            side=e.side,
            exec_time=e.exec_time,
            seq=e.seq,
        )
        for e in items
        if isinstance(e, wire.ExecutionEvent) and e.exec_type == "Trade"
    ]


def fast_message(topic: str, items: list[Any], now_ms: int) -> FastExecutionMessage | None:
    """The frame for subscribers of `topic` (one of TOPICS), or None without trade fills."""
    data = fast_executions(items)
    if not data:
        return None
    return FastExecutionMessage(topic=topic, creation_time=now_ms, data=data)
