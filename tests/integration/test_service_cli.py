"""Every service starts from the command line with --help, and refuses a bad settings file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import DEFAULT_SETTINGS_PATH, REPO_ROOT

pytestmark = pytest.mark.integration
SERVICES = ["simulator", "scanner", "recorder", "feed", "executor", "strategy", "dashboard"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_help_exits_0_and_describes_the_service(service: str) -> None:
    result = _run([f"services.{service}", "--help"], {})
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


BREAKAGES = {
    "simulator": ("step-ms = 50 ", "step-ms = 5 ", "key [simulator] step-ms: Expected `int` >= 10"),
    "scanner": (
        "heartbeat-interval-ms = 1000",
        'heartbeat-interval-ms = "1s"',
        "key [bus] heartbeat-interval-ms: Expected `int`, got `str`",
    ),
    "feed": ("depth = 1 ", "depth = 5 ", "key [feed] depth: Invalid enum value 5"),
    "recorder": (
        "keep-days = 30 ",
        "keep-days = -1 ",
        "key [recorder] keep-days: Expected `int` >= 0",
    ),
    "strategy": (
        "vwap-trades = 20 ",
        "vwap-trades = 1 ",
        "key [strategy] vwap-trades: Expected `int` >= 2",
    ),
    "executor": (
        "max-open-orders = 10 ",
        "max-open-orders = -1 ",
        "key [executor] max-open-orders: Expected `int` >= 1",
    ),
    "dashboard": (
        'host = "127.0.0.1" ',
        'host = "0.0.0.0" ',
        "key [dashboard] host",
    ),
}


@pytest.mark.parametrize("service", SERVICES)
def test_bad_settings_refuse_to_start_naming_the_key(service: str, tmp_path: Path) -> None:
    good, broken, message = BREAKAGES[service]
    text = DEFAULT_SETTINGS_PATH.read_text()
    assert good in text
    path = tmp_path / "settings.toml"
    path.write_text(text.replace(good, broken))
    env = {"TRADING_SETTINGS": str(path), "TRADING_RUN_DIR": str(tmp_path / "run")}
    result = _run([f"services.{service}"], env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
