"""The executor as its own process (python -m services.executor), for kill -9 tests."""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from scripts.control import free_port
from shared.bus import BusNode, Signer
from shared.runtime.clock import LiveClock
from shared.settings import DEFAULT_SETTINGS_PATH, REPO_ROOT, BusSettings, load_section
from tests.helpers.simulator import API_KEY, API_SECRET


def settings_file(directory: Path, venue_port: int) -> Path:
    """deploy/settings.toml with the venue on `venue_port` and a free metrics port."""
    text = DEFAULT_SETTINGS_PATH.read_text().replace("127.0.0.1:8900", f"127.0.0.1:{venue_port}")
    text = text.replace("metrics-port = 9104", f"metrics-port = {free_port()}")
    path = directory / "settings.toml"
    path.write_text(text)
    return path


def bus_node(name: str, settings: Path, run_dir: Path) -> BusNode:
    """A node on the same endpoints as the executor process."""
    bus = load_section("bus", BusSettings, settings)
    resolved = BusSettings(endpoints=bus.endpoints.resolved(run_dir))
    return BusNode(name, resolved, signer=Signer(None), clock=LiveClock())


@contextlib.contextmanager
def executor_process(
    settings: Path, run_dir: Path, log_name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the executor; kill it (if still running) on the way out. Logs in run_dir."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "TRADING_SETTINGS": str(settings),
        "TRADING_RUN_DIR": str(run_dir),
        "BYBIT_API_KEY": API_KEY,
        "BYBIT_API_SECRET": API_SECRET,
    }
    with (run_dir / log_name).open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.executor"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
