"""Estimators: sigma per √s, ack p95, and the intensity fit on seeded synthetic data."""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.strategy.mm.estimators import (
    NS_PER_S,
    AckLatency,
    IntensityEstimator,
    MidVolatility,
    fit_intensity,
)

STEP_S = 0.1
STEP_NS = int(STEP_S * NS_PER_S)


def _synthetic_depths(a_per_s: float, k_per_tick: float, steps: int, seed: int) -> np.ndarray:
    # A trade reaches some depth in a step with probability A·step; its depth is Exp(k), so
    # P(depth ≥ δ) = A·step·e^(-kδ) and λ(δ) = A·e^(-kδ) exactly.
    rng = np.random.default_rng(seed)
    traded = rng.random(steps) < a_per_s * STEP_S
    depths = rng.exponential(1.0 / k_per_tick, steps)
    return np.where(traded, depths, np.nan)


def test_fit_recovers_known_a_and_k_from_synthetic_poisson_data() -> None:
    depths = _synthetic_depths(a_per_s=2.0, k_per_tick=0.3, steps=100_000, seed=7)
    fit = fit_intensity(depths, levels=20, step_s=STEP_S, tick=0.01, min_count=20)
    assert not isinstance(fit, str)
    assert fit.a_per_s == pytest.approx(2.0, rel=0.1)
    assert fit.k_per_tick == pytest.approx(0.3, rel=0.1)
    assert fit.k_per_price == pytest.approx(fit.k_per_tick / 0.01)
    assert fit.r_squared > 0.95


def test_fit_refuses_too_few_points_and_says_why() -> None:
    assert fit_intensity(np.array([]), 10, STEP_S, 0.01) == "no steps recorded"
    sparse = np.array([0.5, np.nan, np.nan, 1.5])
    reason = fit_intensity(sparse, levels=10, step_s=STEP_S, tick=0.01)
    assert isinstance(reason, str)
    assert "need 3" in reason


def test_estimator_counts_the_deepest_trade_per_step_and_fits() -> None:
    rng = np.random.default_rng(11)
    est = IntensityEstimator(tick=0.01, window_s=10_000.0, step_s=STEP_S, levels=15)
    mid = 100.005
    est.advance(0, mid)
    assert est.fit() is None
    assert est.refusal == "no steps recorded"
    for i, depth in enumerate(_synthetic_depths(1.5, 0.4, 50_000, seed=3)):
        if not math.isnan(depth):
            buy = bool(rng.random() < 0.5)  # a buy reaches above the mid, a sell below
            est.on_trade(mid + depth * 0.01 if buy else mid - depth * 0.01, taker_buy=buy)
        est.advance((i + 1) * STEP_NS, mid)
    fit = est.fit(min_count=20)
    assert fit is not None
    assert est.refusal is None
    assert fit.a_per_s == pytest.approx(1.5, rel=0.1)
    assert fit.k_per_tick == pytest.approx(0.4, rel=0.1)


def test_estimator_window_is_bounded_and_gaps_are_empty_steps() -> None:
    est = IntensityEstimator(tick=0.01, window_s=1.0, step_s=STEP_S, levels=5)
    est.advance(0, 100.0)
    est.on_trade(100.02, taker_buy=True)
    est.on_trade(99.97, taker_buy=False)  # 3 ticks below: the deepest
    est.advance(STEP_NS, 100.0)
    assert est.steps() == 1
    est.advance(1_000 * NS_PER_S, 100.0)
    assert est.steps() == 10  # the window's 10 steps, never more


def test_sigma_of_a_known_random_walk() -> None:
    rng = np.random.default_rng(5)
    vol = MidVolatility(window_s=10_000.0)
    log_mid = math.log(2000.0)
    for i in range(5_000):  # 1 bps per √s at 0.1 s steps: 1e-4 · √0.1 per step
        log_mid += rng.normal(0.0, 1e-4 * math.sqrt(0.1))
        vol.add_mid(i * STEP_NS, math.exp(log_mid))
    sigma = vol.sigma_bps_per_sqrt_s(5_000 * STEP_NS)
    assert sigma == pytest.approx(1.0, rel=0.05)


