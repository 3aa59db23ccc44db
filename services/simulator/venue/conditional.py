"""Conditional orders (`triggerPrice`): Untriggered until the price crosses, then placed.

A create with a `triggerPrice` is a conditional order, as on Bybit: it must say which way
the price is expected to go (`triggerDirection` 1 rise, 2 fall; else 10001 "params error:
TriggerDirection invalid"), the trigger must lie that way from the current price (else
110092 / 110093 "expect Rising/Falling, but trigger_price[..] <= / >= current[..]"), and
`triggerBy` picks the price watched: LastPrice (the default) or MarkPrice; IndexPrice is the
mark too (the simulator's index is its mark). The order takes no margin while Untriggered
(order event `Untriggered`, stopOrderType `Stop`, createType `CreateByStopOrder`); once the
watched price reaches the trigger it emits `Triggered` and is placed as the Market or Limit
order it describes (margin and reduce-only checked then; a failing check cancels it), with
the normal lifecycle after. Cancelling it untriggered gives `Deactivated`. At most 10
untriggered orders per symbol and account (110009).

This module decides and changes the order; matching is clearing's (`clearing.run_stops`).
"""

from decimal import Decimal
from typing import Final

from services.simulator.accounts import Account, OrderState
from services.simulator.venue.reports import emit_order, emit_update
from services.simulator.venue.request_fields import OrderAmend, OrderCreate
from services.simulator.venue.state import (
    Market,
    VenueError,
    VenueState,
    last_price,
    mark_price,
    params_error,
    protection_price,
)
from services.simulator.venue.stops import untriggered
from services.simulator.venue.validation import (
    check_limit_price,
    check_price_step,
    check_qty,
    decimal_param,
)

TRIGGER_BYS: Final = frozenset({"LastPrice", "MarkPrice", "IndexPrice"})
MAX_CONDITIONAL: Final = 10  # untriggered orders per symbol and account


def watched(market: Market, trigger_by: str) -> Decimal:
    """The price a trigger of this kind watches (IndexPrice: the mark, as the index is)."""
    return last_price(market) if trigger_by == "LastPrice" else mark_price(market)


def _trigger_by(text: str | None) -> str:
    trigger_by = text or "LastPrice"
    if trigger_by not in TRIGGER_BYS:
        raise params_error("params error: TriggerBy invalid")
    return trigger_by


def _check_side(market: Market, price: Decimal, direction: int, trigger_by: str) -> None:
    now = watched(market, trigger_by)
    if direction == 1 and price <= now:
        raise VenueError(
            110092, f"expect Rising, but trigger_price[{price}] <= current[{now}]??{trigger_by}"
        )
    if direction == 2 and price >= now:
        raise VenueError(
            110093, f"expect Falling, but trigger_price[{price}] >= current[{now}]??{trigger_by}"
        )


def trigger_of(market: Market, req: OrderCreate) -> tuple[Decimal, int, str] | None:
    """(triggerPrice, triggerDirection, triggerBy) of a conditional create, checked; else None."""
    if req.trigger_price in (None, "", "0"):
        return None
    price = decimal_param(req.trigger_price, "triggerPrice")
    check_price_step(market.spec, price, "TriggerPrice")
    direction = req.trigger_direction
    if direction not in (1, 2):
        raise params_error("params error: TriggerDirection invalid")
    trigger_by = _trigger_by(req.trigger_by)
    _check_side(market, price, direction, trigger_by)
    return price, direction, trigger_by


def park(
    state: VenueState,
    account: Account,
    market: Market,
    order: OrderState,
    trigger: tuple[Decimal, int, str],
) -> None:
    """Register a new conditional order, Untriggered, and report it."""
    if len(untriggered(account, market.spec.symbol)) >= MAX_CONDITIONAL:
        raise VenueError(110009, "The number of stop orders exceeds maximum limit allowed")
    order.trigger_price, order.trigger_direction, order.trigger_by = trigger
    order.status = "Untriggered"
    order.stop_order_type = "Stop"
    order.create_type = "CreateByStopOrder"
    account.add_order(order)
    market.stop_accounts.add(account.key)
    emit_update(state, account, market, order)


def reached(market: Market, order: OrderState) -> bool:
    """Whether the watched price has reached the order's trigger."""
    assert order.trigger_price is not None
    now = watched(market, order.trigger_by)
    if order.trigger_direction == 1:
        return now >= order.trigger_price
    return now <= order.trigger_price


def trigger(state: VenueState, account: Account, market: Market, order: OrderState) -> bool:
    """Report `Triggered` and make the order a live one; False: it must be cancelled."""
    order.status = "Triggered"
    order.updated_ms = state.now
    emit_order(state, account, market, order)
    if order.order_type == "Market":
        order.price = protection_price(market, order.is_buy)
    if order.reduce_only:
        cap = account.reducible(market.spec.symbol, order.is_buy)
        if cap == 0:
            order.cancel_type = "CancelByReduceOnly"
            return False
        order.qty = min(order.qty, cap)
    elif account.available() < 0:
        order.reject_reason = "EC_Others"  # the margin is not there any more
        return False
    return True


def amend(
    state: VenueState, account: Account, market: Market, order: OrderState, req: OrderAmend
) -> None:
    """Change an untriggered order's qty, price, trigger price or trigger kind."""
    spec = market.spec
    qty = order.qty if req.qty in (None, "") else decimal_param(req.qty, "qty")
    price = order.price
    if req.price not in (None, "") and order.order_type == "Limit":
        price = decimal_param(req.price, "price")
    trigger_price = order.trigger_price
    if req.trigger_price not in (None, ""):
        trigger_price = decimal_param(req.trigger_price, "triggerPrice")
    trigger_by = order.trigger_by if req.trigger_by in (None, "") else _trigger_by(req.trigger_by)
    assert trigger_price is not None
    unchanged = (qty, price, trigger_price, trigger_by) == (
        order.qty,
        order.price,
        order.trigger_price,
        order.trigger_by,
    )
    if unchanged:
        raise params_error(
            "The order remains unchanged as the parameters entered match the existing ones."
        )
    if qty != order.qty:
        check_qty(spec, qty, spec.max_mkt_qty if order.order_type == "Market" else spec.max_qty)
    if price != order.price:
        check_limit_price(market, price, order.is_buy)
    if trigger_price != order.trigger_price or trigger_by != order.trigger_by:
        check_price_step(spec, trigger_price, "TriggerPrice")
        _check_side(market, trigger_price, order.trigger_direction, trigger_by)
    order.qty, order.price = qty, price
    order.trigger_price, order.trigger_by = trigger_price, trigger_by
    order.updated_ms = state.now
    emit_update(state, account, market, order)
