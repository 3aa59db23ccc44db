"""The market maker's parameters: spread scores, GLFT, inventory limits, guards, taker cap.

Keys are kebab-case (`min-spread-bps`), every value is bounded and carries its unit in its
name: `_bps` basis points of the mid, `_bps_per_sqrt_s` volatility, `_ms` / `_s` durations,
`_usdt` notional or PnL, `_per_s` rates, `_per_price` per price unit (USDT per coin),
`_ratio` a dimensionless multiplier or share, `_fills` / `_count` counts.
"""

from typing import Annotated, Literal

import msgspec

from shared.settings import Settings

Bps = Annotated[float, msgspec.Meta(gt=0, le=1_000)]
Weight = Annotated[float, msgspec.Meta(ge=0, le=1)]  # a score's sensitivity
Share = Annotated[float, msgspec.Meta(gt=0, le=1)]
Usdt = Annotated[float, msgspec.Meta(gt=0, le=1e9)]
Millis = Annotated[float, msgspec.Meta(gt=0, le=600_000)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Multiple = Annotated[float, msgspec.Meta(ge=1, le=100)]
Fills = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
VolBps = Annotated[float, msgspec.Meta(ge=0, le=1_000)]  # sigma, basis points per √s
Risk = Annotated[float, msgspec.Meta(gt=0, le=1e6)]  # gamma, ξ: per (price unit · order size)


class MarketMakerSettings(Settings, frozen=True, kw_only=True):
    """One market maker's pricing and risk parameters (defaults: the audited bot's figures)."""

    # What to quote with no `symbols` listed: "scanner" = the scanner's one symbol
    # (UniverseChanged); "market-making" = its market-making selection (MarketMakingUniverse)
    follow: Literal["scanner", "market-making"] = "scanner"

    # adaptive spread (spread.py): total spread in [min, max], seed example 0.6-2.5 bps
    min_spread_bps: Bps = 0.6
    max_spread_bps: Bps = 2.5
    vol_sensitivity_ratio: Weight = 0.6
    liq_sensitivity_ratio: Weight = 0.4
    latency_sensitivity_ratio: Weight = 0.2
    pnl_sensitivity_ratio: Weight = 0.2
    vol_low_bps_per_sqrt_s: VolBps = 0.2  # sigma at or below: volatility score 0
    vol_high_bps_per_sqrt_s: VolBps = 2.0  # sigma at or above: volatility score 1
    liq_band_bps: Bps = 2.0  # displayed size within this of the mid counts as near the touch
    liq_reference_usdt: Usdt = 200_000.0  # that much near the touch (both sides): score 0
    latency_low_ms: Millis = 50.0  # order-to-ack p95 at or below: latency score 0
    latency_high_ms: Millis = 200.0  # at or above: latency score 1 (the seed's p95 gate)
    pnl_window_s: Seconds = 900.0  # realised PnL over this window feeds the PnL score
    pnl_loss_reference_usdt: Usdt = 50.0  # a loss this large over the window: PnL score 1
    # GLFT (skew.py): A per s, k per price unit, gamma = ξ per (price unit · order size)
    gamma_per_price: Risk = 0.05
    xi_per_price: Risk = 0.05
    skew_scale_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0  # raw skew is strong
    order_notional_usdt: Usdt = 100.0  # Δ: one quote's size (this / mid, floored to the lot)
    max_symbol_inventory_usdt: Usdt = 1_000.0  # |position| · mid per symbol
    max_total_inventory_usdt: Usdt = 3_000.0  # Σ |position| · mid over the symbols
    # guards (guards.py)
    inventory_hard_ratio: Multiple = 1.5  # over limit: SOFT; over limit x this: HARD
    window_loss_soft_usdt: Usdt = 25.0  # realised loss over pnl-window-s
    window_loss_hard_usdt: Usdt = 50.0
    daily_loss_soft_usdt: Usdt = 100.0
    daily_loss_hard_usdt: Usdt = 200.0
    ack_p95_soft_ms: Millis = 200.0
    ack_p95_hard_ms: Millis = 500.0
    feed_stale_ms: Millis = 1_000.0  # no book update this long: HARD for the symbol
    reject_rate_soft_ratio: Share = 0.05  # rejected / sent over reject-window-s
    reject_rate_hard_ratio: Share = 0.2
    reject_window_s: Seconds = 60.0
    soft_widen_ratio: Multiple = 1.5  # SOFT: the spread x this (still clamped to the bounds)
    soft_size_ratio: Share = 0.5  # SOFT: the quote size x this
    # taker cap (taker_cap.py): fills per rolling hour, 30-75 by regime in the audited bot
    taker_cap_calm_fills: Fills = 75
    taker_cap_normal_fills: Fills = 50
    taker_cap_volatile_fills: Fills = 30
    calm_below_score_ratio: Share = 0.33  # volatility score below this: calm
    volatile_from_score_ratio: Share = 0.67  # at or above this: volatile
    # estimators (estimators.py)
    vol_window_s: Seconds = 300.0
    ack_window_s: Seconds = 300.0
    intensity_window_s: Seconds = 600.0  # the doc's §4.1: a 10-minute window
    intensity_step_s: Seconds = 0.1  # depth recorded per step
    intensity_levels_count: Annotated[int, msgspec.Meta(ge=3, le=1_000)] = 70  # grid, in ticks
    # A and k to quote with until the online estimator's first fit (e.g. a calibration's
    # fragment, research/calibration); both or neither; none: the adaptive spread alone
    intensity_a_per_s: Annotated[float, msgspec.Meta(gt=0, le=1e9)] | None = None
    intensity_k_per_tick: Annotated[float, msgspec.Meta(gt=0, le=1e6)] | None = None

    def __post_init__(self) -> None:
        if getattr(self, "symbols", ()) and self.follow != "scanner":  # the section's list
            raise ValueError(
                f'follow = "{self.follow}" needs symbols = [] (a list follows nothing)'
            )
        if (self.intensity_a_per_s is None) != (self.intensity_k_per_tick is None):
            raise ValueError(
                "intensity-a-per-s and intensity-k-per-tick go together: both or neither"
            )
        _ordered(self, "min-spread-bps", "max-spread-bps")
        _ordered(self, "vol-low-bps-per-sqrt-s", "vol-high-bps-per-sqrt-s")
        _ordered(self, "latency-low-ms", "latency-high-ms")
        _ordered(self, "window-loss-soft-usdt", "window-loss-hard-usdt")
        _ordered(self, "daily-loss-soft-usdt", "daily-loss-hard-usdt")
        _ordered(self, "ack-p95-soft-ms", "ack-p95-hard-ms")
        _ordered(self, "reject-rate-soft-ratio", "reject-rate-hard-ratio")
        _ordered(self, "calm-below-score-ratio", "volatile-from-score-ratio")
        _ordered(self, "taker-cap-volatile-fills", "taker-cap-normal-fills", strict=False)
        _ordered(self, "taker-cap-normal-fills", "taker-cap-calm-fills", strict=False)
        _ordered(self, "order-notional-usdt", "max-symbol-inventory-usdt", strict=False)
        _ordered(self, "max-symbol-inventory-usdt", "max-total-inventory-usdt", strict=False)


def _ordered(settings: MarketMakerSettings, low: str, high: str, *, strict: bool = True) -> None:
    lo = getattr(settings, low.replace("-", "_"))
    hi = getattr(settings, high.replace("-", "_"))
    if lo > hi or (strict and lo == hi):
        relation = "<" if strict else "<="
        raise ValueError(f"{low} ({lo}) must be {relation} {high} ({hi})")
