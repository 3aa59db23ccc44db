"""The trading requests: create, amend, cancel, cancel-all, set-leverage, trading-stop.

Each first goes through `prelude` (the venue advanced to the request's time, its symbol and
category checked, the account found or opened), then checks the request (`validation`) and
changes the state through `clearing`; the outcome is in the private reports.
"""

from decimal import Decimal
from typing import Final

from services.simulator.accounts import Account
from services.simulator.venue import clearing, conditional, request_fields, stops, validation
from services.simulator.venue.flow import advance
from services.simulator.venue.reports import emit_position_and_wallet, emit_update
from services.simulator.venue.state import (
    Market,
    VenueError,
    VenueState,
    last_price,
    params_error,
)
from shared.bybit import wire

# cancel-all's orderFilter -> which orders it takes, by "is untriggered conditional"
_ORDER_FILTERS: Final[dict[str | None, tuple[bool, ...]]] = {
    None: (False, True),
    "Order": (False,),
    "StopOrder": (True,),
}


def prelude(
    state: VenueState, account: str, symbol: str | None, category: str, now_ms: int
) -> tuple[Account, Market]:
    """What every trading request does first: advance, check symbol and category, account."""
    advance(state, now_ms)
    market = state.market(symbol)
    validation.check_category(category)
    return state.account(account), market


def _ids(order_id: str, order_link_id: str) -> wire.OrderIds:
    return wire.OrderIds(order_id=order_id, order_link_id=order_link_id)


def create(
    state: VenueState, account: str, req: wire.OrderCreateRequest, now_ms: int
) -> wire.OrderIds:
    """Place an order (a conditional one waits Untriggered); returns its ids."""
    req = request_fields.as_create(req)
    acct, market = prelude(state, account, req.symbol, req.category, now_ms)
    request_fields.refuse_unsupported(req)
    trigger = conditional.trigger_of(market, req)
    order = validation.new_order(state, acct, market, req)
    if trigger is not None:  # no margin taken until it triggers
        conditional.park(state, acct, market, order, trigger)
        return _ids(order.order_id, order.order_link_id)
    validation.check_margin(state, acct, market, order)
    acct.add_order(order)
    clearing.execute(state, acct, market, order, state.now)
    clearing.run_stops(state, state.now)
    return _ids(order.order_id, order.order_link_id)


def amend(
    state: VenueState, account: str, req: wire.OrderAmendRequest, now_ms: int
) -> wire.OrderIds:
    """Change an open order's qty and/or price (and an untriggered one's trigger)."""
    req = request_fields.as_amend(req)
    acct, market = prelude(state, account, req.symbol, req.category, now_ms)
    request_fields.refuse_unsupported(req)
    order = validation.open_order(
        acct, market.spec.symbol, req.order_id, req.order_link_id, "replace"
    )
    if order.status == "Untriggered":
        conditional.amend(state, acct, market, order, req)
        return _ids(order.order_id, order.order_link_id)
    if req.trigger_price or req.trigger_by:
        raise params_error("params error: triggerPrice and triggerBy need an untriggered order")
    qty, price = validation.amended_values(acct, market, order, req)
    resting = order.resting
    assert resting is not None
    keeps_priority = price == order.price and qty <= order.qty
    order.qty = qty
    order.price = price
    order.updated_ms = state.now
    if keeps_priority:
        resting.leaves = int((qty - order.cum_qty) / market.spec.qty_step)
        market.book.dirty = True
        emit_update(state, acct, market, order)
    else:
        market.book.cancel(resting)
        market.book.purge()
        order.resting = None
        clearing.execute(state, acct, market, order, state.now)
    if market.book.dirty:
        state.touch(market)
    clearing.run_stops(state, state.now)
    return _ids(order.order_id, order.order_link_id)


def cancel(
    state: VenueState, account: str, req: wire.OrderCancelRequest, now_ms: int
) -> wire.OrderIds:
    """Cancel an open order; returns its ids."""
    acct, market = prelude(state, account, req.symbol, req.category, now_ms)
    order = validation.open_order(
        acct, market.spec.symbol, req.order_id, req.order_link_id, "cancel"
    )
    clearing.cancel(state, acct, market, order)
    return _ids(order.order_id, order.order_link_id)


