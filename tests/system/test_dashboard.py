"""The dashboard under supervisord: it serves the view of the whole paper system, and its
halt (with the token) halts the executor as scripts/halt does.

Boots the paper system (scripts/run --quiet) with DASHBOARD_TOKEN set and waits on
conditions with timeouts.
"""

import json
import shutil
import tempfile
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.control import SERVICES, Supervisor
from scripts.paper_system import System, running_system
from tests.helpers.waiting import eventually_sync

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]
TOKEN = "dashboard-system-test-token-0001"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """ipc paths are limited to 107 bytes: a short directory under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="dash-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _base(system: System) -> str:
    port = tomllib.loads(system.settings.read_text())["dashboard"]["port"]
    return f"http://127.0.0.1:{port}"


def _state(system: System) -> dict[str, Any] | None:
    assert system.process.poll() is None, (system.run_dir.parent / "run.out").read_text()
    try:
        with urllib.request.urlopen(f"{_base(system)}/api/state", timeout=2) as response:
            return dict(json.loads(response.read())["state"])
    except OSError:
        return None


def _all_running(system: System) -> bool:
    state = _state(system)
    if state is None:
        return False
    services = state["health"]["services"]
    return all((services.get(name) or {}).get("state") == "RUNNING" for name in SERVICES)


def _post(system: System, action: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{_base(system)}/api/control/{action}",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_dashboard_shows_the_system_and_its_halt_halts_the_executor(
    short_dir: Path,
) -> None:
    with running_system(short_dir, env={"DASHBOARD_TOKEN": TOKEN}) as system:
        eventually_sync(lambda: _all_running(system), timeout_s=90, interval_s=0.5)
        eventually_sync(
            lambda: (_state(system) or {}).get("health", {}).get("trading_state") == "ACTIVE",
            timeout_s=60,
            interval_s=0.5,
        )
        wrong = _post(system, "halt", "not-the-token")
        state_after_wrong = system.journal("SELECT state FROM trading_state")

        status, outcome = _post(system, "halt", TOKEN)

        eventually_sync(
            lambda: (_state(system) or {}).get("health", {}).get("trading_state") == "HALTED",
            timeout_s=20,
            interval_s=0.2,
        )
        journaled = system.journal("SELECT state, reason FROM trading_state")
        executor_log = system.log("executor")
        infos = {p.name: p for p in Supervisor(system.run_dir).processes()}
        executor_environ = Path(f"/proc/{infos['executor'].pid}/environ").read_bytes()

    assert wrong[0] == 401
    assert state_after_wrong in ([], [("Active",)])  # the wrong token changed nothing
    assert status == 200, outcome
    assert outcome["lines"][0].startswith("confirmed: executor is HALTED"), outcome
    assert journaled == [("Halted", "operator via dashboard")]
    assert "reason=operator via dashboard" in executor_log
    assert TOKEN.encode() not in executor_environ  # the token reached the dashboard alone
