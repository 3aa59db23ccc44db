"""scripts/run's pure parts: who gets which key, crash lines, a fresh paper journal."""

import stat
from pathlib import Path

import pytest

from scripts import control
from scripts.control import settings_text
from scripts.preflight import check_settings, ports_of
from scripts.run_report import crashes
from scripts.run_setup import fresh_paper_journal, key_files
from shared.keys import KEYS_DIR_ENV, read_keys, remove_key_files, write_key_files
from shared.settings import Mode, Secrets

KEYS = Secrets(bybit_api_key="k" * 18, bybit_api_secret="s" * 36, bus_hmac_key=b"bus")


def test_only_the_executor_gets_the_venue_keys_and_only_bus_processes_the_bus_key() -> None:
    files = key_files(Mode.PAPER, KEYS)

    assert files["executor"] == {
        "BYBIT_API_KEY": "k" * 18,
        "BYBIT_API_SECRET": "s" * 36,
        "BUS_HMAC_KEY": "bus",
    }
    assert files["simulator"] == {"SIMULATOR_API_KEY": "k" * 18, "SIMULATOR_API_SECRET": "s" * 36}
    assert all(files[name] == {"BUS_HMAC_KEY": "bus"} for name in ("scanner", "feed", "strategy"))
    assert "simulator" not in key_files(Mode.TESTNET, KEYS)


def test_key_files_are_private_read_back_per_service_and_removed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    directory = write_key_files(run_dir, key_files(Mode.PAPER, KEYS))
    env = {KEYS_DIR_ENV: str(directory)}

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in directory.iterdir())
    assert read_keys("feed", env) == {"BUS_HMAC_KEY": "bus"}
    assert read_keys("executor", env)["BYBIT_API_SECRET"] == "s" * 36
    assert read_keys("feed", {}) == {}
    remove_key_files(run_dir)
    assert not directory.exists()
    assert not (run_dir / "keys-dir").exists()


def test_crashes_count_non_zero_exits_and_fatal_but_not_kills_from_outside(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "supervisord.log").write_text(
        "INFO exited: feed (exit status 1; not expected)\n"  # an earlier supervisord's
        "INFO supervisord started with pid 10\n"
        "INFO exited: executor (terminated by SIGKILL; not expected)\n"
        "INFO exited: scanner (exit status 0; expected)\n"
        "INFO exited: strategy (exit status 1; not expected)\n"
        "INFO gave up: strategy entered FATAL state, too many start retries too quickly\n"
    )

    lines = crashes(tmp_path, {"strategy": "FATAL", "feed": "STOPPED", "simulator": "BACKOFF"})

    assert lines == [
        "strategy crashed (exit status 1)",
        "strategy gave up after too many quick restarts (FATAL)",
        "strategy ended in FATAL",
        "simulator ended in BACKOFF",
    ]


def test_an_earlier_paper_journal_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "executor-journal.sqlite").write_text("old")
    (tmp_path / "executor-journal.sqlite-wal").write_text("wal")

    archived = fresh_paper_journal(tmp_path)

    assert archived is not None
    assert archived.read_text() == "old"
    assert Path(f"{archived}-wal").read_text() == "wal"
    assert not (tmp_path / "executor-journal.sqlite").exists()
    assert fresh_paper_journal(tmp_path) is None


def test_the_ports_checked_include_metrics_the_venue_and_tcp_bus_endpoints(tmp_path: Path) -> None:
    text = settings_text(8999, {}).replace(
        'universe = "ipc://{run_dir}/universe.pub"', 'universe = "tcp://127.0.0.1:7001"'
    )
    path = tmp_path / "settings.toml"
    path.write_text(text)

    ports = ports_of(check_settings(path, tmp_path, Secrets()))

    what = {key for key, _, _ in ports}
    assert {f"[{s}] metrics-port" for s in ("simulator", "scanner", "feed", "executor")} <= what
    assert ("[simulator] port", "127.0.0.1", 8999) in ports
    assert ("[bus.endpoints] universe", "127.0.0.1", 7001) in ports


def test_the_test_settings_give_every_port_its_own_number(tmp_path: Path) -> None:
    # The kernel may hand a just-closed port out again; two sections sharing one refused
    # a system test's run ("[dashboard] metrics-port and [feed] metrics-port are both ...").
    for _ in range(20):
        path = tmp_path / "settings.toml"
        path.write_text(settings_text(8999, {}))
        numbers = [port for _, _, port in ports_of(check_settings(path, tmp_path, Secrets()))]
        assert len(numbers) == len(set(numbers)), sorted(numbers)


def test_free_port_never_hands_out_a_port_twice_even_when_the_kernel_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kernel_ports = iter([40001, 40001, 40001, 40002])

    class KernelSocket:
        def __enter__(self) -> "KernelSocket":
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def bind(self, _: object) -> None:
            self.port = next(kernel_ports)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(control, "_HANDED_OUT", set())
    monkeypatch.setattr(control.socket, "socket", KernelSocket)
    assert [control.free_port(), control.free_port()] == [40001, 40002]
