"""Order request checks: a Bybit request in, an `OrderState` or checked values out.

Everything Bybit refuses with a non-zero retCode is raised as `VenueError` here, before the
venue changes any state.
"""

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Final

from services.simulator.accounts import ZERO, Account, OrderState
from services.simulator.instruments import InstrumentSpec
from services.simulator.venue.state import (
    Market,
    VenueError,
    VenueState,
    best_price,
    last_price,
    mark_price,
    params_error,
    protection_price,
)
from shared.bybit import wire

_LINK_ID: Final = re.compile(r"[0-9A-Za-z_-]{1,36}")
_SIDES: Final = {"Buy": True, "Sell": False}
_LIMIT_TIFS: Final = frozenset({"GTC", "IOC", "FOK", "PostOnly"})


def decimal_param(text: str | None, what: str) -> Decimal:
    """A required finite decimal parameter."""
    if text is None or text == "":
        raise params_error(f"params error: {what} is required")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise params_error(f"params error: {what} invalid") from None
    if not value.is_finite():
        raise params_error(f"params error: {what} invalid")
    return value


def check_category(category: str) -> None:
    """The simulator serves category=linear only."""
    if category != "linear":
        raise params_error("params error: category invalid (the simulator serves linear only)")


def _side(text: str) -> bool:
    if text not in _SIDES:
        raise params_error("params error: side invalid")
    return _SIDES[text]


def _time_in_force(order_type: str, tif: str | None) -> str:
    if order_type == "Market":
        return "IOC"  # Bybit: market orders always use IOC
    if order_type != "Limit":
        raise params_error("params error: orderType invalid")
    tif = tif or "GTC"
    if tif not in _LIMIT_TIFS:
        raise params_error("params error: timeInForce invalid")
    return tif


def check_qty(spec: InstrumentSpec, qty: Decimal, maximum: Decimal) -> None:
    """A positive multiple of the qty step within [min_qty, maximum]."""
    if qty <= 0 or qty % spec.qty_step:
        raise params_error(
            f"Qty invalid: {qty} is not a positive multiple of qtyStep {spec.qty_step}"
        )
    if qty < spec.min_qty:
        raise params_error(
            "The number of contracts exceeds minimum limit allowed: too small, "
            f"order_qty:{qty} < min_qty:{spec.min_qty}"
        )
    if qty > maximum:
        raise params_error(
            "The number of contracts exceeds maximum limit allowed: too large, "
            f"order_qty:{qty} > max_qty:{maximum}"
        )


def check_price_step(spec: InstrumentSpec, price: Decimal, what: str = "Price") -> None:
    """A positive multiple of the tick size."""
    if price <= 0:
        raise params_error(f"{what} invalid: {price} must be positive")
    if price % spec.tick_size:
        raise params_error(
            f"{what} invalid: {price} is not a multiple of tickSize {spec.tick_size}"
        )


def check_limit_price(market: Market, price: Decimal, is_buy: bool) -> None:
    """On the tick grid and within mark x (1 +/- priceLimitRatioY) (else 110003)."""
    spec = market.spec
    check_price_step(spec, price)
    band = Decimal(spec.price_limit_y)
    mark = mark_price(market)
    if is_buy and price > mark * (1 + band):
        raise VenueError(
            110003, f"Order price is out of permissible range: buy above {mark * (1 + band)}"
        )
    if not is_buy and price < mark * (1 - band):
        raise VenueError(
            110003, f"Order price is out of permissible range: sell below {mark * (1 - band)}"
        )


def _link_id(account: Account, link_id: str | None) -> str:
    if not link_id:
        return ""
    if not _LINK_ID.fullmatch(link_id):
        raise params_error("params error: orderLinkId invalid (max 36 chars of [0-9A-Za-z_-])")
    if link_id in account.link_ids or link_id in account.archived_links:
        raise VenueError(110072, "OrderLinkedID is duplicate")
    return link_id


def new_order(
    state: VenueState, account: Account, market: Market, req: wire.OrderCreateRequest
) -> OrderState:
    """The order a create request asks for, checked (margin: `check_margin`), not yet placed."""
    spec = market.spec
    is_buy = _side(req.side)
    tif = _time_in_force(req.order_type, req.time_in_force)
    if req.position_idx not in (None, 0):
        raise params_error("position idx not match position mode")
    link_id = _link_id(account, req.order_link_id)
    reduce_only = bool(req.reduce_only) or bool(req.close_on_trigger)
    qty = _order_qty(account, market, req, is_buy, reduce_only)
    price = _order_price(market, req, is_buy)
    take_profit, stop_loss = _attached_stops(market, req, is_buy, reduce_only)
    if not reduce_only:
        estimate = price if req.order_type == "Limit" else best_price(market, is_buy, state.now)
        if qty * estimate < spec.min_notional:
            raise VenueError(
                110094, f"Order does not meet minimum order value {spec.min_notional}USDT"
            )
    order = OrderState(
        order_id=state.next_order_id(),
        order_link_id=link_id,
        account=account.key,
        symbol=spec.symbol,
        is_buy=is_buy,
        order_type=req.order_type,
        time_in_force=tif,
        price=price,
        qty=qty,
        created_ms=state.now,
        updated_ms=state.now,
        last_price_on_created=last_price(market),
        reduce_only=reduce_only,
        close_on_trigger=bool(req.close_on_trigger),
        take_profit=take_profit,
        stop_loss=stop_loss,
    )
    return order


