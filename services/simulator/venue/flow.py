"""The market's flow through time: synthetic steps, or recorded market events.

`advance` moves the venue to a time: with the synthetic market (`market_source`
"synthetic"), in fixed steps of `step_ms` (the price process moves every book, the synthetic
trade flow takes liquidity, resting orders the market crossed are filled); with a recorded
one only the clock moves (candles roll; a synthetic book's depleted liquidity refills).

`on_market` applies one recorded event at its time. Order of processing, for one event (a
backtest and the replaying simulator alike; `tests/unit/services/simulator/test_replay_order.py`):

1. the venue advances to the event's time (never back: an event older than the venue's
   clock is applied at the venue's time);
2. the venue matches it against the resting account orders, which it changes or fills:
   - `DepthUpdate` (market "recorded"): the ladder takes the snapshot or delta; the queue
     position of each account order at a changed level moves (`queue_model`); then the
     account orders the recorded book now crosses fill whole at their own prices;
   - `RecordedTrade` (market "recorded"): the account orders it trades through fill whole,
     those at its price move up by its lots and fill by the excess (`Matcher.recorded_trade`);
     its lots come off the ladder only if it is later (venue time) than the book the level
     shows (`ladder`); then the trade is recorded as the public print (last price, candles,
     recent trades);
   - `BookTop` / `TradePrint` (market "recorded-tops"): the synthetic book's top moves to the
     recorded best prices (account orders it crosses fill), a trade walks its synthetic depth;
3. the TP/SL and conditional orders the new mark or last price reaches fire;
4. the book's update id moves if it changed; the private reports wait in `drain_reports()`.

Only then does anyone else see the event: the replaying simulator sends the recorded frame
to its public subscribers after `on_market` returned (`replay.ReplayStream`), and a backtest
hands the event to its strategy after `on_market`. So a strategy never acts on an event the
venue has not matched yet, and our orders never see a price before the market did.
"""

from services.simulator.ladder import RecordedDepth
from services.simulator.market import MINUTE_MS
from services.simulator.market_events import (
    BookTop,
    DepthUpdate,
    MarketEvent,
    RecordedTrade,
    TradePrint,
)
from services.simulator.matching import market_taker
from services.simulator.venue.clearing import FillContext, record_trade, run_stops
from services.simulator.venue.state import Market, VenueState

__all__ = ["BookTop", "DepthUpdate", "MarketEvent", "RecordedTrade", "TradePrint"]
_RECORDED = (DepthUpdate, RecordedTrade)  # a tuple: no union built per event


def advance(state: VenueState, now_ms: int) -> None:
    """Move the venue to `now_ms` (never back)."""
    if state.synthetic:
        step = state.config.step_ms
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
    if not state.recorded:  # a recorded ladder does not refill with time
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
    FillContext(state, market, t).matcher().take(market_taker(is_buy, lots), limit)
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
    if isinstance(event, _RECORDED):
        if not state.recorded:
            raise ValueError(f"{type(event).__name__} needs market_source 'recorded'")
        if isinstance(event, DepthUpdate):
            _recorded_depth(state, market, event)
        else:
            _recorded_trade(state, market, event)
    elif state.synthetic or state.recorded:
        raise ValueError(f"{type(event).__name__} needs market_source 'recorded-tops'")
    elif isinstance(event, BookTop):
        _book_top(state, market, event)
    else:
        _trade_print(state, market, event)
    if market.book.dirty:
        state.touch(market)


def _recorded_depth(state: VenueState, market: Market, event: DepthUpdate) -> None:
    book = market.book
    if not book.apply_depth(event, state.queue_model):
        return  # skipped by the ladder (counted there)
    ladder = book.depth
    if isinstance(ladder, RecordedDepth) and not ladder.crossable:
        return  # a top at the same prices, nothing taken there: no order can cross, no mark
    t = state.now
    if market.stop_accounts:
        state.stop_check.append(market)  # the mark may have moved
    if book.has_orders:
        _trade_through(state, market, t)
    if state.stop_check:
        run_stops(state, t)


def _recorded_trade(state: VenueState, market: Market, event: RecordedTrade) -> None:
    t = state.now
    state.seq += 1
    book = market.book
    ladder = book.depth
    if isinstance(ladder, RecordedDepth):  # is the book it takes from newer than the trade?
        ladder.trade_ms = event.match_ms
    makers = book.asks if event.taker_is_buy else book.bids
    if makers.prices:
        context = FillContext(state, market, t, prints=False)
        context.matcher().recorded_trade(event.taker_is_buy, event.price, event.lots)
    else:
        book.on_recorded_trade(makers, event.price, event.lots)
    record_trade(state, market, event.taker_is_buy, event.price, event.lots, t)
    if state.stop_check:
        run_stops(state, t)


def _book_top(state: VenueState, market: Market, event: BookTop) -> None:
    spec = market.spec
    t = state.now
    bid = int(event.bid / spec.tick_size)
    market.book.move(bid, max(bid + 1, int(event.ask / spec.tick_size)))
    if market.stop_accounts:
        state.stop_check.append(market)  # the mark moved: conditional orders on it
    if market.book.has_orders:
        _trade_through(state, market, t)
    if state.stop_check:
        run_stops(state, t)


def _trade_print(state: VenueState, market: Market, event: TradePrint) -> None:
    spec = market.spec
    lots = int(event.qty / spec.qty_step)
    if lots > 0:
        _take(state, market, event.taker_is_buy, lots, int(event.price / spec.tick_size), state.now)
