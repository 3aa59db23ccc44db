"""run_service() in a real process: signals, exit codes, clean-up, logs, metrics, tap."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.control import free_port
from shared.settings import REPO_ROOT
from tests.helpers.waiting import eventually_sync

pytestmark = pytest.mark.integration


@pytest.fixture
def env(ipc_dir: Path) -> dict[str, str]:
    return {**os.environ, "TRADING_RUN_DIR": str(ipc_dir), "PYTHONPATH": str(REPO_ROOT)}


class Proc:
    """A child process whose stderr goes to a file that the test reads as it grows."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self._log_path = log_path
        with log_path.open("w") as log:
            self.popen = subprocess.Popen(
                args, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=log
            )

    def read_err(self) -> str:
        return self._log_path.read_text()


@pytest.fixture
def spawn(env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    procs: list[Proc] = []

    def factory(*args: str) -> Proc:
        proc = Proc([sys.executable, *args], env, tmp_path / f"proc{len(procs)}.log")
        procs.append(proc)
        return proc

    yield factory
    for proc in procs:
        if proc.popen.poll() is None:
            proc.popen.kill()
        proc.popen.wait()


def test_sigterm_stops_cleanly_with_exit_0(spawn) -> None:  # type: ignore[no-untyped-def]
    toy = spawn("-m", "tests.helpers.toy_service", "--metrics-port", str(free_port()))
    eventually_sync(lambda: "running" in toy.read_err(), timeout_s=20)
    toy.popen.send_signal(signal.SIGTERM)
    assert toy.popen.wait(timeout=10) == 0
    log = toy.read_err()
    assert "stop requested service=toy" in log
    assert "cleanup done" in log


def test_crash_exits_non_zero_after_clean_up(spawn) -> None:  # type: ignore[no-untyped-def]
    toy = spawn("-m", "tests.helpers.toy_service", "--metrics-port", str(free_port()), "--crash")
    assert toy.popen.wait(timeout=20) != 0
    log = toy.read_err()
    assert "cleanup done" in log
    assert "RuntimeError: toy crash" in log


def test_log_lines_are_single_lines_tagged_with_the_service(spawn) -> None:  # type: ignore[no-untyped-def]
    toy = spawn("-m", "tests.helpers.toy_service", "--metrics-port", str(free_port()), "--crash")
    toy.popen.wait(timeout=20)
    lines = [line for line in toy.read_err().splitlines() if " service=toy " in line]
    assert any("RuntimeError: toy crash" in line and "Traceback" in line for line in lines)


def test_metrics_are_served_on_loopback_with_bus_counters(spawn) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    toy = spawn("-m", "tests.helpers.toy_service", "--metrics-port", str(port))
    eventually_sync(lambda: "running" in toy.read_err(), timeout_s=20)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "bus_sent_messages_total" in body
    assert "bus_dropped_messages_total" in body or "bus_dropped_messages" in body


def test_tap_prints_decoded_messages_as_json_lines(spawn, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    toy = spawn("-m", "tests.helpers.toy_service", "--metrics-port", str(free_port()))
    eventually_sync(lambda: "running" in toy.read_err(), timeout_s=20)
    tap = subprocess.run(
        [
            sys.executable,
            "scripts/tap.py",
            "market-data",
            "md.quote.",
            "--count",
            "3",
            "--timeout",
            "20",
        ],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in tap.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["topic"] == "md.quote.TOYUSDT."
    assert lines[0]["sender"] == "toy"
    assert lines[0]["message"]["kind"] == "Quote"
    assert lines[0]["message"]["bid_price"] == "100"
