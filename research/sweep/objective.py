"""One trial = one backtest: the swept values as `--set` overrides, a summary field as score.

`BacktestJob` holds what every trial shares (the settings file, fixed `--set` overrides,
the run's knobs); `run_backtest` loads the settings as scripts/backtest does
(`research.backtest.settings.load_settings`, as strict as the live loader), runs the
`Engine` over the lines and returns the result's summary. The score is a numeric summary
field (`pnl_net` by default).
"""

import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from research.backtest.engine import Engine
from research.backtest.result import Summary
from research.backtest.settings import load_settings
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
    symbol: str
    fixed: tuple[str, ...] = ()  # --set key=value applied to every trial
    knobs: Mapping[str, Any] = field(default_factory=dict)  # BacktestSettings fields


def overrides(values: Mapping[str, Value]) -> list[str]:
    """Swept values as `--set` pairs (TOML values)."""
    return [f"{key}={toml_value(value)}" for key, value in sorted(values.items())]


def run_backtest(
    job: BacktestJob, lines: Iterable[tuple[int, bytes]], values: Mapping[str, Value]
) -> Summary:
    """One backtest with `values` over the job's settings; its summary."""
    settings = load_settings(
        job.settings_path, job.symbol, [*job.fixed, *overrides(values)], **job.knobs
    )
    return Engine(settings, lines).run().summary
