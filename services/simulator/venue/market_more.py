"""Market history beyond the trade candles: funding, open interest, mark-price klines, risk
limits. What each is, given that the simulator has no funding process and no risk tiers:

* funding history: the venue's constant funding rate (`FUNDING_RATE`, also the tickers'),
  one row per funding time (multiples of the symbol's `fundingInterval`) up to now; it is
  never charged to positions;
* open interest: synthetic, as the tickers' (`OI_FRACTION` of the 24 h volume): per
  `intervalTime` bucket, that fraction of the 24 h volume before the bucket's time (hourly
  candles), as far back as the candle history reaches a full day;
* mark-price klines: the mark is the synthetic mid and its history is not kept, so they
  are the trade candles' open / high / low / close (the close of the open candle is the
  last trade), within a tick or so of the mid;
* risk limit: one tier per symbol (id 1, the `riskLimitValue` positions show, maintenance
  rate 0.5 %, initial rate 1 / maxLeverage); no tier changes.
"""

from decimal import Decimal
from typing import Final

from services.simulator.account_views import with_places
from services.simulator.candles import KLINE_INTERVALS
from services.simulator.market import MINUTE_MS
from services.simulator.venue.state import VenueState, params_error
from shared.bybit import wire_more

FUNDING_RATE: Final = "0.0001"
OI_FRACTION: Final = Decimal("0.35")
RISK_LIMIT_VALUE: Final = "2000000"
MAINTENANCE_RATE: Final = Decimal("0.005")
OI_INTERVALS: Final = {
    "5min": 5 * MINUTE_MS,
    "15min": 15 * MINUTE_MS,
    "30min": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}
_HOUR_MS: Final = 60 * MINUTE_MS
_DAY_MS: Final = 24 * _HOUR_MS


def stamps(interval_ms: int, start: int | None, end: int, limit: int) -> list[int]:
    """Multiples of `interval_ms` in [start, end], newest first, at most `limit`."""
    last = end // interval_ms * interval_ms
    out: list[int] = []
    t = last
    while len(out) < limit and t >= 0 and (start is None or t >= start):
        out.append(t)
        t -= interval_ms
    return out


def funding_history(
    state: VenueState, symbol: str, start: int | None, end: int | None, limit: int
) -> list[wire_more.FundingRate]:
    """/v5/market/funding/history: the constant rate at each funding time, newest first."""
    market = state.market(symbol)
    if start is not None and end is None:
        raise params_error("params error: startTime needs endTime")
    interval_ms = market.spec.funding_interval_min * MINUTE_MS
    upto = min(end if end is not None else state.now, state.now)
    return [
        wire_more.FundingRate(
            symbol=market.spec.symbol, funding_rate=FUNDING_RATE, funding_rate_timestamp=str(t)
        )
        for t in stamps(interval_ms, start, upto, limit)
    ]


def open_interest(
    state: VenueState, symbol: str, interval: str, start: int | None, end: int | None
) -> list[wire_more.OpenInterest]:
    """/v5/market/open-interest: synthetic open interest per bucket, newest first."""
    market = state.market(symbol)
    interval_ms = OI_INTERVALS.get(interval)
    if interval_ms is None:
        raise params_error("params error: intervalTime invalid")
    spec = market.spec
    hours = market.candles.klines("60", 1000, state.now)  # newest first
    volume = {start_ms: v for start_ms, _o, _h, _l, _c, v, _t in hours}
    oldest = min(volume) + _DAY_MS if volume else state.now
    upto = min(end if end is not None else state.now, state.now)
    low = max(start or 0, oldest)
    out: list[wire_more.OpenInterest] = []
    for t in stamps(interval_ms, low, upto, 10_000):
        day_start = t - _DAY_MS
        lots = sum(v for h, v in volume.items() if day_start <= h < t)
        both = with_places(lots * spec.qty_step * OI_FRACTION, spec.qty_places)
        single = with_places(both / 2, spec.qty_places)
        out.append(
            wire_more.OpenInterest(
                open_interest=format(both, "f"),
                single_open_interest=format(single, "f"),
                timestamp=str(t),
            )
        )
    return out


def mark_price_klines(
    state: VenueState, symbol: str, interval: str, window: tuple[int | None, int | None], limit: int
) -> list[list[str]]:
    """[startTime, open, high, low, close] as strings, newest first (see the module).

    `window` (start, end) keeps the candles that start in it.
    """
    if interval not in KLINE_INTERVALS:
        raise params_error("params error: interval invalid")
    market = state.market(symbol)
    tick = market.spec.tick_size
    start, end = window
    rows = [
        row
        for row in market.candles.klines(interval, 1000, state.now)
        if (start is None or row[0] >= start) and (end is None or row[0] <= end)
    ]
    return [
        [str(t), *(format(p * tick, "f") for p in (o, h, lo, c))]
        for t, o, h, lo, c, _v, _turnover in rows[: max(1, min(limit, 1000))]
    ]


def risk_limits(state: VenueState, symbol: str | None) -> list[wire_more.RiskLimit]:
    """/v5/market/risk-limit: the one tier of each symbol (or of `symbol`)."""
    markets = [state.market(symbol)] if symbol else state.market_list
    return [
        wire_more.RiskLimit(
            id=1,
            symbol=m.spec.symbol,
            risk_limit_value=RISK_LIMIT_VALUE,
            maintenance_margin=format(MAINTENANCE_RATE, "f"),
            initial_margin=format((1 / m.spec.max_leverage).normalize(), "f"),
            is_lowest_risk=1,
            max_leverage=format(m.spec.max_leverage.quantize(Decimal("0.01")), "f"),
            mm_deduction="",
        )
        for m in markets
    ]
