"""What a reconciled ExecutionSnapshot says of this strategy's orders and position.

The executor serves its snapshot only to a join: the strategy's start, Syncing's Resync,
and a rejoin after the executor restarted or its stream skipped. It is newer than every
event heard before it (the Clone pattern drops the older frames still queued), so it wins
over the book in every state. Its working orders are ours to manage (a finished one listed
by mistake is not). An order it does not list has finished, unless we sent it within its
time to live, the executor never reported on it and the position in its symbol is still the
one we held: then it may still be on its way in, and is kept, or a second one could follow
it; its events, the executor's denial of it as expired, or else the quiet time settle it.
(A position that moved says it arrived.)
"""

from dataclasses import dataclass
from typing import Final

from services.strategy.book import ZERO, Book, WorkingOrder
from shared.schema import ExecutionSnapshot, OpenOrder, OrderStatus, Position, Symbol

_FINISHED: Final = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.DENIED}
)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """The book's new content: its symbol, working orders and position (None: flat)."""

    symbol: Symbol | None
    orders: list[WorkingOrder]
    position: Position | None
    unmanaged: list[Position]  # other symbols' positions: not this strategy's to manage


def is_working(order: OpenOrder) -> bool:
    return order.status not in _FINISHED and order.cum_filled_qty < order.qty


def on_its_way(order: WorkingOrder, now_ns: int, ttl_ns: int) -> bool:
    """Sent within its time to live and never reported on: maybe not at the executor yet."""
    return not order.executor_knows and now_ns - order.placed_ns < ttl_ns


def working_orders(
    snapshot: ExecutionSnapshot, strategy_id: str, book: Book, now_ns: int, ttl_ns: int
) -> list[WorkingOrder]:
    """Our orders the snapshot lists as working, and those still on their way into it.

    An order we knew keeps its placing time: its PostOnly timeout runs on, not anew.
    """
    ours = book.orders
    listed = [o for o in snapshot.open_orders if o.strategy_id == strategy_id]
    orders: list[WorkingOrder] = []
    for open_order in filter(is_working, listed):
        order = WorkingOrder.from_open_order(open_order, now_ns)
        before = ours.get(order.client_order_id)
        if before is not None:
            order.placed_ns = before.placed_ns
        orders.append(order)
    seen = {o.client_order_id for o in listed}
    venue = {p.symbol: p.qty for p in snapshot.positions}
    orders += [
        o
        for o in ours.values()
        if o.client_order_id not in seen
        and on_its_way(o, now_ns, ttl_ns)
        and venue.get(o.symbol, ZERO) == (book.qty if o.symbol == book.symbol else ZERO)
    ]
    return orders


def rebuild(
    snapshot: ExecutionSnapshot,
    orders: list[WorkingOrder],
    mine: Symbol | None,
    listed: Symbol | None,
) -> Rebuilt:
    """Place the rebuilt orders and the snapshot's positions.

    Ours, most certain first: where our orders work, where our book held something
    (`mine`: an older symbol's leftovers are flattened), what the universe lists, and
    after a restart with no universe yet a single position. Any other position is not ours.
    """
    positions = {p.symbol: p for p in snapshot.positions if p.qty != 0}
    held = [s for s in (mine, listed) if s is not None and s in positions]
    symbol = orders[0].symbol if orders else held[0] if held else listed
    if symbol is None and len(positions) == 1:
        symbol = next(iter(positions))
    position = positions.pop(symbol, None) if symbol is not None else None
    return Rebuilt(symbol, orders, position, list(positions.values()))
