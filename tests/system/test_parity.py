"""Parity on a real recorded paper session: the whole system trades with the recorder on,
then scripts/parity replays the recording through the backtest and compares.

The session is recorded once for the module (a boot costs a minute): the paper system with
the quick strategy (scripts.control.QUICK_STRATEGY: an entry every few seconds), stopped
with SIGTERM once the strategy has 20 orders in the journal.
"""

import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.paper_system import System, running_system
from shared.settings import REPO_ROOT
from tests.helpers.waiting import eventually_sync

pytestmark = pytest.mark.system
ORDERS = 20
TARGET = 0.99


@dataclass(frozen=True)
class Parity:
    exit_code: int
    output: str
    report: dict[str, Any]
    strategy_orders: int


def strategy_orders(system: System) -> int:
    assert system.process.poll() is None, (system.run_dir.parent / "run.out").read_text()
    rows = system.journal("SELECT count(*) FROM intents WHERE strategy_id = 'mom1'")
    return int(rows[0][0]) if rows else 0


@pytest.fixture(scope="module")
def parity() -> Iterator[Parity]:
    directory = Path(tempfile.mkdtemp(prefix="par-", dir="/tmp"))  # ipc paths: 107 bytes
    try:
        with running_system(directory) as system:
            eventually_sync(lambda: strategy_orders(system) >= ORDERS, timeout_s=240, interval_s=1)
            system.process.send_signal(signal.SIGTERM)
            assert system.process.wait(timeout=90) == 0, (directory / "run.out").read_text()
            orders = strategy_orders_after_stop(system)
        out = directory / "parity.json"
        done = subprocess.run(
            [
                str(REPO_ROOT / "scripts" / "parity"),
                "--run-dir",
                str(system.run_dir),
                "--settings",
                str(system.settings),
                "--min-equal",
                str(TARGET),
                "--json",
                str(out),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        report = json.loads(out.read_text()) if out.exists() else {}
        yield Parity(done.returncode, done.stdout + done.stderr, report, orders)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def strategy_orders_after_stop(system: System) -> int:
    rows = system.journal("SELECT count(*) FROM intents WHERE strategy_id = 'mom1'")
    return int(rows[0][0])


def test_parity_compares_every_live_decision_and_lists_every_difference(parity: Parity) -> None:
    assert parity.exit_code in (0, 1), parity.output
    report = parity.report
    decisions, fills = report["decisions"], report["fills"]
    assert decisions["live"] == parity.strategy_orders >= ORDERS
    assert decisions["backtest"] > 0
    assert fills["live"] > 0
    for comparison in (decisions, fills):
        assert len(comparison["differences"]) == comparison["places"] - comparison["equal"]
        assert comparison["share_equal"] == comparison["equal"] / comparison["places"]
    assert (parity.exit_code == 0) == report["passed"]
    assert report["session"]["latency"].startswith("entry ")  # drawn from the session
    assert "samples" in report["session"]["latency"]
    assert ".." in report["session"]["live_window"]
    assert "unknown" not in report["session"]["live_window"]
    assert "decisions  live" in parity.output


def test_parity_reaches_the_target_on_a_session_without_faults(parity: Parity) -> None:
    decisions = parity.report["decisions"]
    fills = parity.report["fills"]
    print(f"decisions equal {decisions['share_equal']:.4f}, fills {fills['share_equal']:.4f}")
    assert decisions["share_equal"] >= TARGET, parity.output
