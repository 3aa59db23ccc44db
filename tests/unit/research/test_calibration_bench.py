"""scripts/benchmarks/mm.py's measuring functions on the 10 s ETHUSDT fixture (figures
exist and are finite, or explicitly unknown; no timing assertion)."""

import math
from pathlib import Path

from research.sweep.data import Recording
from research.sweep.space import Value
from scripts.benchmarks import mm

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"


def _finite_or_unknown(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def test_the_backtest_measures_the_cycle_and_the_report_figures() -> None:
    lines = list(Recording(files=(REPLAY,)).lines())
    run = mm.backtest(lines, {}, timed=True)
    assert run.frames > 0
    assert run.cycle_ns
    assert len(run.cycle_cpu_ns) == len(run.cycle_ns)
    assert set(run.stage_ns) == {"guards", "spread", "skew", "taker_cap", "requote"}
    assert all(samples for samples in run.stage_ns.values())
    p50, p99 = mm.percentile(run.cycle_ns, 50), mm.percentile(run.cycle_ns, 99)
    assert p50 is not None
    assert p99 is not None
    assert 0 < p50 <= p99
    for value in (run.net_bps_per_fill, run.slippage_bps, run.fill_ratio, run.taker_share):
        assert _finite_or_unknown(value)
    if run.fills == 0:
        assert run.net_bps_per_fill is None


def test_the_walk_forward_split_the_fit_and_the_best_point() -> None:
    lines = list(Recording(files=(REPLAY,)).lines())
    train, test = mm.split(lines, mm.TRAIN_FRACTION)
    assert train
    assert test
    assert train[-1][0] < test[0][0]
    assert len(train) + len(test) == len(lines)
    found = mm.fit(train)
    assert found.refusal is not None or (found.a_per_s is not None and found.a_per_s > 0)
    assert len(mm.grid_points(quick=False)) == 100
    assert len(mm.grid_points(quick=True)) == 4
    run = mm.backtest(train, {"vol-sensitivity-ratio": 0.3, "liq-sensitivity-ratio": 0.4})
    assert run.cycle_ns == ()  # not timed
    assert run.cycle_cpu_ns == ()
    point: tuple[tuple[str, Value], ...] = (("a", 1),)
    points = {point: run}
    best = mm.best_point(points)
    assert best == (point if run.fills >= mm.MIN_FILLS else None)


def test_the_settings_carry_the_market_maker_executor_limits() -> None:
    settings = mm.settings_for({"vol-sensitivity-ratio": 0.3})
    assert settings.strategy.kind == "market-maker"
    assert settings.strategy.market_maker.vol_sensitivity_ratio == 0.3
    assert settings.executor.max_orders_per_minute == 1200
    assert settings.executor.strategy_orders_per_minute_by_id == {"mm1": 1200}
    assert "1200" in mm.overrides_text()
