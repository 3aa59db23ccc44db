"""DASHBOARD_TOKEN reaches the dashboard alone: its key file, never supervisord's environment."""

from pathlib import Path

import pytest

from scripts.run_setup import environment, key_files
from shared.keys import read_keys, write_key_files
from shared.settings import Mode, Secrets


def test_only_the_dashboards_key_file_holds_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_TOKEN", "tok-123")
    keys = Secrets(bybit_api_key="k", bybit_api_secret="s", bus_hmac_key=b"bus")
    files = key_files(Mode.PAPER, keys)
    directory = write_key_files(tmp_path, files)
    try:
        env = environment(Mode.PAPER, tmp_path, directory)
        holders = {name for name, values in files.items() if "DASHBOARD_TOKEN" in values}
        assert holders == {"dashboard"}
        assert files["dashboard"] == {"BUS_HMAC_KEY": "bus", "DASHBOARD_TOKEN": "tok-123"}
        assert "DASHBOARD_TOKEN" not in env
        assert read_keys("dashboard", env)["DASHBOARD_TOKEN"] == "tok-123"
        assert "DASHBOARD_TOKEN" not in read_keys("executor", env)
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


def test_without_the_token_the_dashboard_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHBOARD_TOKEN", raising=False)
    files = key_files(Mode.PAPER, Secrets(bybit_api_key="k", bybit_api_secret="s"))
    assert files["dashboard"] == {}