def cancel_all(
    state: VenueState, account: str, req: wire.CancelAllRequest, now_ms: int
) -> wire.CancelAllResult:
    """Cancel every open order of a symbol, base coin or settle coin (of `orderFilter`)."""
    req = request_fields.as_cancel_all(req)
    advance(state, now_ms)
    validation.check_category(req.category)
    request_fields.refuse_unsupported(req)
    if req.order_filter not in _ORDER_FILTERS:
        raise params_error("params error: orderFilter invalid")
    wanted = _ORDER_FILTERS[req.order_filter]
    if req.symbol:
        symbols = {state.market(req.symbol).spec.symbol}
    elif req.base_coin:
        symbols = {m.spec.symbol for m in state.market_list if m.spec.base_coin == req.base_coin}
    elif req.settle_coin:
        symbols = set(state.markets) if req.settle_coin == "USDT" else set()
    else:
        raise params_error("params error: symbol, baseCoin or settleCoin is required")
    acct = state.account(account)
    cancelled: list[wire.OrderIds] = []
    for order in list(acct.open_orders.values()):
        if order.symbol in symbols and (order.status == "Untriggered") in wanted:
            clearing.cancel(state, acct, state.markets[order.symbol], order)
            cancelled.append(_ids(order.order_id, order.order_link_id))
    return wire.CancelAllResult(list=cancelled, success="1")


def set_leverage(
    state: VenueState, account: str, req: wire.SetLeverageRequest, now_ms: int
) -> None:
    """Set a symbol's leverage (one-way mode: buy = sell)."""
    acct, market = prelude(state, account, req.symbol, req.category, now_ms)
    buy = validation.decimal_param(req.buy_leverage, "buyLeverage")
    sell = validation.decimal_param(req.sell_leverage, "sellLeverage")
    if buy != sell:
        raise params_error("buyLeverage must equal sellLeverage in one-way mode")
    if buy < 1 or buy > market.spec.max_leverage or buy % Decimal("0.01"):
        raise params_error(f"leverage invalid: must be 1 .. {market.spec.max_leverage}, step 0.01")
    pos = acct.position(market.spec.symbol)
    if buy == pos.leverage:
        raise VenueError(110043, "Set leverage not modified")
    before = pos.leverage
    pos.leverage = buy
    if buy < before and acct.available() < 0:
        pos.leverage = before
        raise VenueError(110044, "Available margin is insufficient")
    pos.updated_ms = state.now
    emit_position_and_wallet(state, acct, market)


def trading_stop(
    state: VenueState, account: str, req: wire.TradingStopRequest, now_ms: int
) -> None:
    """Set or clear the position's venue TP / SL."""
    req = request_fields.as_trading_stop(req)
    acct, market = prelude(state, account, req.symbol, req.category, now_ms)
    request_fields.refuse_unsupported(req)
    if req.position_idx != 0:
        raise params_error("position idx not match position mode")
    if req.tpsl_mode != "Full":
        raise params_error("tpslMode invalid: the simulator supports Full only")
    pos = acct.position(market.spec.symbol)
    if not pos.size:
        raise params_error("can not set tp/sl/ts for zero position")
    if req.take_profit is None and req.stop_loss is None:
        raise params_error("params error: takeProfit or stopLoss is required")
    take_profit = validation.stop_value(market, req.take_profit, pos.take_profit, "TakeProfit")
    stop_loss = validation.stop_value(market, req.stop_loss, pos.stop_loss, "StopLoss")
    validation.check_stop_sides(
        take_profit if take_profit != pos.take_profit else None,
        stop_loss if stop_loss != pos.stop_loss else None,
        pos.size > 0,
        last_price(market),
    )
    if take_profit == pos.take_profit and stop_loss == pos.stop_loss:
        raise VenueError(34040, "not modified")
    pos.take_profit = take_profit
    pos.stop_loss = stop_loss
    pos.updated_ms = state.now
    stops.sync_stops(state, acct, market)
    emit_position_and_wallet(state, acct, market)
    clearing.run_stops(state, state.now)
