"""scripts/run's life around the services: a dead supervisord, a dead scripts/run, the keys.

Each test boots the paper system under supervisord (scripts/run --quiet) with real
processes and waits on conditions with timeouts.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.control import SERVICES, Supervisor
from scripts.paper_system import API_KEY, API_SECRET, System, running_system
from scripts.run_processes import alive, find_run_processes
from shared.settings import REPO_ROOT
from tests.helpers.waiting import eventually_sync

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]
BUS_KEY = "bus-key-for-the-system-test-0001"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """ipc paths are limited to 107 bytes: a short directory under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="life-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _service_pids(system: System) -> dict[str, int]:
    """The pid of every service, once all five run under supervisord."""
    assert system.process.poll() is None, (system.run_dir.parent / "run.out").read_text()
    supervisor = Supervisor(system.run_dir)
    if not supervisor.answers():
        return {}
    infos = {p.name: p for p in supervisor.processes()}
    if any(infos[name].state != "RUNNING" for name in SERVICES):
        return {}
    return {name: infos[name].pid for name in SERVICES}


def _traded(system: System) -> bool:
    return bool(system.journal("SELECT 1 FROM fills LIMIT 1"))


def _run_out(system: System) -> str:
    return (system.run_dir.parent / "run.out").read_text()


def test_a_supervisord_killed_mid_run_stops_every_service_as_sigterm_does(
    short_dir: Path,
) -> None:
    with running_system(short_dir) as system:
        eventually_sync(lambda: _service_pids(system), timeout_s=60, interval_s=0.2)
        pids = _service_pids(system)
        eventually_sync(lambda: _traded(system), timeout_s=90, interval_s=0.5)
        supervisord = int((system.run_dir / "supervisord.pid").read_text())

        os.kill(supervisord, signal.SIGKILL)  # mid-run, the strategy trading

        eventually_sync(
            lambda: not any(alive(pid) for pid in pids.values()), timeout_s=40, interval_s=0.2
        )
        exit_code = system.process.wait(timeout=60)
        executor_log, simulator_log = system.log("executor"), system.log("simulator")
        run_out = _run_out(system)
    assert "supervisor gone" in executor_log, executor_log[-2000:]
    after = executor_log.split("supervisor gone", 1)[1]
    assert "shutdown:" in after, after  # the SIGTERM path: cancel, confirm, exit
    # The paper venue stayed up until the executor had closed its private stream.
    assert "simulator stopping after its supervisor private_connections=0" in simulator_log
    assert exit_code == 1, run_out
    assert "supervisord exited with -9" in run_out
    assert find_run_processes(system.run_dir) == []


def test_scripts_stop_stops_a_system_whose_run_was_killed(short_dir: Path) -> None:
    with running_system(short_dir) as system:
        eventually_sync(lambda: _service_pids(system), timeout_s=60, interval_s=0.2)
        pids = _service_pids(system)
        env = {**os.environ, "TRADING_RUN_DIR": str(system.run_dir)}
        env["TRADING_SETTINGS"] = str(system.settings)

        os.kill(system.process.pid, signal.SIGKILL)  # scripts/run gone, supervisord stays
        system.process.wait(timeout=10)
        again = subprocess.run(
            [str(REPO_ROOT / "scripts" / "run"), "--quiet", "--duration", "5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        stop = subprocess.run(
            [str(REPO_ROOT / "scripts" / "stop")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        executor_log = system.log("executor")
    assert again.returncode == 2, again.stderr
    assert "scripts/stop" in again.stderr, again.stderr
    assert stop.returncode == 0, stop.stderr
    assert not any(alive(pid) for pid in pids.values()), stop.stderr
    assert find_run_processes(system.run_dir) == []
    assert "shutdown: no working orders at the venue" in executor_log
    assert not (system.run_dir / "keys-dir").exists()


def _secrets_in(pid: int) -> list[str]:
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return [name for name, value in _SECRETS.items() if value in environ]


_SECRETS = {"BYBIT_API_KEY": API_KEY, "BYBIT_API_SECRET": API_SECRET, "BUS_HMAC_KEY": BUS_KEY}


def test_no_process_has_a_secret_in_its_environment_and_the_keys_still_work(
    short_dir: Path,
) -> None:
    with running_system(short_dir, env={"BUS_HMAC_KEY": BUS_KEY}) as system:
        eventually_sync(lambda: _service_pids(system), timeout_s=60, interval_s=0.2)
        # Trading proves the executor holds the venue keys and the bus key reached the bus.
        eventually_sync(lambda: _traded(system), timeout_s=90, interval_s=0.5)
        processes = find_run_processes(system.run_dir)
        found = {f"{p.name} pid {p.pid}": _secrets_in(p.pid) for p in processes}
        assert all(not names for names in found.values()), found
        keys_dir = Path((system.run_dir / "keys-dir").read_text())
        files = {f.name: oct(f.stat().st_mode & 0o777) for f in keys_dir.iterdir()}
        system.process.send_signal(signal.SIGTERM)
        exit_code = system.process.wait(timeout=60)
    assert {p.name for p in processes} == {*SERVICES, "supervisord"}
    assert files == {f"{name}.keys": "0o600" for name in SERVICES}, files
    assert exit_code == 0
    assert not keys_dir.exists()


def test_a_service_crash_looping_during_the_run_makes_the_run_fail(short_dir: Path) -> None:
    # taskset refuses a CPU that does not exist: the strategy exits 1 at every start.
    with running_system(short_dir, env={"TRADING_CPUS_STRATEGY": "999"}) as system:
        supervisord_log = system.run_dir / "logs" / "supervisord.log"
        eventually_sync(
            lambda: (
                "exited: strategy (exit status 1; not expected)"
                in (supervisord_log.read_text() if supervisord_log.exists() else "")
            ),
            timeout_s=60,
            interval_s=0.2,
        )
        system.process.send_signal(signal.SIGTERM)
        exit_code = system.process.wait(timeout=60)
        run_out = _run_out(system)
    assert exit_code == 1, run_out
    assert "strategy crashed (exit status 1)" in run_out
    assert "stopped with errors" in run_out
