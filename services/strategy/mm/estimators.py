"""Online estimators for the stages: sigma, order-to-ack p95, trading intensity A·e^(-kδ).

All are pure (time passed in as ns), bounded in memory (a deque with a maximum length) and
answer None, never 0, when they have too little data.

- sigma: the sample standard deviation of mid log returns r_i = ln(m_i / m_{i-1}) over the
  window, divided by √(mean Δt in s): per √s, in log units (x 1e4 = bps per √s,
  x mid = price units per √s, as GLFT wants).
- order-to-ack p95: the nearest-rank 95th percentile of latencies (ms) within the window.
- intensity (market-making doc §4.1, counting and regression): at fixed steps, the deepest
  distance from the previous step's mid that a trade reached (buy taker: price - mid, sell
  taker: mid - price), in ticks. λ(δ) = #(steps with depth ≥ δ) / (steps · step_s), per s,
  on the grid δ_i = i + 0.5 ticks; least squares on ln λ = ln A - k·δ over the points with
  at least `min_count` steps. A per s, k per tick (÷ tick = per price unit).
"""

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.strategy.mm.settings import MarketMakerSettings

NS_PER_S = 1_000_000_000


class MidVolatility:
    """sigma of mid log returns over a rolling window (see the module docstring).

    O(1) a call: the window's mean return and sum of squared deviations (Welford's update,
    run backwards for a return that leaves) and the sum of its intervals are kept as returns
    enter and leave it (a quote cycle asks for sigma every time); both are recomputed exactly
    (two passes, `math.fsum`) every `RESUM_EVERY` changes so float drift stays bounded.
    """

    RESUM_EVERY = 65_536

    def __init__(self, window_s: float, max_samples: int = 20_000, min_returns: int = 10) -> None:
        self._window_ns = int(window_s * NS_PER_S)
        self._min_returns = max(2, min_returns)
        self._max_samples = max_samples
        self._returns: deque[tuple[int, float, int]] = deque()  # ts, r, dt (ns)
        self._last: tuple[int, float] | None = None
        self._mean_r = self._m2 = 0.0  # of the returns held (Welford)
        self._sum_dt_ns = 0
        self._changes = 0

    def add_mid(self, ts_ns: int, mid: float) -> None:
        """Add a mid price observed at `ts_ns` (non-positive or non-finite mids are ignored)."""
        if not (mid > 0 and math.isfinite(mid)):
            return
        last = self._last
        if last is not None and ts_ns > last[0]:
            if len(self._returns) >= self._max_samples:
                self._drop_oldest()
            r, dt = math.log(mid / last[1]), ts_ns - last[0]
            self._returns.append((ts_ns, r, dt))
            delta = r - self._mean_r
            self._mean_r += delta / len(self._returns)
            self._m2 += delta * (r - self._mean_r)
            self._sum_dt_ns += dt
            self._changed()
        if last is None or ts_ns > last[0]:
            self._last = (ts_ns, mid)

    def _drop_oldest(self) -> None:
        _, r, dt = self._returns.popleft()
        n = len(self._returns)
        if n == 0:
            self._mean_r = self._m2 = 0.0
        else:
            m2_before, delta = self._m2, r - self._mean_r
            self._mean_r -= delta / n
            self._m2 -= delta * (r - self._mean_r)
            if self._m2 < 1e-6 * m2_before:  # the return that left held most of it: the
                self._recount()  # subtraction lost the rest's digits, count them again
                return
        self._sum_dt_ns -= dt
        self._changed()

    def _changed(self) -> None:
        self._changes += 1
        if self._changes >= self.RESUM_EVERY:
            self._recount()

    def _recount(self) -> None:
        """The window's figures counted again exactly (two passes)."""
        self._changes = 0
        returns = self._returns
        n = len(returns)
        self._mean_r = math.fsum(r for _, r, _ in returns) / n if n else 0.0
        self._m2 = math.fsum((r - self._mean_r) ** 2 for _, r, _ in returns)
        self._sum_dt_ns = sum(dt for _, _, dt in returns)

    def sigma_per_sqrt_s(self, now_ns: int) -> float | None:
        """Return sigma per √s in log units, or None with fewer than `min_returns` returns."""
        returns = self._returns
        while returns and returns[0][0] <= now_ns - self._window_ns:
            self._drop_oldest()
        n = len(returns)
        if n < self._min_returns:
            return None
        var = max(0.0, self._m2 / (n - 1))
        mean_dt_s = self._sum_dt_ns / n / NS_PER_S
        return math.sqrt(var / mean_dt_s)

    def sigma_bps_per_sqrt_s(self, now_ns: int) -> float | None:
        """Return sigma in bps per √s (None: too few returns)."""
        sigma = self.sigma_per_sqrt_s(now_ns)
        return None if sigma is None else sigma * 1e4


