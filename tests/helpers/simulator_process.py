"""The simulator as its own process on a free loopback port, for the official clients' tests:
`python -m services.simulator` as a user starts it, with the paper account in its
environment."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.control import answers, free_port
from shared.settings import REPO_ROOT
from tests.helpers.waiting import eventually_sync


@contextmanager
def simulator_process(run_dir: Path, api_key: str, api_secret: str) -> Iterator[str]:
    """Start it (BTCUSDT and ETHUSDT), wait until it answers, yield `127.0.0.1:<port>`;
    stopped at the end. Its output goes to <run_dir>/simulator.log."""
    port = free_port()
    env = {
        **os.environ,
        "BYBIT_API_KEY": api_key,
        "BYBIT_API_SECRET": api_secret,
        "TRADING_RUN_DIR": str(run_dir),
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = [sys.executable, "-m", "services.simulator", "--port", str(port)]
    log = run_dir / "simulator.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*command, "--symbols", "BTCUSDT,ETHUSDT"],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"127.0.0.1:{port}"
    try:
        eventually_sync(
            lambda: answers(f"http://{url}/v5/market/time") or proc.poll() is not None,
            timeout_s=30,
        )
        assert proc.poll() is None, log.read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
