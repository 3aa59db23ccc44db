"""The synthetic market: a seeded price process, a taker-trade flow and minute candles.

`PriceProcess` moves every symbol's log price in fixed steps (one vectorised numpy step for
the whole universe): a random walk whose volatility switches between quiet spells and bursts
(x5..x10 for 10..60 s) with occasional trends (2..20 min), so 24 h change and turnover keep
evolving. Each step it also draws the synthetic taker trades of every symbol (Poisson count,
random side leaning with the move, log-normal size; busier symbols trade more often, bursts
trade three times as often). Everything comes from one `numpy.random.Generator` seeded with
the simulator's seed, so a seed and a number of steps give the same path on every machine.

`synthetic_history` draws the minute candles of the hours before the start, ending exactly
at each symbol's start price, so tickers have prevPrice24h / high / low / turnover24h from the
first request. `CandleSeries` keeps those candles plus the ones built from live trades in a
ring buffer and derives the rolling 24 h statistics and klines from them.

Prices are integer ticks and quantities integer lots (multiples of qtyStep) throughout.
"""

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from services.simulator.instruments import InstrumentSpec

MINUTE_MS: Final = 60_000
DAY_MINUTES: Final = 1440
_YEAR_S: Final = 365 * 86_400.0
_WEEK_OFFSET_MIN: Final = 4 * DAY_MINUTES  # 1970-01-05 was the first Monday

_QUIET_MEAN_S: Final = 600.0  # a burst starts on average every 10 minutes per symbol
_BURST_S: Final = (10.0, 60.0)
_BURST_MULT: Final = (5.0, 10.0)
_TREND_MEAN_S: Final = 1800.0
_TREND_S: Final = (120.0, 1200.0)
_TREND_DRIFT: Final = (0.02, 0.06)  # drift per step, in quiet-step sigmas
_BURST_TRADE_MULT: Final = 3.0
_TRADE_SIZE_SIGMA: Final = 0.9
_TRADE_SIZE_CAP: Final = 25.0  # a synthetic trade is at most 25 x the mean size
_BOOK_LOTS_PER_TRADE: Final = 3.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def trade_rate_per_s(spec: InstrumentSpec) -> float:
    """Typical synthetic taker trades per second: more for high-turnover symbols."""
    return min(12.0, max(0.3, 2.0 * float((spec.turnover_24h / 1e8) ** 0.45)))


@dataclass(frozen=True, slots=True)
class SymbolModel:
    """Per-symbol constants of the synthetic market, derived from the spec."""

    tick: float
    lot: float  # qty step
    sigma_step: float  # quiet-spell sigma of one step's log return
    trades_per_step: float
    mean_trade_lots: float
    spread_ticks: int
    book_lots: int  # size scale of the synthetic book's levels

    @classmethod
    def of(
        cls, spec: InstrumentSpec, *, step_ms: int, volatility_scale: float, trade_rate_scale: float
    ) -> "SymbolModel":
        price = float(spec.start_price)
        tick = float(spec.tick_size)
        lot = float(spec.qty_step)
        step_s = step_ms / 1000
        rate = trade_rate_per_s(spec)
        mean_notional = spec.turnover_24h / 86_400 / rate
        mean_lots = max(1.0, mean_notional / (price * lot))
        spread = max(1, round(price * spec.spread_bps / 1e4 / tick))
        return cls(
            tick=tick,
            lot=lot,
            sigma_step=spec.volatility * volatility_scale * math.sqrt(step_s / _YEAR_S),
            trades_per_step=rate * trade_rate_scale * step_s,
            mean_trade_lots=mean_lots,
            spread_ticks=spread,
            book_lots=max(1, round(_BOOK_LOTS_PER_TRADE * mean_lots)),
        )


@dataclass(frozen=True, slots=True)
class MarketStep:
    """One step of the whole universe: book tops and the synthetic taker trades, per symbol.

    The trades of symbol i are the next `counts[i]` entries of `sides` / `lots`.
    """

    bid0: list[int]
    ask0: list[int]
    counts: list[int]
    sides: list[bool]  # True = taker buys
    lots: list[int]


