"""Market data queries: instruments, tickers, the public book, trades and klines.

Pure reads of the venue state at its time (`state.now`); `take_public_trades` drains the
public trade buffer the public stream publishes.
"""

from decimal import Decimal
from typing import Final

from services.simulator.account_views import with_places
from services.simulator.candles import KLINE_INTERVALS
from services.simulator.instruments import to_instrument
from services.simulator.market import MINUTE_MS
from services.simulator.venue.state import (
    TRADE_IDS,
    Market,
    PublicLevel,
    VenueState,
    mark_price,
    params_error,
)
from shared.bybit import wire

_FUNDING_RATE: Final = "0.0001"
_OI_FRACTION: Final = Decimal("0.35")


def instruments(state: VenueState) -> list[wire.Instrument]:
    """Every symbol's instruments-info entry."""
    return [to_instrument(m.spec) for m in state.market_list]


def tickers(state: VenueState, symbol: str | None) -> list[wire.Ticker]:
    """The 24 h tickers of one symbol or all."""
    markets = [state.market(symbol)] if symbol is not None else state.market_list
    return [_ticker(state, m) for m in markets]


def _ticker(state: VenueState, market: Market) -> wire.Ticker:
    spec = market.spec
    tick = spec.tick_size
    stats = market.candles.stats(state.now)
    last = market.candles.last
    change = (
        (Decimal(last) / Decimal(stats.prev_price_24h) - 1).quantize(Decimal("0.000001"))
        if stats.prev_price_24h
        else Decimal("0.000000")
    )
    bids, asks = book_top(state, spec.symbol, 1)
    volume = stats.volume * spec.qty_step
    open_interest = with_places(volume * _OI_FRACTION, spec.qty_places)
    mark = mark_price(market)
    interval_ms = spec.funding_interval_min * MINUTE_MS
    return wire.Ticker(
        symbol=spec.symbol,
        last_price=last * tick,
        index_price=format(mark, "f"),
        mark_price=format(mark, "f"),
        prev_price24h=stats.prev_price_24h * tick,
        price24h_pcnt=change,
        high_price24h=stats.high * tick,
        low_price24h=stats.low * tick,
        prev_price1h=format(stats.prev_price_1h * tick, "f"),
        open_interest=format(open_interest, "f"),
        open_interest_value=format(with_places(open_interest * mark, 2), "f"),
        turnover24h=Decimal(f"{stats.turnover:.4f}"),
        volume24h=volume,
        funding_rate=_FUNDING_RATE,
        next_funding_time=str((state.now // interval_ms + 1) * interval_ms),
        delivery_time="0",
        bid1_price=format(bids[0][0], "f") if bids else "",
        bid1_size=format(bids[0][1], "f") if bids else "",
        ask1_price=format(asks[0][0], "f") if asks else "",
        ask1_size=format(asks[0][1], "f") if asks else "",
    )


def book_top(
    state: VenueState, symbol: str, depth: int
) -> tuple[list[PublicLevel], list[PublicLevel]]:
    """The public book (synthetic + account orders), aggregated per price, best first."""
    market = state.market(symbol)
    cache = market.top_cache
    cached = cache.get(depth)
    if cached is not None:
        return cached
    spec = market.spec
    market.book.purge()
    raw_bids, raw_asks = market.book.top(depth, state.now)
    tick, step = spec.tick_size, spec.qty_step
    result = (
        [(p * tick, n * step) for p, n in raw_bids],
        [(p * tick, n * step) for p, n in raw_asks],
    )
    cache[depth] = result
    return result


def orderbook(state: VenueState, symbol: str, limit: int) -> wire.OrderBookResult:
    """The /v5/market/orderbook snapshot (limit capped to 1 .. 1000)."""
    market = state.market(symbol)
    bids, asks = book_top(state, symbol, max(1, min(limit, 1000)))
    book = market.book
    return wire.OrderBookResult(
        s=symbol, b=list(bids), a=list(asks), ts=state.now, u=book.u, seq=book.seq, cts=book.cts
    )


def recent_trades(state: VenueState, symbol: str, limit: int) -> list[wire.RecentTrade]:
    """The latest public trades of `symbol`, newest first."""
    market = state.market(symbol)
    spec = market.spec
    trades = list(market.recent)[-max(1, limit) :][::-1]
    return [
        wire.RecentTrade(
            exec_id=state.uuid(TRADE_IDS, no),
            symbol=spec.symbol,
            price=price * spec.tick_size,
            size=lots * spec.qty_step,
            side="Buy" if is_buy else "Sell",
            time=str(t),
            is_block_trade=False,
            is_rpi_trade=False,
            seq=str(seq),
        )
        for no, t, is_buy, price, lots, seq, _ in trades
    ]


def take_public_trades(state: VenueState) -> list[wire.PublicTradeData]:
    """Every public trade since the last call (synthetic and the accounts'), in match order."""
    out: list[wire.PublicTradeData] = []
    while state.public:
        market, (no, t, is_buy, price, lots, seq, direction) = state.public.popleft()
        spec = market.spec
        out.append(
            wire.PublicTradeData(
                T=t,
                s=spec.symbol,
                S="Buy" if is_buy else "Sell",
                v=lots * spec.qty_step,
                p=price * spec.tick_size,
                L=direction,
                i=state.uuid(TRADE_IDS, no),
                BT=False,
                RPI=False,
                seq=seq,
            )
        )
    return out


def klines(
    state: VenueState,
    symbol: str,
    interval: str,
    limit: int,
    window: tuple[int | None, int | None] = (None, None),
) -> list[list[str]]:
    """Candles [start, open, high, low, close, volume, turnover] as strings, newest first;
    `window` (start, end ms) as Bybit's `start` / `end`."""
    if interval not in KLINE_INTERVALS:
        raise params_error("params error: interval invalid")
    market = state.market(symbol)
    spec = market.spec
    tick, step = spec.tick_size, spec.qty_step
    rows = market.candles.klines(interval, max(1, min(limit, 1000)), state.now, window)
    return [
        [
            str(start),
            format(o * tick, "f"),
            format(h * tick, "f"),
            format(lo * tick, "f"),
            format(c * tick, "f"),
            format(v * step, "f"),
            f"{turnover:.4f}",
        ]
        for start, o, h, lo, c, v, turnover in rows
    ]
