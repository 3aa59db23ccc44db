"""The adaptive spread: scores in [0, 1], the spread inside its bounds, hand-computed cases."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.spread import (
    SpreadInputs,
    adaptive_spread,
    near_touch_usdt,
    ramp_score,
    scores_of,
)

SETTINGS = MarketMakerSettings()
maybe_float = st.none() | st.floats(allow_nan=True, allow_infinity=True)
inputs = st.builds(SpreadInputs, maybe_float, maybe_float, maybe_float, maybe_float)
weights = st.floats(min_value=0, max_value=1)


@given(inputs)
def test_every_score_is_in_the_unit_interval(x: SpreadInputs) -> None:
    scores = scores_of(x, SETTINGS)
    for score in (scores.volatility, scores.liquidity, scores.latency, scores.pnl):
        assert 0.0 <= score <= 1.0


@given(inputs, st.floats(allow_nan=True), weights, weights, weights, weights)
def test_the_spread_stays_within_its_bounds_for_any_inputs(
    x: SpreadInputs, widen: float, w_v: float, w_l: float, w_t: float, w_p: float
) -> None:
    settings = MarketMakerSettings(
        vol_sensitivity_ratio=w_v,
        liq_sensitivity_ratio=w_l,
        latency_sensitivity_ratio=w_t,
        pnl_sensitivity_ratio=w_p,
    )
    spread = adaptive_spread(x, settings, widen_ratio=widen).spread_bps
    assert settings.min_spread_bps <= spread <= settings.max_spread_bps


@given(st.floats(0, 10), st.floats(0, 10))
def test_more_volatility_never_narrows_the_spread(a: float, b: float) -> None:
    low, high = sorted((a, b))
    spread_low = adaptive_spread(SpreadInputs(low, 1e5, 100.0, 0.0), SETTINGS).spread_bps
    spread_high = adaptive_spread(SpreadInputs(high, 1e5, 100.0, 0.0), SETTINGS).spread_bps
    assert spread_low <= spread_high


def test_calm_deep_fast_profitable_market_quotes_the_minimum() -> None:
    x = SpreadInputs(
        sigma_bps_per_sqrt_s=0.1, near_touch_usdt=1e6, ack_p95_ms=10.0, realised_pnl_usdt=5.0
    )
    result = adaptive_spread(x, SETTINGS)
    assert result.spread_bps == SETTINGS.min_spread_bps
    assert (result.scores.volatility, result.scores.liquidity) == (0.0, 0.0)


def test_hand_computed_spread() -> None:
    # sigma 1.1 bps/√s: (1.1 - 0.2) / 1.8 = 0.5; 50k of 200k near the touch: 0.75;
    # p95 125 ms: 0.5; a 25 USDT loss of 50: 0.5.
    x = SpreadInputs(1.1, 50_000.0, 125.0, -25.0)
    result = adaptive_spread(x, SETTINGS)
    weighted = 0.6 * 0.5 + 0.4 * 0.75 + 0.2 * 0.5 + 0.2 * 0.5  # 0.8
    assert result.scores.liquidity == pytest.approx(0.75)
    assert result.spread_bps == pytest.approx(0.6 + 1.9 * weighted)


def test_unknown_inputs_score_the_worst() -> None:
    scores = scores_of(SpreadInputs(None, None, None, None), SETTINGS)
    assert (scores.volatility, scores.liquidity, scores.latency, scores.pnl) == (1, 1, 1, 1)


def test_ramp_is_linear_between_its_bounds() -> None:
    assert ramp_score(150.0, 100.0, 200.0) == 0.5
    assert ramp_score(math.inf, 100.0, 200.0) == 1.0


def test_near_touch_counts_levels_within_the_band_both_sides() -> None:
    bids = [(100.0, 2.0), (99.99, 1.0), (99.0, 50.0)]
    asks = [(100.01, 3.0), (101.0, 50.0)]
    # mid 100.005; 2 bps band = 0.020001: 99.99 in, 99.0 and 101.0 out
    total = near_touch_usdt(bids, asks, band_bps=2.0)
    assert total == pytest.approx(200.0 + 99.99 + 300.03)
    assert near_touch_usdt([], asks, band_bps=2.0) is None