class PriceProcess:
    """Regime-switching log-price random walk plus taker-trade flow for every symbol."""

    def __init__(
        self,
        specs: tuple[InstrumentSpec, ...],
        models: tuple[SymbolModel, ...],
        *,
        seed: int,
        step_ms: int,
    ) -> None:
        n = len(specs)
        step_s = step_ms / 1000
        self._rng = np.random.default_rng([seed, 1])
        self._n = n
        self._step_s = step_s
        self._logp: FloatArray = np.log(np.array([float(s.start_price) for s in specs]))
        self._sigma: FloatArray = np.array([m.sigma_step for m in models])
        self._tick: FloatArray = np.array([m.tick for m in models])
        self._spread: IntArray = np.array([m.spread_ticks for m in models], dtype=np.int64)
        self._half_spread: FloatArray = self._spread / 2.0 - 0.5 - 1e-7  # exp(log(p)) ~ p
        self._rate: FloatArray = np.array([m.trades_per_step for m in models])
        self._mean_lots: FloatArray = np.array([m.mean_trade_lots for m in models])
        self._p_burst = step_s / _QUIET_MEAN_S
        self._p_trend = step_s / _TREND_MEAN_S
        self._burst_left: IntArray = np.zeros(n, dtype=np.int64)
        self._burst_mult: FloatArray = np.ones(n)
        self._trend_left: IntArray = np.zeros(n, dtype=np.int64)
        self._trend_drift: FloatArray = np.zeros(n)
        self._arange = np.arange(n)
        self.steps = 0

    def mid_ticks(self) -> list[float]:
        """The current mid price of every symbol, in (fractional) ticks."""
        mids: list[float] = (np.exp(self._logp) / self._tick).tolist()
        return mids

    def bursting(self) -> list[bool]:
        """Whether each symbol is in a volatility burst."""
        flags: list[bool] = (self._burst_left > 0).tolist()
        return flags

    def _switch_regimes(self) -> None:
        u = self._rng.random((2, self._n))
        start = (self._burst_left == 0) & (u[0] < self._p_burst)
        if start.any():
            frac = u[0][start] / self._p_burst
            seconds = _BURST_S[0] + frac * (_BURST_S[1] - _BURST_S[0])
            self._burst_left[start] = (seconds / self._step_s).astype(np.int64) + 1
            mult_frac = (frac * 997.0) % 1.0
            self._burst_mult[start] = _BURST_MULT[0] + mult_frac * (_BURST_MULT[1] - _BURST_MULT[0])
        start = (self._trend_left == 0) & (u[1] < self._p_trend)
        if start.any():
            frac = u[1][start] / self._p_trend
            seconds = _TREND_S[0] + ((frac * 613.0) % 1.0) * (_TREND_S[1] - _TREND_S[0])
            self._trend_left[start] = (seconds / self._step_s).astype(np.int64) + 1
            size = _TREND_DRIFT[0] + ((frac * 331.0) % 1.0) * (_TREND_DRIFT[1] - _TREND_DRIFT[0])
            sign = np.where(frac < 0.5, 1.0, -1.0)
            self._trend_drift[start] = sign * size * self._sigma[start]

    def step(self) -> MarketStep:
        """Advance every symbol by one step; return the new book tops and taker trades."""
        self._switch_regimes()
        active = self._burst_left > 0
        trending = self._trend_left > 0
        z = self._rng.standard_normal(self._n)
        sigma = self._sigma * np.where(active, self._burst_mult, 1.0)
        drift = np.where(trending, self._trend_drift, 0.0)
        self._logp += drift + sigma * z
        self._burst_left[active] -= 1
        self._trend_left[trending] -= 1
        self.steps += 1

        mid = np.exp(self._logp) / self._tick
        bid0 = np.maximum(np.floor(mid - self._half_spread).astype(np.int64), 1)
        ask0 = bid0 + self._spread

        lam = self._rate * np.where(active, _BURST_TRADE_MULT, 1.0)
        counts = self._rng.poisson(lam)
        total = int(counts.sum())
        sides: list[bool] = []
        lots: list[int] = []
        if total:
            index = np.repeat(self._arange, counts)
            p_buy = np.clip(0.5 + 0.2 * z, 0.15, 0.85)[index]
            sides = (self._rng.random(total) < p_buy).tolist()
            mean = self._mean_lots[index]
            factor = np.exp(
                _TRADE_SIZE_SIGMA * self._rng.standard_normal(total) - _TRADE_SIZE_SIGMA**2 / 2
            )
            size = np.minimum(mean * factor, mean * _TRADE_SIZE_CAP)
            lots = np.maximum(size, 1.0).astype(np.int64).tolist()
        return MarketStep(
            bid0=bid0.tolist(), ask0=ask0.tolist(), counts=counts.tolist(), sides=sides, lots=lots
        )


# ---------------------------------------------------------------- candles


@dataclass(frozen=True, slots=True)
class History:
    """Minute candles of one symbol before the start (oldest first), prices in ticks."""

    first_minute: int
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray  # lots
    turnover: FloatArray  # USDT


