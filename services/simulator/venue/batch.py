"""Batch trading requests: create-batch, amend-batch, cancel-batch (linear, 1 .. 20 orders).

Each item is carried out as its single-order request would be, in the batch's order, and
answers on its own: `result.list` has one entry per item (the ids, orderId "" when the item
failed; create-batch adds createAt) and `retExtInfo.list` its code and message (0 "OK", or
the item's Bybit error). The batch as a whole answers retCode 0 even when items fail; only
a batch that is not linear, empty or over 20 orders is refused as a whole (10001).

An item the HTTP layer could not decode arrives as the `VenueError` saying why.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import msgspec

from services.simulator.venue import trading, validation
from services.simulator.venue.state import VenueError, VenueState, params_error
from shared.bybit import wire, wire_more

MAX_BATCH: Final = 20  # linear (Bybit: 20 for linear, inverse and option, 10 for spot)

Item = TypeVar("Item", wire.OrderCreateRequest, wire.OrderAmendRequest, wire.OrderCancelRequest)
_OK: Final = wire_more.BatchStatus(code=0, msg="OK")


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """The batch's `result.list` and `retExtInfo.list`, one entry per item."""

    items: list[wire_more.BatchItem]
    statuses: list[wire_more.BatchStatus]


def check_batch(category: str, size: int) -> None:
    """The checks of the batch as a whole: category linear, 1 .. MAX_BATCH items."""
    validation.check_category(category)
    if not 1 <= size <= MAX_BATCH:
        raise params_error(f"params error: a batch holds 1 .. {MAX_BATCH} orders, not {size}")


def _run(
    category: str,
    items: Sequence[Item | VenueError],
    one: Callable[[Item], wire.OrderIds],
    entry: Callable[[Item | None, wire.OrderIds | None], wire_more.BatchItem],
) -> BatchOutcome:
    check_batch(category, len(items))
    out = BatchOutcome([], [])
    for item in items:
        if isinstance(item, VenueError):
            out.items.append(entry(None, None))
            out.statuses.append(wire_more.BatchStatus(code=item.code, msg=item.msg))
            continue
        request = msgspec.structs.replace(item, category=category)
        try:
            ids = one(request)
        except VenueError as e:
            out.items.append(entry(request, None))
            out.statuses.append(wire_more.BatchStatus(code=e.code, msg=e.msg))
        else:
            out.items.append(entry(request, ids))
            out.statuses.append(_OK)
    return out


def _item(category: str, request: Item | None, ids: wire.OrderIds | None) -> wire_more.BatchItem:
    """The result entry: the ids given back, or "" for orderId (the request's link id)."""
    return wire_more.BatchItem(
        category=category,
        symbol=request.symbol if request is not None else "",
        order_id=ids.order_id if ids is not None else "",
        order_link_id=(
            ids.order_link_id
            if ids is not None
            else (request.order_link_id or "")
            if request is not None
            else ""
        ),
    )


def create_batch(
    state: VenueState,
    account: str,
    category: str,
    items: Sequence[wire.OrderCreateRequest | VenueError],
    now_ms: int,
) -> BatchOutcome:
    """Place each order as /v5/order/create would."""

    def entry(
        request: wire.OrderCreateRequest | None, ids: wire.OrderIds | None
    ) -> wire_more.BatchItem:
        base = _item(category, request, ids)
        return wire_more.BatchCreateItem(
            category=base.category,
            symbol=base.symbol,
            order_id=base.order_id,
            order_link_id=base.order_link_id,
            create_at=str(state.now) if ids is not None else "",
        )

    return _run(category, items, lambda r: trading.create(state, account, r, now_ms), entry)


def amend_batch(
    state: VenueState,
    account: str,
    category: str,
    items: Sequence[wire.OrderAmendRequest | VenueError],
    now_ms: int,
) -> BatchOutcome:
    """Amend each order as /v5/order/amend would."""
    return _run(
        category,
        items,
        lambda r: trading.amend(state, account, r, now_ms),
        lambda r, ids: _item(category, r, ids),
    )


def cancel_batch(
    state: VenueState,
    account: str,
    category: str,
    items: Sequence[wire.OrderCancelRequest | VenueError],
    now_ms: int,
) -> BatchOutcome:
    """Cancel each order as /v5/order/cancel would."""
    return _run(
        category,
        items,
        lambda r: trading.cancel(state, account, r, now_ms),
        lambda r, ids: _item(category, r, ids),
    )
