"""scripts/tap: what it says about an endpoint it hears nothing on (ipc_dir: a short path,
as unix socket paths are limited to 107 bytes)."""

import socket
from pathlib import Path

import pytest

from scripts import tap
from scripts.control import free_port
from scripts.tap import probe, silence_hint
from shared.settings import DEFAULT_SETTINGS_PATH, BusSettings, SystemSettings, load_section


def test_an_ipc_address_without_its_file_has_nothing_bound(ipc_dir: Path) -> None:
    assert probe(f"ipc://{ipc_dir}/md.pub") == (
        f"nothing is bound there: {ipc_dir}/md.pub does not exist"
    )


def test_an_ipc_address_with_a_listener_is_bound(ipc_dir: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(ipc_dir / "md.pub"))
        listener.listen(1)
        assert probe(f"ipc://{ipc_dir}/md.pub") == "a publisher is bound there"


def test_a_left_over_ipc_file_is_a_dead_publisher(ipc_dir: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(ipc_dir / "md.pub"))  # closed without unlinking: a crash
    assert "exists but nobody listens" in probe(f"ipc://{ipc_dir}/md.pub")


def test_a_closed_tcp_port_has_nothing_bound() -> None:
    assert probe(f"tcp://127.0.0.1:{free_port()}").startswith("nothing is bound there")


def test_the_hint_names_the_endpoint_and_what_to_check() -> None:
    nothing = silence_hint("ipc://run/md.pub", [""], 5.2, "nothing is bound there: x")
    assert nothing.startswith("tap: nothing on ipc://run/md.pub for 5 s; nothing is bound")
    assert "scripts/status" in nothing
    assert "TRADING_RUN_DIR" in nothing
    bound = silence_hint("ipc://run/md.pub", ["md.quote.X."], 5, "a publisher is bound there")
    assert "['md.quote.X.']" in bound
    assert "TRADING_BUS_HMAC_KEY" in bound


def test_the_recorders_tap_is_refused_and_its_events_endpoint_has_no_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRADING_RUN_DIR", raising=False)
    bus = load_section("bus", BusSettings, DEFAULT_SETTINGS_PATH)
    system = SystemSettings(run_dir="/tmp/run")
    with pytest.raises(SystemExit, match="market-data-raw is the recorder's tap"):
        tap._resolve("market-data-raw", bus, system)
    assert tap._resolve("recorder-events", bus, system) == ("ipc:///tmp/run/recorder.pub", None)