def synthetic_history(
    spec: InstrumentSpec, rng: np.random.Generator, *, end_minute: int, minutes: int
) -> History:
    """Draw `minutes` minute candles ending just before `end_minute`, closing at the start price.

    Quiet and burst minutes, a per-symbol drift (so 24 h changes differ), and a turnover that
    sums to roughly the spec's 24 h turnover (x0.7 .. x1.4) over the last day.
    """
    tick = float(spec.tick_size)
    lot = float(spec.qty_step)
    sigma = spec.volatility * math.sqrt(60 / _YEAR_S)
    burst = np.where(rng.random(minutes) < 0.03, rng.uniform(2.5, 5.0, minutes), 1.0)
    drift = rng.normal(0.0, 1.2) * spec.volatility / math.sqrt(365) / DAY_MINUTES
    returns = sigma * burst * rng.standard_normal(minutes) + drift
    log_close = np.cumsum(returns)
    log_close -= log_close[-1]
    close_px = float(spec.start_price) * np.exp(log_close)
    open_px = np.concatenate(([close_px[0] * math.exp(-returns[0])], close_px[:-1]))
    wick = sigma * burst * 0.5
    high_px = np.maximum(open_px, close_px) * np.exp(np.abs(rng.standard_normal(minutes)) * wick)
    low_px = np.minimum(open_px, close_px) * np.exp(-np.abs(rng.standard_normal(minutes)) * wick)

    close = np.maximum(np.rint(close_px / tick), 1).astype(np.int64)
    open_ = np.maximum(np.rint(open_px / tick), 1).astype(np.int64)
    high = np.maximum(np.ceil(high_px / tick).astype(np.int64), np.maximum(open_, close))
    low = np.minimum(
        np.maximum(np.floor(low_px / tick), 1).astype(np.int64), np.minimum(open_, close)
    )

    activity = burst**1.5 * rng.lognormal(0.0, 0.6, minutes)
    day = activity[-DAY_MINUTES:]
    target = spec.turnover_24h * rng.uniform(0.7, 1.4)
    turnover = activity * (target / float(day.sum()))
    volume = np.maximum(np.rint(turnover / (close * tick * lot)), 0).astype(np.int64)
    traded: FloatArray = (volume * close * (tick * lot)).astype(np.float64)  # as "traded"
    return History(
        first_minute=end_minute - minutes,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        turnover=traded,
    )


@dataclass(frozen=True, slots=True)
class Stats24h:
    """Rolling 24 h statistics, prices in ticks."""

    prev_price_24h: int
    prev_price_1h: int
    high: int
    low: int
    volume: int  # lots
    turnover: float  # USDT


KlineRow = tuple[int, int, int, int, int, int, float]  # start ms, o, h, l, c (ticks), lots, USDT


