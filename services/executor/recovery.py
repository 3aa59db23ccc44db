"""Recovery after a lost journal tail: the venue's orders of ours the journal never saw.

With synchronous=NORMAL a power loss may take the journal's last commits: orders sent and
filled (or still resting) since then are at the venue but not in the journal. Whatever the
venue lists with one of OUR orderLinkIds (shared/order_ids.py: a parseable id) and the
journal does not know is recovered: its intent is rebuilt from the venue's order and
journaled, then its executions go through the normal fill path (once each, by execId) and
it takes the venue's final status. An id that is not of our form is never taken as ours.

Pure: the shell (reconcile_runner.ReconcileRunner) looks the orders up and applies them.
"""

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Final

from services.executor.venue_reports import VenueFill, VenueOrder
from shared.order_ids import parse_client_order_id
from shared.schema import (
    ClientOrderId,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
)

# The venue lists orders and executions from startTime for 7 days at most: a start older
# than that would show the first week of the journal, not the last one.
HISTORY_SPAN_MS: Final = 7 * 24 * 3600 * 1000 - 60_000


def history_start_ms(since_ns: int, now_ns: int) -> int:
    """The startTime of an order history query for what has happened since `since_ns`."""
    return max(since_ns // 1_000_000, now_ns // 1_000_000 - HISTORY_SPAN_MS)


def unknown_ours(
    orders: Iterable[VenueOrder],
    executions: Iterable[VenueFill],
    booked: AbstractSet[str],
    known: Callable[[str], bool],
    since_ns: int,
) -> list[tuple[Symbol, ClientOrderId]]:
    """Return (symbol, orderLinkId) of each of our venue orders the journal does not know
    (`known`), once each, in the order first listed (orders, then the executions not yet
    `booked`: a booked execution's order is known). Orders created and executions made
    before `since_ns` (the journal's first intent) are older history, not recovered."""
    found: dict[str, Symbol] = {}
    links = [(o.order_link_id, o.symbol) for o in orders if o.created_ns >= since_ns]
    links += [
        (e.order_link_id, e.symbol)
        for e in executions
        if e.exec_id not in booked and e.ts_ns >= since_ns
    ]
    for link_id, symbol in links:
        if link_id in found or parse_client_order_id(link_id) is None or known(link_id):
            continue
        found[link_id] = Symbol(symbol)
    return [(symbol, ClientOrderId(link_id)) for link_id, symbol in found.items()]


def command_from_venue(order: VenueOrder) -> SubmitOrder | None:
    """Return the intent a venue order of ours was sent from, as far as the venue shows it
    (its trigger times are unknown: the order's creation time stands in); None if the
    orderLinkId is not ours or the order cannot be an intent (no qty, a limit without price).
    """
    parts = parse_client_order_id(order.order_link_id)
    if parts is None:
        return None
    try:
        order_type = OrderType(order.order_type)
        created = order.created_ns
        return SubmitOrder(
            client_order_id=ClientOrderId(order.order_link_id),
            strategy_id=parts.strategy_id,
            epoch=parts.epoch,
            symbol=Symbol(order.symbol),
            side=OrderSide(order.side),
            order_type=order_type,
            time_in_force=TimeInForce(order.time_in_force),
            qty=order.qty,
            limit_price=order.limit_price if order_type is OrderType.LIMIT else None,
            reduce_only=order.reduce_only,
            ts_created_ns=created,
            expires_at_ns=created,
            ts_trigger_recv_ns=0,
            ts_trigger_event_ns=0,
        )
    except ValueError:
        return None
