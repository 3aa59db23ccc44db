"""deploy/settings.toml decodes; a bad file refuses to load and names the key."""

import os
import stat
from pathlib import Path

import pytest

from services.executor.settings import ExecutorSettings
from services.feed.settings import FeedSettings
from services.recorder.settings import RecorderSettings
from services.scanner.settings import ScannerSettings
from services.simulator.settings import Faults, SimulatorSettings
from services.strategy.settings import StrategySettings
from shared.settings import (
    DEFAULT_SETTINGS_PATH,
    BusSettings,
    BybitSettings,
    Endpoints,
    Secrets,
    ServiceSettings,
    SettingsError,
    SystemSettings,
    check_bus_security,
    ensure_run_dir,
    load_section,
)

GOOD = DEFAULT_SETTINGS_PATH.read_text()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def test_deployed_settings_decode_for_every_section() -> None:
    assert load_section("system", SystemSettings).mode == "paper"
    bus = load_section("bus", BusSettings)
    assert bus.endpoints.market_data.startswith("ipc://")
    assert load_section("strategy", StrategySettings).momentum_threshold == 0.001
    assert load_section("executor", ExecutorSettings).max_order_notional_usdt > 0
    assert load_section("scanner", ScannerSettings).hysteresis >= 1
    assert load_section("feed", FeedSettings).depth in (1, 50)
    assert load_section("feed", FeedSettings).record_raw  # the recorder gets the frames
    recorder = load_section("recorder", RecorderSettings)
    assert (recorder.keep_days, recorder.flush_interval_s) == (30, 1.0)
    assert recorder.root(Path("/run")) == Path("/run/recordings")
    assert load_section("bybit", BybitSettings).paper_rest_url.startswith("http://127.0.0.1")
    simulator = load_section("simulator", SimulatorSettings)
    assert simulator.host == "127.0.0.1"
    assert simulator.faults == Faults()  # paper mode injects nothing


def test_unknown_key_is_refused_with_its_name(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("events-hwm = 10000", "events-hwm = 10000\nevent-hwm = 5"))
    with pytest.raises(SettingsError, match=r"key \[bus\] event-hwm: unknown key"):
        load_section("bus", BusSettings, path)


def test_wrongly_typed_value_is_refused_with_key_and_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("command-hwm = 1000", 'command-hwm = "lots"'))
    with pytest.raises(SettingsError, match=r"key \[bus\] command-hwm: Expected `int`, got `str`"):
        load_section("bus", BusSettings, path)


def test_out_of_range_value_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("metrics-port = 9102", "metrics-port = 70000"))
    with pytest.raises(SettingsError, match=r"key \[feed\] metrics-port: Expected `int` <= 65535"):
        load_section("feed", ServiceSettings, path)


def test_bad_endpoint_is_refused_with_the_nested_key(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('"ipc://{run_dir}/md.pub"', '"udp://x"'))
    with pytest.raises(SettingsError, match=r"key \[bus\] endpoints: endpoint must start with"):
        load_section("bus", BusSettings, path)


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "\n[stratgy]\nmetrics-port = 1\n")
    with pytest.raises(SettingsError, match=r"unknown section \[stratgy\]"):
        load_section("feed", ServiceSettings, path)


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('mode = "paper"', 'mode = "yolo"'))
    with pytest.raises(SettingsError, match=r"key \[system\] mode: Invalid enum value 'yolo'"):
        load_section("system", SystemSettings, path)


def test_missing_file_says_how_to_point_at_another(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TRADING_SETTINGS"):
        load_section("bus", BusSettings, tmp_path / "nope.toml")


def test_run_dir_is_created_private(tmp_path: Path) -> None:
    run_dir = ensure_run_dir(tmp_path / "run")
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700


def test_existing_run_dir_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir(mode=0o755)
    os.chmod(tmp_path / "run", 0o755)
    assert stat.S_IMODE(ensure_run_dir(tmp_path / "run").stat().st_mode) == 0o700


def test_secrets_come_from_the_environment_and_never_print() -> None:
    secrets = Secrets.from_environment({"BYBIT_API_KEY": "k" * 18, "BYBIT_API_SECRET": "s" * 36})
    assert secrets.bybit_api_secret == "s" * 36
    assert "s" * 36 not in repr(secrets)
    assert "k" * 18 not in repr(secrets)


@pytest.mark.parametrize("name", ["BYBIT_API_KEY", "BYBIT_API_SECRET"])
def test_a_key_with_a_stray_line_end_refuses_to_start_and_is_not_printed(name: str) -> None:
    environ = {"BYBIT_API_KEY": "k" * 18, "BYBIT_API_SECRET": "s" * 36}
    environ[name] += "\r\n"

    with pytest.raises(SettingsError, match=f"{name}: contains whitespace") as refused:
        Secrets.from_environment(environ)

    assert "k" * 18 not in str(refused.value)
    assert "s" * 36 not in str(refused.value)


def test_off_host_tcp_endpoint_needs_a_signing_key() -> None:
    endpoints = load_section("bus", BusSettings).endpoints
    remote = Endpoints(
        **{
            **{f: getattr(endpoints, f) for f in endpoints.__struct_fields__},
            "market_data": "tcp://10.0.0.5:5555",
        }
    )
    with pytest.raises(SettingsError, match="market-data: an endpoint off this host needs signed"):
        check_bus_security(remote, Secrets())
    check_bus_security(remote, Secrets(bus_hmac_key=b"k"))