class CandleSeries:
    """Minute candles of one symbol: a ring buffer of completed minutes plus the current one."""

    def __init__(self, *, capacity: int, unit_value: float, history: History, now_ms: int) -> None:
        self._cap = capacity
        self._unit = unit_value  # USDT per tick x lot
        self._minute: IntArray = np.full(capacity, -1, dtype=np.int64)
        self._o: IntArray = np.zeros(capacity, dtype=np.int64)
        self._h: IntArray = np.zeros(capacity, dtype=np.int64)
        self._l: IntArray = np.zeros(capacity, dtype=np.int64)
        self._c: IntArray = np.zeros(capacity, dtype=np.int64)
        self._v: IntArray = np.zeros(capacity, dtype=np.int64)
        self._t: FloatArray = np.zeros(capacity)
        count = min(len(history.close), capacity - 1)
        minutes = np.arange(history.first_minute, history.first_minute + len(history.close))
        minutes = minutes[-count:]
        idx = minutes % capacity
        self._minute[idx] = minutes
        self._o[idx] = history.open[-count:]
        self._h[idx] = history.high[-count:]
        self._l[idx] = history.low[-count:]
        self._c[idx] = history.close[-count:]
        self._v[idx] = history.volume[-count:]
        self._t[idx] = history.turnover[-count:]
        last = int(history.close[-1])
        self._cm = now_ms // MINUTE_MS
        self._co = self._ch = self._cl = self._cc = last
        self._cv = 0
        self._ct = 0.0
        self._cache_minute = -1
        self._cache: tuple[int, int, int, int, int, float] = (last, last, last, last, 0, 0.0)

    @property
    def last(self) -> int:
        """The latest close (the last traded price), in ticks."""
        return self._cc

    def record(self, now_ms: int, price: int, lots: int) -> None:
        """Add one trade."""
        minute = now_ms // MINUTE_MS
        if minute != self._cm:
            self.roll(now_ms)
        if price > self._ch:
            self._ch = price
        elif price < self._cl:
            self._cl = price
        self._cc = price
        self._cv += lots
        self._ct += price * lots * self._unit

    def roll(self, now_ms: int) -> None:
        """Close the current minute (and any empty minutes) if `now_ms` is in a later one."""
        minute = now_ms // MINUTE_MS
        if minute <= self._cm:
            return
        i = self._cm % self._cap
        self._minute[i] = self._cm
        self._o[i], self._h[i], self._l[i], self._c[i] = self._co, self._ch, self._cl, self._cc
        self._v[i] = self._cv
        self._t[i] = self._ct
        if minute - self._cm > 1:
            gap = np.arange(max(self._cm + 1, minute - self._cap + 1), minute)
            gi = gap % self._cap
            self._minute[gi] = gap
            self._o[gi] = self._h[gi] = self._l[gi] = self._c[gi] = self._cc
            self._v[gi] = 0
            self._t[gi] = 0.0
        self._cm = minute
        self._co = self._ch = self._cl = self._cc
        self._cv = 0
        self._ct = 0.0

    def _close_at(self, minute: int, default: int) -> int:
        i = minute % self._cap
        return int(self._c[i]) if self._minute[i] == minute else default

    def _completed_day(self) -> tuple[int, int, int, int, int, float]:
        if self._cache_minute != self._cm:
            minutes = np.arange(self._cm - DAY_MINUTES + 1, self._cm)
            idx = minutes % self._cap
            idx = idx[self._minute[idx] == minutes]
            oldest = int(self._o[idx[0]]) if len(idx) else self._co
            if len(idx):
                high, low = int(self._h[idx].max()), int(self._l[idx].min())
                volume, turnover = int(self._v[idx].sum()), float(self._t[idx].sum())
            else:
                high, low, volume, turnover = self._co, self._co, 0, 0.0
            prev24 = self._close_at(self._cm - DAY_MINUTES, oldest)
            prev1 = self._close_at(self._cm - 60, oldest)
            self._cache = (prev24, prev1, high, low, volume, turnover)
            self._cache_minute = self._cm
        return self._cache

    def stats(self, now_ms: int) -> Stats24h:
        """Rolling 24 h statistics: the last 1439 complete minutes plus the current one."""
        self.roll(now_ms)
        prev24, prev1, high, low, volume, turnover = self._completed_day()
        return Stats24h(
            prev_price_24h=prev24,
            prev_price_1h=prev1,
            high=max(high, self._ch),
            low=min(low, self._cl),
            volume=volume + self._cv,
            turnover=turnover + self._ct,
        )

    def klines(self, interval: str, limit: int, now_ms: int) -> list[KlineRow]:
        """Candles of `interval` (Bybit's 1 .. 720, D, W, M), newest first, at most `limit`."""
        self.roll(now_ms)
        minutes = np.arange(self._cm - self._cap + 1, self._cm)
        idx = minutes % self._cap
        idx = idx[self._minute[idx] == minutes]
        m = np.append(self._minute[idx], self._cm)
        o = np.append(self._o[idx], self._co)
        h = np.append(self._h[idx], self._ch)
        lo = np.append(self._l[idx], self._cl)
        c = np.append(self._c[idx], self._cc)
        v = np.append(self._v[idx], self._cv)
        t = np.append(self._t[idx], self._ct)
        keys = group_start_minutes(m, interval)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
        ends = np.concatenate((starts[1:] - 1, [len(keys) - 1]))
        starts, ends = starts[-limit:], ends[-limit:]
        rows: list[KlineRow] = []
        for s, e in zip(starts.tolist()[::-1], ends.tolist()[::-1], strict=True):
            rows.append(
                (
                    int(keys[s]) * MINUTE_MS,
                    int(o[s]),
                    int(h[s : e + 1].max()),
                    int(lo[s : e + 1].min()),
                    int(c[e]),
                    int(v[s : e + 1].sum()),
                    float(t[s : e + 1].sum()),
                )
            )
        return rows


KLINE_INTERVALS: Final = frozenset(
    {"1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M"}
)


def group_start_minutes(minutes: IntArray, interval: str) -> IntArray:
    """The start minute (since the epoch, UTC) of the `interval` candle holding each minute."""
    if interval == "M":
        months = minutes.astype("datetime64[m]").astype("datetime64[M]")
        starts: IntArray = months.astype("datetime64[m]").astype(np.int64)
        return starts
    if interval == "W":
        return (minutes - _WEEK_OFFSET_MIN) // 10_080 * 10_080 + _WEEK_OFFSET_MIN
    size = DAY_MINUTES if interval == "D" else int(interval)
    return minutes // size * size