def test_sigma_is_none_until_enough_returns_and_after_the_window() -> None:
    vol = MidVolatility(window_s=1.0, min_returns=3)
    vol.add_mid(0, 100.0)
    vol.add_mid(STEP_NS, 100.01)
    assert vol.sigma_per_sqrt_s(STEP_NS) is None
    for i in range(2, 6):
        vol.add_mid(i * STEP_NS, 100.0 + 0.01 * (i % 2))
    assert vol.sigma_per_sqrt_s(6 * STEP_NS) is not None
    assert vol.sigma_per_sqrt_s(100 * NS_PER_S) is None


def test_ack_p95_nearest_rank_and_none_when_empty() -> None:
    acks = AckLatency(window_s=60.0, min_samples=5)
    assert acks.p95_ms(0) is None
    for i in range(1, 101):
        acks.add(i, float(i))
    assert acks.p95_ms(200) == 95.0
    assert acks.p95_ms(61 * NS_PER_S) is None


@given(st.lists(st.floats(0, 1e4), min_size=5, max_size=200))
def test_ack_p95_lies_within_the_samples(latencies: list[float]) -> None:
    acks = AckLatency(window_s=60.0, max_samples=100, min_samples=5)
    for i, latency in enumerate(latencies):
        acks.add(i, latency)
    p95 = acks.p95_ms(len(latencies))
    kept = latencies[-100:]
    assert p95 is not None
    assert min(kept) <= p95 <= max(kept)


@given(
    steps=st.lists(
        st.tuples(st.integers(1, 400_000_000), st.floats(-0.002, 0.002)), min_size=0, max_size=300
    ),
    max_samples=st.integers(2, 50),
)
@example(steps=[(1, 0.001953125), (1, 1e-09), (1, 0.0)], max_samples=2)  # found by CI
def test_sigma_kept_by_running_sums_equals_the_windows_own(
    steps: list[tuple[int, float]], max_samples: int
) -> None:
    sigma = MidVolatility(window_s=2.0, max_samples=max_samples, min_returns=2)
    sigma.RESUM_EVERY = 7  # exact re-sums often too
    t, mid, kept = 0, 100.0, []  # kept: (ts, r, dt) as the window should hold them
    sigma.add_mid(t, mid)
    for dt, move in steps:
        t, last = t + dt, mid
        mid = last * math.exp(move)
        sigma.add_mid(t, mid)
        kept = [*kept, (t, math.log(mid / last), dt)][-max_samples:]
        kept = [k for k in kept if k[0] > t - 2 * 10**9]
        got = sigma.sigma_per_sqrt_s(t)
        if len(kept) < 2:
            assert got is None
            continue
        rs = [r for _, r, _ in kept]
        mean = sum(rs) / len(rs)
        var = sum((r - mean) ** 2 for r in rs) / (len(rs) - 1)
        mean_dt_s = sum(d for _, _, d in kept) / len(kept) / 1e9
        want = math.sqrt(var / mean_dt_s)
        scale = max(abs(r) for r in rs) / math.sqrt(mean_dt_s)  # sigma's own units
        assert got == pytest.approx(want, rel=1e-6, abs=1e-6 * scale)


@given(
    acks=st.lists(
        st.tuples(st.integers(0, 3_000_000_000), st.floats(0.1, 500.0)), min_size=0, max_size=200
    ),
    max_samples=st.integers(1, 40),
)
def test_ack_p95_kept_sorted_equals_a_sort_of_the_window(
    acks: list[tuple[int, float]], max_samples: int
) -> None:
    p95 = AckLatency(window_s=1.0, max_samples=max_samples, min_samples=1)
    t, held = 0, []  # held: (ts, ms) as the window should hold them
    for dt, ms in acks:
        t += dt
        p95.add(t, ms)
        held = [*held, (t, ms)][-max_samples:]
        held = [h for h in held if h[0] > t - 10**9]
        ordered = sorted(ms for _, ms in held)
        want = ordered[math.ceil(0.95 * len(ordered)) - 1] if ordered else None
        assert p95.p95_ms(t) == want
