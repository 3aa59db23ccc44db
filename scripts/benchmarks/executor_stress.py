"""Executor stress figures: a burst of 1,000 SubmitOrders from four strategies with the venue's
faults on, through the rig of tests/integration/test_executor_stress.py (tests/helpers/
executor_stress.py and executor_burst.py): the executor in this process, the simulator its own.

`stress_results(quick)` is meant to be called from scripts/benchmarks/executor.py's run().
executor.stress_rss_growth_mb: this process's RSS (it hosts the executor, and the fake
strategies' record of every event heard) after the burst is answered and its resting orders
cancelled, minus before the burst (after a 40-intent warm-up). executor.stress_intents_per_s:
intents divided by the time from the first send until every intent had its first answer
(accepted, rejected or denied). The burst is 1,000 intents in both modes: the figures are
per such a burst, and it takes seconds.
"""

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers.executor_burst import Burst, burst, outcomes, summary
from tests.helpers.executor_stress import FAULTS, stress_rig, venue

Result = dict[str, Any]
INTENTS = 1_000
WARM_UP = 40


async def _measure(directory: Path, url: str) -> tuple[Burst, dict[str, int]]:
    async with stress_rig(directory, url) as rig:
        await burst(rig, WARM_UP)
        rig.set_faults(FAULTS)
        result = await burst(rig, INTENTS)
        if rig.task.done():
            raise RuntimeError(f"the executor stopped during the burst: {rig.task}")
        rig.set_faults({name: 0 for name in FAULTS})  # a clean shutdown (cancel-all)
        for line in summary(result, rig.answers):
            print(f"bench: executor stress: {line}", file=sys.stderr)
        return result, dict(outcomes(result, rig.answers))


def stress_results(quick: bool) -> Iterator[Result]:
    """RSS growth over a 1,000-intent burst, and intents answered per second."""
    directory = Path(tempfile.mkdtemp(prefix="bench-stress-", dir="/tmp"))  # short ipc paths
    try:
        with venue() as url:
            result, ended = asyncio.run(_measure(directory, url))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    note = f"{INTENTS} intents, 4 strategies, faults {FAULTS}; outcomes {ended}"
    yield {
        "name": "executor.stress_rss_growth_mb",
        "value": round(result.rss_after_mb - result.rss_before_mb, 1),
        "unit": "MB",
        "note": f"{note}; RSS {result.rss_before_mb:.1f} -> {result.rss_after_mb:.1f} MB",
    }
    if result.processed_s is None:
        raise RuntimeError("not every intent of the burst was answered")
    yield {
        "name": "executor.stress_intents_per_s",
        "value": round(INTENTS / result.processed_s),
        "unit": "intents/s",
        "note": f"{note}; until every intent had its first answer",
    }
