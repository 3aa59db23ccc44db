"""Matching and clearing: an order against the book, fills booked to both accounts.

A match runs with an explicit `FillContext` (the market, the instant, and the account order
being matched as taker, if any); every fill the matcher reports goes through its `on_fill`:
the public trade is recorded, then the maker's and the taker's account fills are booked
(position, wallet, order, execution report), and reduce-only orders shrink with the
position. After a match, `run_stops` fires the TP/SL the new last price has reached and
places the conditional orders whose trigger the price has reached.
"""

from dataclasses import dataclass
from typing import Final

from services.simulator.accounts import Account, OrderState
from services.simulator.book import RestingOrder
from services.simulator.matching import Fill, Matcher
from services.simulator.venue import conditional, stops
from services.simulator.venue.history import archive_old
from services.simulator.venue.reports import emit_execution, emit_order, emit_update
from services.simulator.venue.state import Market, VenueState, fee_of

_RESTING_TIFS: Final = frozenset({"GTC", "PostOnly"})
_MAX_STOP_ROUNDS: Final = 100


@dataclass(slots=True)
class FillContext:
    """One match: where, when, and which account order is the taker (None: the market's).

    `prints=False` for the fills a recorded trade causes: that trade is the public print
    (the caller records it once), our fills do not print again.
    """

    state: VenueState
    market: Market
    now_ms: int
    taker: OrderState | None = None  # its final status is set after the match
    prints: bool = True

    def matcher(self) -> Matcher:
        """A matcher on this market's book whose fills come back to `on_fill`."""
        return Matcher(self.market.book, self.now_ms, self.on_fill)

    def on_fill(self, fill: Fill) -> None:
        """Book one fill: the public trade, then the maker's and the taker's side of it."""
        if self.prints:
            record_trade(
                self.state, self.market, fill.taker.is_buy, fill.price, fill.lots, self.now_ms
            )
        if fill.maker is not None:
            self._account_fill(fill.maker, fill)
        if fill.taker.account:
            self._account_fill(fill.taker, fill)

    def _account_fill(self, resting: RestingOrder, fill: Fill) -> None:
        state, market, now = self.state, self.market, self.now_ms
        account = state.accounts[resting.account]
        order = account.orders[resting.order_id]
        spec = market.spec
        is_maker = resting is fill.maker
        price = fill.price * spec.tick_size
        qty = fill.lots * spec.qty_step
        value = price * qty
        fee = fee_of(value, state.maker_fee if is_maker else state.taker_fee)
        pos = account.position(spec.symbol)
        was_long = pos.size > 0
        was_flat = pos.size == 0
        outcome = account.apply_fill(spec.symbol, order.is_buy, price, qty, fee)
        pos.seq = state.seq
        pos.updated_ms = now
        if was_flat or (pos.size != 0 and (pos.size > 0) != was_long):
            pos.created_ms = now
        order.cum_qty += qty
        order.cum_value += value
        order.cum_fee += fee
        order.closed_pnl += outcome.closed_pnl
        order.updated_ms = now
        emit_execution(state, account, order, fill, outcome, now)
        _after_position_change(state, account, market, order, was_flat, was_long)
        if is_maker:
            order.status = "Filled" if order.cum_qty >= order.qty else "PartiallyFilled"
            if order.status == "Filled":
                order.resting = None
                account.closed(order)
                archive_old(state, account)
            emit_update(state, account, market, order)
        self._enforce_reduce_only(account)

    def _enforce_reduce_only(self, account: Account) -> None:
        """Shrink the account's reduce-only orders in this symbol to what they can reduce."""
        market = self.market
        symbol = market.spec.symbol
        step = market.spec.qty_step
        for order in list(account.open_orders.values()):
            if order.symbol != symbol or not order.reduce_only or order.resting is None:
                continue
            cap = account.reducible(symbol, order.is_buy)
            lots = int(cap / step)
            if order.resting.leaves <= lots:
                continue
            order.resting.leaves = lots
            if order is self.taker:
                continue  # the taker being matched: its final status is set after the match
            order.updated_ms = self.now_ms
            if lots == 0:
                order.cancel_type = "CancelByReduceOnly"
                close(self.state, account, market, order, "Cancelled")
            else:
                order.qty = order.cum_qty + cap
                market.book.dirty = True
                emit_order(self.state, account, market, order)


def record_trade(
    state: VenueState, market: Market, is_buy: bool, price: int, lots: int, now_ms: int
) -> None:
    """Record a public trade: tick direction, candles, recent trades, the public stream."""
    state.trade_no += 1
    last = market.candles.last
    if price > last:
        direction = "PlusTick"
    elif price < last:
        direction = "MinusTick"
    elif market.tick_direction in ("PlusTick", "ZeroPlusTick"):
        direction = "ZeroPlusTick"
    else:
        direction = "ZeroMinusTick"
    market.tick_direction = direction
    market.candles.record(now_ms, price, lots)
    trade = (state.trade_no, now_ms, is_buy, price, lots, state.seq, direction)
    market.recent.append(trade)
    state.public.append((market, trade))
    if market.stop_accounts:
        state.stop_check.append(market)