def _order_qty(
    account: Account,
    market: Market,
    req: wire.OrderCreateRequest,
    is_buy: bool,
    reduce_only: bool,
) -> Decimal:
    spec = market.spec
    qty = decimal_param(req.qty, "qty")
    maximum = spec.max_mkt_qty if req.order_type == "Market" else spec.max_qty
    reducible = account.reducible(spec.symbol, is_buy) if reduce_only else ZERO
    if qty == 0 and reduce_only and req.close_on_trigger:
        qty = min(reducible, maximum)  # close the whole position
        if qty == 0:
            raise VenueError(110017, "orderQty will be truncated to zero.")
        return qty
    check_qty(spec, qty, maximum)
    if reduce_only:
        if reducible == 0:
            raise VenueError(110017, "orderQty will be truncated to zero.")
        qty = min(qty, reducible)
    return qty


def _order_price(market: Market, req: wire.OrderCreateRequest, is_buy: bool) -> Decimal:
    if req.order_type == "Market":
        return protection_price(market, is_buy)
    price = decimal_param(req.price, "price")
    check_limit_price(market, price, is_buy)
    return price


def _attached_stops(
    market: Market, req: wire.OrderCreateRequest, is_buy: bool, reduce_only: bool
) -> tuple[Decimal | None, Decimal | None]:
    values: list[Decimal | None] = []
    for text, what in ((req.take_profit, "TakeProfit"), (req.stop_loss, "StopLoss")):
        value = None if text in (None, "", "0") else decimal_param(text, what)
        if value is not None:
            if reduce_only:
                raise params_error("TP/SL cannot be set when reduceOnly is true")
            check_price_step(market.spec, value, what)
        values.append(value)
    take_profit, stop_loss = values
    check_stop_sides(take_profit, stop_loss, is_buy, last_price(market))
    return take_profit, stop_loss


def check_stop_sides(
    take_profit: Decimal | None, stop_loss: Decimal | None, long: bool, base: Decimal
) -> None:
    """A long's stop loss below `base` and take profit above it (a short's the other way)."""
    side = "Buy" if long else "Sell"
    if stop_loss is not None and (stop_loss >= base if long else stop_loss <= base):
        word = "lower" if long else "higher"
        raise params_error(
            f"StopLoss:{stop_loss} set for {side} position should {word} than "
            f"base_price:{base}??LastPrice"
        )
    if take_profit is not None and (take_profit <= base if long else take_profit >= base):
        word = "higher" if long else "lower"
        raise params_error(
            f"TakeProfit:{take_profit} set for {side} position should {word} than "
            f"base_price:{base}??LastPrice"
        )


def check_margin(state: VenueState, account: Account, market: Market, order: OrderState) -> None:
    """Whether the account can afford the order's initial margin (else 110007)."""
    if order.reduce_only:
        return
    estimate = order
    if order.order_type == "Market":
        estimate = replace(order, price=best_price(market, order.is_buy, state.now))
    if account.available((estimate,)) < 0:
        raise VenueError(110007, "ab not enough for new order")


def open_order(
    account: Account, symbol: str, order_id: str | None, link_id: str | None, verb: str
) -> OrderState:
    """The account's open order of that id or link id in `symbol` (else 110001)."""
    if not order_id and not link_id:
        raise params_error("params error: orderId or orderLinkId is required")
    order = account.find(order_id, link_id)
    if order is None or not order.is_open or order.symbol != symbol:
        raise VenueError(110001, f"order not exists or too late to {verb}")
    return order


def amended_values(
    account: Account, market: Market, order: OrderState, req: wire.OrderAmendRequest
) -> tuple[Decimal, Decimal]:
    """The (qty, price) an amend asks for, checked."""
    spec = market.spec
    qty = order.qty if req.qty in (None, "") else decimal_param(req.qty, "qty")
    price = order.price if req.price in (None, "") else decimal_param(req.price, "price")
    if qty != order.qty:
        check_qty(spec, qty, spec.max_qty)
    if price != order.price:
        check_limit_price(market, price, order.is_buy)
    if qty == order.qty and price == order.price:
        raise params_error(
            "The order remains unchanged as the parameters entered match the existing ones."
        )
    if qty <= order.cum_qty:
        raise VenueError(
            110064,
            "The modified contract quantity cannot be less than or equal to the filled quantity.",
        )
    if order.reduce_only:
        qty = min(qty, order.cum_qty + account.reducible(spec.symbol, order.is_buy))
        if qty <= order.cum_qty:
            raise VenueError(110017, "orderQty will be truncated to zero.")
    elif (qty - order.cum_qty) * price < spec.min_notional:
        raise VenueError(110094, f"Order does not meet minimum order value {spec.min_notional}USDT")
    if not order.reduce_only:
        changed = replace(order, qty=qty, price=price, order_id="amend")
        if account.available((changed,), skip=order.order_id) < 0:
            raise VenueError(110007, "ab not enough for new order")
    return qty, price


def stop_value(
    market: Market, text: str | None, current: Decimal | None, what: str
) -> Decimal | None:
    """A trading-stop TP or SL: unchanged when absent, cleared by "0", else checked."""
    if text is None or text == "":
        return current
    value = decimal_param(text, what)
    if value == 0:
        return None
    check_price_step(market.spec, value, what)
    return value
