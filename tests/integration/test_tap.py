"""scripts/tap as a process: with no publisher it hints, and --timeout gives up with 1."""

import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def test_tap_hints_and_gives_up_after_its_timeout_without_a_publisher(
    ipc_dir: Path,
) -> None:
    env = {"TRADING_RUN_DIR": str(ipc_dir), "PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin"}
    address = f"ipc://{ipc_dir}/nobody.pub"
    tap = subprocess.run(
        [sys.executable, "scripts/tap.py", address, "--hint-after", "0.3", "--timeout", "1.5"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert tap.returncode == 1, tap.stderr
    assert f"tap: nothing on {address} for 0 s; nothing is bound there" in tap.stderr
    assert f"tap: no message on {address} within 1.5 s" in tap.stderr
    assert tap.stdout == ""
