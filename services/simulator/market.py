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
first request. `candles.CandleSeries` keeps those candles plus the ones built from live trades
in a ring buffer and derives the rolling 24 h statistics and klines from them.

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
        cls,
        spec: InstrumentSpec,
        *,
        step_ms: int,
        volatility_scale: float,
        trade_rate_scale: float,
        book_depth_scale: float = 1.0,
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
            book_lots=max(1, round(_BOOK_LOTS_PER_TRADE * mean_lots * book_depth_scale)),
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
