"""One trial = one backtest: the swept values as `--set` overrides, a number as its score.

`BacktestJob` holds what every trial shares (the settings file, fixed `--set` overrides,
the run's knobs); `run_trial` loads the settings as scripts/backtest does
(`research.backtest.settings.load_settings`, as strict as the live loader) and runs the
`Engine` over the lines or the recording's columnar cache (`run_backtest`: its summary
alone). The score is a numeric field of the summary (`pnl_net` by default) or of the
report's metrics (`research.report.metrics`: `sharpe_annualised`, `net_bps_per_notional`,
`max_drawdown_usdt` ...). A metric can be unknown (no fills: no net bps); `score_result`
then gives None, never 0, and the trial is pruned rather than ranked.
"""

import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from research.backtest.columnar import ColumnarRecording
from research.backtest.engine import BacktestError, Engine, venue_grids
from research.backtest.result import BacktestResult, Summary
from research.backtest.settings import load_settings
from research.backtest.symbols import run_refusal
from research.report.metrics import Metrics, compute
from research.sweep.space import Value, toml_value

DEFAULT_OBJECTIVE: Final = "pnl_net"
NUMERIC_TYPES: Final = (int, Decimal)


def objectives() -> tuple[str, ...]:
    """The summary fields a sweep can score on (the numeric ones)."""
    hints = typing.get_type_hints(Summary)
    return tuple(
        name
        for name in Summary.__struct_fields__
        if hints[name] in NUMERIC_TYPES and name not in ("first_ns", "last_ns", "frames")
    )


def metric_objectives() -> tuple[str, ...]:
    """The report's metrics a sweep can score on (the numeric ones, not in the summary)."""
    hints = typing.get_type_hints(Metrics)
    numeric = (int, float, Decimal, int | None, float | None, Decimal | None)
    return tuple(
        name
        for name in Metrics.__struct_fields__
        if hints[name] in numeric
        and not name.endswith("_ns")
        and name not in objectives()
        and name not in ("returns", "duration_s")
    )


def score_result(result: BacktestResult, objective: str) -> float | None:
    """`objective` of a run: a summary field, or a metric (None when it is unknown)."""
    if objective in objectives():
        return score(result.summary, objective)
    if objective not in metric_objectives():
        known = ", ".join((*objectives(), *metric_objectives()))
        raise ValueError(f"--objective {objective}: not a number of the result (known: {known})")
    value = getattr(compute(result), objective)
    return None if value is None else float(value)


def score(summary: Summary, objective: str) -> float:
    """The summary's `objective` field as a float (ValueError naming it otherwise)."""
    if objective not in objectives():
        raise ValueError(
            f"--objective {objective}: not a numeric summary field"
            f" (known: {', '.join(objectives())})"
        )
    value = getattr(summary, objective)
    assert isinstance(value, NUMERIC_TYPES)
    return float(value)


@dataclass(frozen=True, slots=True)
class BacktestJob:
    """What every trial of a sweep shares."""

    settings_path: Path
    symbol: str | tuple[str, ...]  # the run's symbol, or a market maker's symbols
    fixed: tuple[str, ...] = ()  # --set key=value applied to every trial
    knobs: Mapping[str, Any] = field(default_factory=dict)  # BacktestSettings fields


def overrides(values: Mapping[str, Value]) -> list[str]:
    """Swept values as `--set` pairs (TOML values)."""
    return [f"{key}={toml_value(value)}" for key, value in sorted(values.items())]


def run_trial(
    job: BacktestJob,
    lines: Iterable[tuple[int, bytes]] | ColumnarRecording,
    values: Mapping[str, Value],
) -> BacktestResult:
    """One backtest with `values` over the job's settings; its result."""
    settings = load_settings(
        job.settings_path, job.symbol, [*job.fixed, *overrides(values)], **job.knobs
    )
    return Engine(settings, lines).run()


def prepare(job: BacktestJob, source: Iterable[tuple[int, bytes]] | ColumnarRecording) -> None:
    """Before any trial: refuse a strategy that cannot trade the job's symbols (once, not in
    every trial), and build the columnar cache of `source` (if it is one) for the job's
    venue (workers forked after this share the file instead of each building it)."""
    settings = load_settings(job.settings_path, job.symbol, list(job.fixed), **job.knobs)
    refusal = run_refusal(settings)
    if refusal is not None:
        raise BacktestError(refusal)
    if isinstance(source, ColumnarRecording):
        source.open(venue_grids(settings)).close()


def run_backtest(
    job: BacktestJob, lines: Iterable[tuple[int, bytes]], values: Mapping[str, Value]
) -> Summary:
    """One backtest with `values` over the job's settings; its summary."""
    return run_trial(job, lines, values).summary
