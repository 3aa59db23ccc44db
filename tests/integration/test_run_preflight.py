"""scripts/run refuses before it starts anything: bad settings, busy ports, leftovers, --live.

Nothing is started in these tests unless scripts/run fails to refuse (then it runs for
--duration and the exit code shows it).
"""

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from scripts import run
from scripts.control import QUICK_STRATEGY, free_port, settings_text
from scripts.run_instances import SCRAPE_TARGETS, programs_text, write_scrape_targets
from scripts.run_processes import alive, find_run_processes
from services.strategy.settings import StrategySettings
from shared.settings import (
    REPO_ROOT,
    BusSettings,
    SettingsError,
    instance_endpoints,
    load_section,
)
from shared.settings_versions import CURRENT_VERSION
from tests.helpers.waiting import eventually_sync

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def settings(ipc_dir: Path) -> Path:
    path = ipc_dir / "settings.toml"
    path.write_text(settings_text(free_port(), {"strategy": QUICK_STRATEGY}))
    return path


def _run(settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TRADING_SETTINGS": str(settings),
        "TRADING_RUN_DIR": str(settings.parent / "run"),
    }
    return subprocess.run(
        [str(REPO_ROOT / "scripts" / "run"), "--quiet", "--duration", "3", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


BROKEN = [  # (section, the key's line, its broken value, what the refusal says)
    ("scanner", "top-n = 10 ", "top-n = 0 ", "key [scanner] top-n: Expected `int` >= 1"),
    ("feed", "depth = 1 ", "depth = 5 ", "key [feed] depth: Invalid enum value 5"),
    ("strategy", "cooldown-s = 1.0", "cooldown-s = -1.0", "key [strategy] cooldown-s"),
    ("executor", "max-open-orders = 10 ", 'max-open-orders = "ten" ', "[executor] max-open-orders"),
    ("simulator", "step-ms = 50 ", "stepms = 50 ", "key [simulator] stepms: unknown key"),
    ("bus", "events-hwm = 10000", "events-hwm = -5", "key [bus] events-hwm"),
    ("bybit", "\ntimeout-s = 5.0", "\ntimeout-s = 0", "key [bybit] timeout-s"),
]


@pytest.mark.parametrize(
    ("section", "good", "broken", "message"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_a_bad_key_in_any_section_refuses_the_run_before_it_starts(
    settings: Path, section: str, good: str, broken: str, message: str
) -> None:
    text = settings.read_text()
    assert good in text
    settings.write_text(text.replace(good, broken, 1))

    result = _run(settings)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert not (settings.parent / "run" / "logs" / "supervisord.log").exists()  # nothing ran


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_in_use_refuses_the_run_naming_the_key(settings: Path, busy_port: int) -> None:
    lines = settings.read_text().splitlines()
    feed = lines.index("[feed]")
    port_line = next(i for i in range(feed, len(lines)) if lines[i].startswith("metrics-port"))
    lines[port_line] = f"metrics-port = {busy_port}"
    settings.write_text("\n".join(lines) + "\n")

    result = _run(settings)

    assert result.returncode == 2, result.stderr
    assert f"port {busy_port} ([feed] metrics-port" in result.stderr, result.stderr


def test_live_with_paper_settings_is_refused(settings: Path) -> None:
    result = _run(settings, "--live")

    assert result.returncode == 2, result.stderr
    assert "--live given but the settings" in result.stderr, result.stderr


def test_a_settings_file_newer_than_the_code_refuses_the_run(settings: Path) -> None:
    text = settings.read_text()
    settings.write_text(re.sub(r"(?m)^settings-version = \d+", "settings-version = 99", text))

    result = _run(settings)

    assert result.returncode == 2, result.stderr
    assert "version 99, newer than this code knows" in result.stderr, result.stderr


def test_an_older_settings_file_is_read_and_its_changes_said_once(
    settings: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = re.sub(r"(?m)^settings-version = .*\n", "", settings.read_text())
    settings.write_text(text.replace("max-quote-age-ms = ", "stale-after-ms = "))
    monkeypatch.setenv("TRADING_SETTINGS", str(settings))
    monkeypatch.setenv("TRADING_RUN_DIR", str(settings.parent / "run"))

    _, sections, _ = run._prepare(run._parse([]))  # every check, nothing started

    assert sections["strategy"].max_quote_age_ms == 100
    said = capsys.readouterr().err
    assert said.count("settings: ") == 1, said
    assert f"is version 1, read as version {CURRENT_VERSION}: [strategy] stale-after-ms" in said


def test_settings_pointing_at_a_directory_is_a_clear_error(settings: Path) -> None:
    result = _run(settings.parent)

    assert result.returncode == 2, result.stderr
    assert "is a directory; set TRADING_SETTINGS to the settings file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("program", ["feed", "strategy-mm1"])
def test_a_leftover_service_of_the_run_dir_refuses_the_run_and_scripts_stop_ends_it(
    settings: Path, program: str
) -> None:
    run_dir = settings.parent / "run"
    run_dir.mkdir(mode=0o700)
    env = {**os.environ, "TRADING_RUN_DIR": str(run_dir), "SUPERVISOR_PROCESS_NAME": program}
    orphan = subprocess.Popen(  # what a service left behind by a dead supervisord looks like
        [sys.executable, "-c", "import time\nwhile True: time.sleep(1)"], env=env
    )
    try:
        eventually_sync(lambda: find_run_processes(run_dir), timeout_s=10)

        refused = _run(settings)
        stop = subprocess.run(
            [str(REPO_ROOT / "scripts" / "stop")],
            env={**os.environ, "TRADING_RUN_DIR": str(run_dir), "TRADING_SETTINGS": str(settings)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        orphan.wait(timeout=10)
    finally:
        orphan.kill()
        orphan.wait()
    assert refused.returncode == 2, refused.stderr
    assert f"{program} pid {orphan.pid}" in refused.stderr, refused.stderr
    assert "scripts/stop" in refused.stderr
    assert stop.returncode == 0, stop.stderr
    assert not alive(orphan.pid)


def test_service_help_is_usage_not_a_bash_error() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "service"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: scripts/service NAME" in result.stdout


def _instance(metrics_port: int, *lines: str, name: str = "mm1") -> str:
    body = "".join(f"{line}\n" for line in lines)
    return f"\n[strategy-{name}]\nmetrics-port = {metrics_port}\n{body}"


INSTANCE_REFUSALS = [  # (id, the appended section, what the refusal says)
    (
        "same strategy id",
        _instance(free_port(), 'strategy-id = "mom1"'),
        "key [strategy-mm1] strategy-id: 'mom1' is also [strategy]'s",
    ),
    (
        "bad name",
        _instance(free_port(), name="MM1"),
        "section [strategy-MM1]: a strategy instance's name",
    ),
    ("bad key", _instance(free_port(), 'kind = "maker"'), "key [strategy-mm1] kind"),
    (
        "bad market-maker key",
        _instance(free_port(), 'strategy-id = "mm1"', "[strategy-mm1.market-maker]", "quote = 1"),
        "key [strategy-mm1] market-maker.quote: unknown key",
    ),
    (
        "no metrics port",
        '\n[strategy-mm1]\nstrategy-id = "mm1"\n',
        "key [strategy-mm1] (section): Object missing required field `metrics-port`",
    ),
]


@pytest.mark.parametrize(
    ("section", "message"),
    [r[1:] for r in INSTANCE_REFUSALS],
    ids=[r[0] for r in INSTANCE_REFUSALS],
)
def test_a_bad_strategy_instance_refuses_the_run_naming_the_key(
    settings: Path, section: str, message: str
) -> None:
    settings.write_text(settings.read_text() + section)

    result = _run(settings)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert not (settings.parent / "run" / "logs" / "supervisord.log").exists()  # nothing ran


def test_an_instance_on_the_strategys_metrics_port_is_refused(settings: Path) -> None:
    strategy = load_section("strategy", StrategySettings, settings)
    settings.write_text(
        settings.read_text() + _instance(strategy.metrics_port, 'strategy-id = "mm1"')
    )

    result = _run(settings)

    assert result.returncode == 2, result.stderr
    port = strategy.metrics_port
    assert f"[strategy-mm1] metrics-port and [strategy] metrics-port are both {port}" in (
        result.stderr
    ), result.stderr


def test_each_instance_is_a_copy_of_the_strategy_program_with_its_own_name_and_log() -> None:
    text = programs_text(["mm1", "mm2"])

    assert "[program:strategy]" not in text
    for priority, name in enumerate(("mm1", "mm2"), start=51):
        start = text.index(f"[program:strategy-{name}]\n")
        block = text[start : text.find("\n[", start + 1)]
        assert f"command = {REPO_ROOT}/scripts/service strategy --instance {name}\n" in block
        assert f"priority = {priority}\n" in block
        assert f"stdout_logfile = %(ENV_TRADING_RUN_DIR)s/logs/strategy-{name}.log\n" in block
        assert "autorestart = unexpected\n" in block
    assert "[program:" not in programs_text([])  # an earlier run's instances do not come back


def test_each_instances_metrics_port_is_a_prometheus_target(tmp_path: Path) -> None:
    path = write_scrape_targets(tmp_path, {"strategy-mm2": 9112, "strategy-mm1": 9111})

    assert json.loads(path.read_text()) == [
        {"targets": ["127.0.0.1:9111"], "labels": {"program": "strategy-mm1"}},
        {"targets": ["127.0.0.1:9112"], "labels": {"program": "strategy-mm2"}},
    ]
    assert json.loads(write_scrape_targets(tmp_path, {}).read_text()) == []  # none lingers
    prometheus = (REPO_ROOT / "deploy" / "prometheus.yml").read_text()
    assert f'files: ["../run/{SCRAPE_TARGETS}"]' in prometheus


def test_an_instance_has_its_own_strategy_endpoints_and_shares_the_rest(settings: Path) -> None:
    endpoints = load_section("bus", BusSettings, settings).endpoints

    own = instance_endpoints(endpoints, "mm1")

    assert own.strategy_events == "ipc://{run_dir}/strategy-mm1.pub"
    assert own.strategy_snapshot == "ipc://{run_dir}/strategy-mm1.snap"
    assert own.order_commands == endpoints.order_commands
    assert own.execution_events == endpoints.execution_events
    tcp = msgspec.structs.replace(endpoints, strategy_events="tcp://127.0.0.1:5555")
    with pytest.raises(SettingsError, match=r"key \[bus.endpoints\] strategy-events: .*ipc"):
        instance_endpoints(tcp, "mm1")


def test_an_instance_the_settings_do_not_have_is_a_clear_error(settings: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.strategy", "--instance", "nope"],
        env={**os.environ, "TRADING_SETTINGS": str(settings)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2, result.stderr
    assert "section [strategy-nope] is missing" in result.stderr, result.stderr
