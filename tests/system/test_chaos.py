"""Chaos, the short version: kill -9 each service of a paper session under faults, then all.

scripts/chaos --minutes N runs the long version. This one runs one cycle (each service
killed in turn, then all at once; supervisord restarts them) with the simulator's faults
on, a little stronger than the script's so that an order create ends in doubt more
often, and asserts every invariant of the report.
"""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.chaos import FAULTS, KILLABLE, run_chaos
from scripts.chaos_report import INVARIANTS

pytestmark = [pytest.mark.system, pytest.mark.timeout(240)]
CI_FAULTS = FAULTS | {"timeout-after-accept-rate": 0.15, "rest-5xx-rate": 0.05}


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """ipc paths are limited to 107 bytes: a short directory under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="chaos-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_every_invariant_holds_when_services_are_killed_under_faults(short_dir: Path) -> None:
    # Arrange
    lines: list[str] = []

    # Act
    report, exit_code = run_chaos(
        short_dir, seed=11, cycles=1, trade_s=3.0, faults=CI_FAULTS, say=lines.append
    )

    # Assert
    figures = report.figures
    detail = "\n".join([*lines, *report.lines()])
    assert report.violations() == [], detail
    assert all(figures[name] == 0 for name in INVARIANTS), detail
    assert exit_code == 0, detail
    assert figures["restarts"] == len(KILLABLE) + 1, detail
    assert figures["entries_sent"] > 0, detail  # the strategy did trade through the chaos
    assert figures["journal_fills"] > 0, detail
    assert figures["feed_ready_marks"] >= 3, detail  # first start, feed killed, all killed
