"""The adaptive spread (stage 2): four scores in [0, 1], weighted, mapped into the bounds.

Scores (each clamped to [0, 1]; an unknown input, None, scores 1: no evidence, be cautious):

    volatility  s_v = (sigma - sigma_low) / (sigma_high - sigma_low)
                                                           sigma in bps per √s (estimators.py)
    liquidity   s_l = 1 - D / D_ref                        D: USDT displayed within
                                                           liq-band-bps of the mid, both sides
    latency     s_t = (p95 - p95_low) / (p95_high - p95_low)   order-to-ack p95 in ms
    pnl         s_p = -PnL / L_ref                         realised PnL in USDT over
                                                           pnl-window-s; a gain scores 0

Combination (w_* the sensitivities in [0, 1], not normalised, so a grid can vary each alone):

    x = min(1, w_v·s_v + w_l·s_l + w_t·s_t + w_p·s_p)
    spread_bps = clamp((min_bps + (max_bps - min_bps)·x) · widen, min_bps, max_bps)

`widen` ≥ 1 is the guards' SOFT factor. The result is the total spread (ask - bid) in bps
of the fair price; skew.py turns it into a half-spread floor in price units.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from services.strategy.mm.settings import MarketMakerSettings

BPS = 1e-4


@dataclass(frozen=True, slots=True)
class SpreadInputs:
    """What the scores read; None: not known yet (scores 1)."""

    sigma_bps_per_sqrt_s: float | None
    near_touch_usdt: float | None
    ack_p95_ms: float | None
    realised_pnl_usdt: float | None  # over pnl-window-s; a loss is negative


@dataclass(frozen=True, slots=True)
class SpreadScores:
    """The four scores, each in [0, 1] (also exported as metrics)."""

    volatility: float
    liquidity: float
    latency: float
    pnl: float


@dataclass(frozen=True, slots=True)
class AdaptiveSpread:
    spread_bps: float  # total spread, in [min-spread-bps, max-spread-bps]
    scores: SpreadScores


def clamp01(x: float) -> float:
    """Return x clamped to [0, 1] (NaN counts as the worst case, 1)."""
    if math.isnan(x):
        return 1.0
    return min(1.0, max(0.0, x))


def ramp_score(value: float | None, low: float, high: float) -> float:
    """Return 0 at or below `low`, 1 at or above `high`, linear between; None scores 1."""
    if value is None:
        return 1.0
    if high <= low:
        return 1.0 if value >= high else 0.0
    return clamp01((value - low) / (high - low))


def liquidity_score(near_touch_usdt: float | None, reference_usdt: float) -> float:
    """Return 1 - D / D_ref clamped to [0, 1]: a thin book scores high (None scores 1)."""
    if near_touch_usdt is None:
        return 1.0
    return clamp01(1.0 - near_touch_usdt / reference_usdt)


def pnl_score(realised_pnl_usdt: float | None, loss_reference_usdt: float) -> float:
    """Return -PnL / L_ref clamped to [0, 1]: losses raise it, a gain scores 0."""
    if realised_pnl_usdt is None:
        return 1.0
    return clamp01(-realised_pnl_usdt / loss_reference_usdt)


def near_touch_usdt(
    bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]], band_bps: float
) -> float | None:
    """Return the USDT displayed within `band_bps` of the mid, both sides (None: no mid).

    Levels are (price, qty), best first; the mid is the two best prices' mean.
    """
    bid_levels, ask_levels = list(bids), list(asks)
    if not bid_levels or not ask_levels:
        return None
    mid = (bid_levels[0][0] + ask_levels[0][0]) * 0.5
    band = mid * band_bps * BPS
    total = sum(p * q for p, q in bid_levels if mid - p <= band)
    return total + sum(p * q for p, q in ask_levels if p - mid <= band)


def scores_of(inputs: SpreadInputs, settings: MarketMakerSettings) -> SpreadScores:
    """Return the four scores of `inputs` (formulas in the module docstring)."""
    s = settings
    return SpreadScores(
        volatility=ramp_score(
            inputs.sigma_bps_per_sqrt_s, s.vol_low_bps_per_sqrt_s, s.vol_high_bps_per_sqrt_s
        ),
        liquidity=liquidity_score(inputs.near_touch_usdt, s.liq_reference_usdt),
        latency=ramp_score(inputs.ack_p95_ms, s.latency_low_ms, s.latency_high_ms),
        pnl=pnl_score(inputs.realised_pnl_usdt, s.pnl_loss_reference_usdt),
    )


def adaptive_spread(
    inputs: SpreadInputs, settings: MarketMakerSettings, widen_ratio: float = 1.0
) -> AdaptiveSpread:
    """Return the total spread in bps and the scores behind it (see the module docstring)."""
    s = settings
    scores = scores_of(inputs, s)
    x = min(
        1.0,
        s.vol_sensitivity_ratio * scores.volatility
        + s.liq_sensitivity_ratio * scores.liquidity
        + s.latency_sensitivity_ratio * scores.latency
        + s.pnl_sensitivity_ratio * scores.pnl,
    )
    raw_bps = (s.min_spread_bps + (s.max_spread_bps - s.min_spread_bps) * x) * max(1.0, widen_ratio)
    return AdaptiveSpread(min(s.max_spread_bps, max(s.min_spread_bps, raw_bps)), scores)