class AckLatency:
    """Order-to-ack latencies over a rolling window and their p95: the window is also kept
    sorted (`bisect`), so a p95 is an index, not a sort, on every cycle."""

    def __init__(self, window_s: float, max_samples: int = 5_000, min_samples: int = 5) -> None:
        self._window_ns = int(window_s * NS_PER_S)
        self._min_samples = max(1, min_samples)
        self._max_samples = max_samples
        self._samples: deque[tuple[int, float]] = deque()
        self._ordered: list[float] = []

    def add(self, ts_ns: int, latency_ms: float) -> None:
        """Record one order's sent-to-acknowledged latency, measured at `ts_ns`."""
        if len(self._samples) >= self._max_samples:
            self._drop_oldest()
        self._samples.append((ts_ns, latency_ms))
        bisect.insort(self._ordered, latency_ms)

    def _drop_oldest(self) -> None:
        _, latency_ms = self._samples.popleft()
        del self._ordered[bisect.bisect_left(self._ordered, latency_ms)]

    def p95_ms(self, now_ns: int) -> float | None:
        """Return the nearest-rank p95 in ms, or None with fewer than `min_samples`."""
        samples = self._samples
        while samples and samples[0][0] <= now_ns - self._window_ns:
            self._drop_oldest()
        if len(samples) < self._min_samples:
            return None
        ordered = self._ordered
        return ordered[math.ceil(0.95 * len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class IntensityFit:
    """λ(δ) = A·e^(-kδ): A per s, k per tick and per price unit; the fit's size and R²."""

    a_per_s: float
    k_per_tick: float
    k_per_price: float
    points: int
    r_squared: float


def fit_intensity(
    depths_ticks: npt.NDArray[np.float64],
    levels: int,
    step_s: float,
    tick: float,
    min_points: int = 3,
    min_count: int = 5,
) -> IntensityFit | str:
    """Return the fit of A and k, or why there is none (see the module docstring).

    `depths_ticks` holds one depth per step (NaN: no trade in the step).
    """
    steps = len(depths_ticks)
    if steps == 0:
        return "no steps recorded"
    grid = np.arange(levels, dtype=np.float64) + 0.5
    counts = (depths_ticks[:, None] >= grid[None, :] - 1e-9).sum(axis=0)
    keep = counts >= min_count
    points = int(keep.sum())
    if points < max(2, min_points):
        return f"{points} depth levels with at least {min_count} steps, need {min_points}"
    x = grid[keep]
    y = np.log(counts[keep] / (steps * step_s))
    slope, intercept = np.polyfit(x, y, 1)
    if not slope < 0:
        return f"no decay with depth (slope {slope:.4g} per tick)"
    residual = y - (intercept + slope * x)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    k = -float(slope)
    return IntensityFit(math.exp(float(intercept)), k, k / tick, points, r2)


def seeded_fit(settings: MarketMakerSettings, tick: float) -> IntensityFit | None:
    """The settings' A and k (a calibration's), until the estimator's first own fit."""
    a, k = settings.intensity_a_per_s, settings.intensity_k_per_tick
    if a is None or k is None:
        return None
    return IntensityFit(a, k, k / tick, points=0, r_squared=math.nan)


class IntensityEstimator:
    """The counting estimator of λ(δ) = A·e^(-kδ) over a rolling window of steps."""

    def __init__(self, tick: float, window_s: float, step_s: float, levels: int) -> None:
        self.tick = tick
        self.step_s = step_s
        self.levels = levels
        self._step_ns = max(1, int(step_s * NS_PER_S))
        self._depths: deque[float] = deque(maxlen=max(1, int(window_s / step_s)))
        self._step_end_ns: int | None = None
        self._mid: float | None = None  # the previous step's closing mid
        self._deepest = math.nan  # in ticks, this step
        self.refusal: str | None = "no fit yet"  # why the last fit returned None

    def on_trade(self, price: float, taker_buy: bool) -> None:
        """Note a trade in the current step (ignored before the first mid)."""
        if self._mid is None:
            return
        depth = (price - self._mid if taker_buy else self._mid - price) / self.tick
        if not depth <= self._deepest:  # NaN-aware max
            self._deepest = round(depth, 6)

    def advance(self, now_ns: int, mid: float) -> None:
        """Close every step that ended by `now_ns`; `mid` becomes the next step's mid."""
        if self._step_end_ns is None:
            self._step_end_ns = now_ns + self._step_ns
        elif now_ns >= self._step_end_ns:
            closed = (now_ns - self._step_end_ns) // self._step_ns + 1
            self._depths.append(self._deepest)
            empty = min(closed - 1, self._depths.maxlen or 0)
            self._depths.extend([math.nan] * empty)
            self._step_end_ns += closed * self._step_ns
            self._deepest = math.nan
        else:
            return
        self._mid = mid

    def steps(self) -> int:
        """Return how many closed steps the window holds."""
        return len(self._depths)

    def fit(self, min_points: int = 3, min_count: int = 5) -> IntensityFit | None:
        """Return the fit over the window, or None (the reason is in `refusal`)."""
        depths = np.fromiter(self._depths, dtype=np.float64, count=len(self._depths))
        result = fit_intensity(depths, self.levels, self.step_s, self.tick, min_points, min_count)
        if isinstance(result, str):
            self.refusal = result
            return None
        self.refusal = None
        return result
