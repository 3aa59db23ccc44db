"""The market's flow through time: synthetic steps, or recorded market events.

`advance` moves the venue to a time: with the synthetic market, in fixed steps of `step_ms`
(the price process moves every book, the synthetic trade flow takes liquidity, resting
orders the market crossed are filled); without it (`synthetic_market=False`), only the
clock moves (depleted liquidity refills, candles roll). `on_market` applies one recorded
event: a new best bid / ask (`BookTop`) or a public trade (`TradePrint`), which fill the
account orders they reach exactly as the synthetic flow would. Only the recorded best prices
are used: the depth behind them stays the synthetic book's (the recorded sizes are not), so
a resting order waits behind the synthetic size at its price, and a recorded trade takes
that size before it reaches the order.
"""

from dataclasses import dataclass
from decimal import Decimal

from services.simulator.market import MINUTE_MS
from services.simulator.matching import synthetic_taker
from services.simulator.venue.clearing import FillContext, run_stops
from services.simulator.venue.state import Market, VenueState


@dataclass(frozen=True, slots=True)
class BookTop:
    """A recorded best bid and ask of `symbol` at `ts_ms` (prices, not ticks)."""

    symbol: str
    ts_ms: int
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A recorded public trade: `qty` at `price`, the taker buying or selling."""

    symbol: str
    ts_ms: int
    taker_is_buy: bool
    price: Decimal
    qty: Decimal


MarketEvent = BookTop | TradePrint


def advance(state: VenueState, now_ms: int) -> None:
    """Move the venue to `now_ms` (never back)."""
    step = state.config.step_ms
    if state.config.synthetic_market:
        while state.last_step_ms + step <= now_ms:
            state.last_step_ms += step
            _step(state, state.last_step_ms)
    elif now_ms > state.now:
        _tick(state, now_ms)
    state.now = max(state.now, now_ms)


def _step(state: VenueState, t: int) -> None:
    state.now = max(state.now, t)
    moved = state.process.step()
    bid0, ask0, counts = moved.bid0, moved.ask0, moved.counts
    sides, lots = moved.sides, moved.lots
    k = 0
    for market in state.market_list:
        i = market.index
        book = market.book
        book.move(bid0[i], ask0[i])
        if market.stop_accounts:
            state.stop_check.append(market)  # the mark moved: conditional orders on it
        if book.has_orders:
            _trade_through(state, market, t)
        n = counts[i]
        for j in range(k, k + n):
            _take(state, market, sides[j], lots[j], None, t)
        k += n
        if state.stop_check:
            run_stops(state, t)
        book.refill(t)
        if book.dirty:
            state.touch(market)
    _roll_candles(state, t)


def _tick(state: VenueState, t: int) -> None:
    state.now = t
    for market in state.market_list:
        market.book.refill(t)
        if market.book.dirty:
            state.touch(market)
    _roll_candles(state, t)


def _roll_candles(state: VenueState, t: int) -> None:
    minute = t // MINUTE_MS
    if minute != state.minute:
        state.minute = minute
        for market in state.market_list:
            market.candles.roll(t)


def _take(
    state: VenueState, market: Market, is_buy: bool, lots: int, limit: int | None, t: int
) -> None:
    """A taker of the market's flow (no account) takes `lots` up to `limit` ticks."""
    state.seq += 1
    FillContext(state, market, t).matcher().take(synthetic_taker(is_buy, lots), limit)
    if state.stop_check:
        run_stops(state, t)


def _trade_through(state: VenueState, market: Market, t: int) -> None:
    state.seq += 1
    FillContext(state, market, t).matcher().trade_through()
    if state.stop_check:
        run_stops(state, t)


def on_market(state: VenueState, event: MarketEvent) -> None:
    """Apply one recorded market event at its time (the venue first advanced to it)."""
    advance(state, event.ts_ms)
    market = state.market(event.symbol)
    spec = market.spec
    t = state.now
    if isinstance(event, BookTop):
        bid = int(event.bid / spec.tick_size)
        market.book.move(bid, max(bid + 1, int(event.ask / spec.tick_size)))
        if market.stop_accounts:
            state.stop_check.append(market)  # the mark moved: conditional orders on it
        if market.book.has_orders:
            _trade_through(state, market, t)
        if state.stop_check:
            run_stops(state, t)
    else:
        lots = int(event.qty / spec.qty_step)
        if lots > 0:
            limit = int(event.price / spec.tick_size)
            _take(state, market, event.taker_is_buy, lots, limit, t)
    if market.book.dirty:
        state.touch(market)
