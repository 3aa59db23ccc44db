"""Sweep benchmark: the same grid sweep on one worker process and on every core.

`backtest.sweep_speedup` = wall time on 1 worker / wall time on os.cpu_count() workers, for
a grid of `trials` points (the entry threshold, every point a full backtest of `path` with
the momentum scalper, deploy/settings.toml otherwise), each run into its own journal file.
Both walls include reading the recording and forking the workers, as a real sweep does. The
grid is the same in both runs, so both do the same work; the ideal on n cores is n.
"""

import os
import re
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from research.sweep import runner
from research.sweep.data import Recording
from research.sweep.objective import BacktestJob
from research.sweep.space import Choices
from shared.settings import DEFAULT_SETTINGS_PATH

FIXED = ("max-hold-s=1", "cooldown-s=1")  # so that the scalper trades on short recordings


def _symbol(path: Path) -> str:
    match = re.match(r"^[A-Z0-9]+USDT", path.name)
    return match.group(0) if match else "ETHUSDT"


def _wall_s(path: Path, trials: int, workers: int, scratch: Path) -> float:
    thresholds = tuple(float(Decimal("0.00001") * (k + 1)) for k in range(trials))
    sweep = runner.Sweep(
        job=BacktestJob(DEFAULT_SETTINGS_PATH, _symbol(path), FIXED),
        recording=Recording(files=(path,)),
        params=(Choices("momentum-threshold", thresholds),),
        study=f"bench-{workers}",
        storage=runner.journal_path(scratch, f"bench-{workers}"),
        sampler="grid",
    )
    started = time.perf_counter()
    runner.run(sweep, trials, workers)
    wall = time.perf_counter() - started
    done = runner.finished_count(sweep)
    if done != trials:
        raise RuntimeError(f"sweep bench: {done} trials finished of {trials}")
    return wall


def run_sweep_speedup(path: Path, trials: int) -> dict[str, Any]:
    """Time a `trials`-point grid sweep of `path` on 1 worker and on every core."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        one = _wall_s(path, trials, 1, Path(tmp))
        every = _wall_s(path, trials, cores, Path(tmp))
    return {
        "name": "backtest.sweep_speedup",
        "value": round(one / every, 2),
        "unit": "x",
        "target": f"close to {cores} (the cores)",
        "trials": trials,
        "workers": cores,
        "one_worker_s": round(one, 2),
        "all_workers_s": round(every, 2),
        "note": f"the same {trials}-point grid (a backtest each) on 1 worker process, then on"
        f" {cores}; wall times include reading the recording and forking the workers",
    }