def _after_position_change(
    state: VenueState,
    account: Account,
    market: Market,
    order: OrderState,
    was_flat: bool,
    was_long: bool,
) -> None:
    pos = account.position(market.spec.symbol)
    closed_or_flipped = not was_flat and (pos.size == 0 or (pos.size > 0) != was_long)
    if closed_or_flipped:
        pos.take_profit = pos.stop_loss = None
    attached = order.take_profit or order.stop_loss
    if attached and not order.tpsl_applied and pos.size and (pos.size > 0) == order.is_buy:
        pos.take_profit = order.take_profit or pos.take_profit
        pos.stop_loss = order.stop_loss or pos.stop_loss
        order.tpsl_applied = True  # once, at the first fill
    stops.sync_stops(state, account, market)


def execute(
    state: VenueState, account: Account, market: Market, order: OrderState, now_ms: int
) -> None:
    """Match a new (or re-priced) order on entry, then rest it or close it."""
    now = now_ms
    spec = market.spec
    lots = int((order.qty - order.cum_qty) / spec.qty_step)
    limit = int(order.price / spec.tick_size)
    context = FillContext(state, market, now)
    matcher = context.matcher()
    tif = order.time_in_force
    if tif == "PostOnly" and matcher.crosses(order.is_buy, limit):
        order.reject_reason = "EC_PostOnlyWillTakeLiquidity"
        close(state, account, market, order, "Cancelled")
        return
    if tif == "FOK" and not matcher.fillable(order.is_buy, limit, lots):
        order.reject_reason = "EC_NoEnoughQtyToFill"
        close(state, account, market, order, "Cancelled")
        return
    resting = RestingOrder(
        order_id=order.order_id,
        account=account.key,
        is_buy=order.is_buy,
        price=limit,
        leaves=lots,
        reduce_only=order.reduce_only,
    )
    order.resting = resting
    state.seq += 1
    context.taker = order
    matcher.take(resting, limit)
    order.updated_ms = now
    if resting.leaves > 0 and order.order_type == "Limit" and tif in _RESTING_TIFS:
        order.qty = order.cum_qty + resting.leaves * spec.qty_step
        order.status = "PartiallyFilled" if order.cum_qty else "New"
        market.book.add(resting, now)
        emit_update(state, account, market, order)
    else:
        order.resting = None
        _finish_taker(state, account, market, order, shrunk=resting.leaves == 0)
    if market.book.dirty:
        state.touch(market)


def _finish_taker(
    state: VenueState, account: Account, market: Market, order: OrderState, *, shrunk: bool
) -> None:
    """Close a taker that did not rest: Filled, or Cancelled with the remainder."""
    if order.cum_qty >= order.qty:
        close(state, account, market, order, "Filled")
        return
    order.reject_reason = "EC_NoError" if order.cum_qty else "EC_NoImmediateQtyToFill"
    if order.reduce_only and shrunk:
        order.cancel_type = "CancelByReduceOnly"
    close(state, account, market, order, "Cancelled")


def close(
    state: VenueState, account: Account, market: Market, order: OrderState, status: str
) -> None:
    """Give `order` its final status (reasons already set), take it out of the book."""
    order.status = status
    order.updated_ms = max(order.updated_ms, state.now)
    if order.resting is not None:
        market.book.cancel(order.resting)
        order.resting = None
    account.closed(order)
    archive_old(state, account)
    emit_update(state, account, market, order)


def cancel(state: VenueState, account: Account, market: Market, order: OrderState) -> None:
    """Cancel an open order at the user's request."""
    order.updated_ms = state.now
    order.cancel_type = "CancelByUser"
    if order.status == "Untriggered":
        close(state, account, market, order, "Deactivated")
        stops.sync_stops(state, account, market)
        return
    close(state, account, market, order, "Cancelled")
    market.book.purge()
    if market.book.dirty:
        state.touch(market)


def run_stops(state: VenueState, now_ms: int) -> None:
    """Fire every TP/SL the trades since the last check have reached (cascades included)."""
    for _ in range(_MAX_STOP_ROUNDS):
        if not state.stop_check:
            return
        markets = list(dict.fromkeys(state.stop_check))
        state.stop_check.clear()
        for market in markets:
            for key in sorted(market.stop_accounts or ()):
                account = state.accounts[key]
                _fire_conditionals(state, account, market, now_ms)
                if not account.position(market.spec.symbol).size:
                    stops.sync_stops(state, account, market)
                    continue
                kind = stops.triggered(account, market)
                if kind:
                    order = stops.stop_order(state, account, market, kind, now_ms)
                    account.add_order(order)
                    execute(state, account, market, order, now_ms)


def _fire_conditionals(state: VenueState, account: Account, market: Market, now_ms: int) -> None:
    """Place the account's conditional orders whose trigger the price has reached."""
    fired = False
    for order in stops.untriggered(account, market.spec.symbol):
        if conditional.reached(market, order):
            fired = True
            if conditional.trigger(state, account, market, order):
                execute(state, account, market, order, now_ms)
            else:
                close(state, account, market, order, "Cancelled")
    if fired:
        stops.sync_stops(state, account, market)
