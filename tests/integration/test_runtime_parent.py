"""A service whose parent (supervisord) dies stops the way SIGTERM stops it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.control import free_port
from scripts.run_processes import alive
from shared.settings import REPO_ROOT
from tests.helpers.waiting import eventually_sync

pytestmark = pytest.mark.integration


def test_a_service_stops_cleanly_when_its_parent_is_killed(ipc_dir: Path) -> None:
    log = ipc_dir / "toy.log"
    log.touch()  # the shell redirects into it a moment later
    env = {**os.environ, "TRADING_RUN_DIR": str(ipc_dir), "PYTHONPATH": str(REPO_ROOT)}
    toy = f"{sys.executable} -m tests.helpers.toy_service --metrics-port {free_port()}"
    parent = subprocess.Popen(  # a stand-in for supervisord: it forks the service and waits
        ["sh", "-c", f"{toy} 2>{log} & echo $!; wait"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        eventually_sync(lambda: "running" in log.read_text(), timeout_s=20)

        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)

        eventually_sync(lambda: not alive(pid), timeout_s=10)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert "supervisor gone" in text, text
    assert "stop requested service=toy" in text
    assert "cleanup done" in text
    assert "stopped service=toy" in text
