"""The scanner on the simulator: publishes its choice, serves snapshots, rides out REST failures."""

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from scripts.control import free_port
from services.scanner.service import STATE_FILE, ScannerService, load_state, save_state
from services.scanner.settings import ScannerSettings
from shared.bus import BusNode, Receiver
from shared.runtime import LiveClock
from shared.runtime.bootstrap import ServiceContext, Venue, cancel_and_wait
from shared.schema import (
    BusMessage,
    RankedSymbol,
    ServiceState,
    ServiceStatus,
    Symbol,
    UniverseChanged,
)
from shared.settings import (
    REPO_ROOT,
    BybitSettings,
    Mode,
    Secrets,
    SettingsError,
    SystemSettings,
    load_section,
)
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

MakeNode = Callable[..., BusNode]
FAST: dict[str, Any] = {  # scan often, retry soon: the tests wait on conditions, not on clocks
    "interval_s": 0.05,
    "retry_backoff_initial_s": 0.05,
    "retry_backoff_max_s": 0.2,
}


@dataclass
class Scanner:
    service: ScannerService
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@contextlib.asynccontextmanager
async def running_scanner(
    sim: Sim, node: BusNode, run_dir: Path, **overrides: Any
) -> AsyncIterator[Scanner]:
    """Start a ScannerService wired by hand (no settings file, no real run dir)."""
    settings = ScannerSettings(metrics_port=free_port(), **{**FAST, **overrides})
    ws = f"{sim.ws_url}/v5"
    context = ServiceContext(
        name="scanner",
        system=SystemSettings(),
        bus=node.settings,
        endpoints=node.settings.endpoints,
        bybit=BybitSettings(timeout_s=2.0),
        venue=Venue(Mode.PAPER, sim.url, f"{ws}/public/linear", f"{ws}/private"),
        secrets=Secrets(),
        clock=LiveClock(),
        node=node,
        run_dir=run_dir,
        registry=CollectorRegistry(),
    )
    service = ScannerService(settings, context)
    async with contextlib.AsyncExitStack() as resources:
        await service.start(resources)
        task = asyncio.create_task(service.run())
        try:
            yield Scanner(service, context.registry)
        finally:
            await cancel_and_wait(task)  # re-raises a crash of run()


class Inbox:
    """What a subscriber to the universe endpoint has received so far."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self.messages: list[BusMessage] = []

    def _drain(self) -> list[BusMessage]:
        self.messages.extend(d.message for d in self._receiver.drain())
        return self.messages

    def universes(self) -> list[UniverseChanged]:
        return [m for m in self._drain() if isinstance(m, UniverseChanged)]

    def statuses(self, state: ServiceState) -> list[ServiceStatus]:
        return [m for m in self._drain() if isinstance(m, ServiceStatus) and m.state is state]


def subscribe(make_node: MakeNode) -> Inbox:
    node = make_node("tester")
    return Inbox(node.subscriber([node.settings.endpoints.universe], ["universe.", "status."]))


async def snapshot(make_node: MakeNode) -> list[UniverseChanged]:
    node = make_node("late")
    client = node.snapshot_client(node.settings.endpoints.universe_snapshot)
    reply = await client.fetch_async("universe.", timeout_s=2)
    return [m for _, m in reply.messages if isinstance(m, UniverseChanged)]


async def test_subscriber_receives_the_choice_with_its_ranking(
    make_node: MakeNode, tmp_path: Path
) -> None:
    # Arrange: the venue fails at first, so the subscriber is surely connected before the
    # first choice (it sees the DEGRADED status), then the venue recovers.
    async with running_simulator() as sim:
        await sim.set_faults(rest_5xx_rate=1.0)
        async with running_scanner(
            sim, make_node("scanner"), tmp_path, top_n=5, whitelist=("BTCUSDT",)
        ) as scanner:
            inbox = subscribe(make_node)
            await eventually(lambda: inbox.statuses(ServiceState.DEGRADED))

            # Act
            await sim.set_faults(rest_5xx_rate=0.0)
            await eventually(inbox.universes)

            # Assert
            [choice] = inbox.universes()
            assert choice.epoch == 1
            assert choice.symbol == choice.ranking[0].symbol
            assert len(choice.ranking) == 5
            scores = [r.score for r in choice.ranking]
            assert scores == sorted(scores, reverse=True)
            btc = next(r for r in choice.ranking if r.symbol == "BTCUSDT")
            assert btc.boost == 1.3
            assert btc.score == pytest.approx(
                float(btc.turnover_24h * abs(btc.price_24h_pcnt)) * 1.3
            )
            await eventually(lambda: inbox.statuses(ServiceState.RUNNING))
            running = inbox.statuses(ServiceState.RUNNING)[-1]
            assert running.detail.startswith(f"{choice.symbol} epoch=1 score=")
            assert scanner.metric("scanner_switches_total") == 1
            assert scanner.metric("scanner_epoch") == 1


async def test_late_subscriber_gets_the_choice_from_the_snapshot(
    make_node: MakeNode, tmp_path: Path
) -> None:
    async with (
        running_simulator() as sim,
        running_scanner(sim, make_node("scanner"), tmp_path) as scanner,
    ):
        await eventually(lambda: scanner.service.choice is not None)

        choices = await snapshot(make_node)

        assert choices == [scanner.service.choice]
        assert choices[0].epoch == 1


async def test_rest_failure_keeps_the_symbol_reports_degraded_then_recovers(
    make_node: MakeNode, tmp_path: Path
) -> None:
    async with (
        running_simulator() as sim,
        running_scanner(sim, make_node("scanner"), tmp_path) as scanner,
    ):
        await eventually(lambda: scanner.service.choice is not None)
        choice = scanner.service.choice
        assert choice is not None
        inbox = subscribe(make_node)
        await eventually(lambda: inbox.statuses(ServiceState.RUNNING))

        # Act: every REST answer is a 503
        await sim.set_faults(rest_5xx_rate=1.0)
        await eventually(lambda: inbox.statuses(ServiceState.DEGRADED))

        # Assert: the symbol is kept, and said to be kept
        degraded = inbox.statuses(ServiceState.DEGRADED)[0]
        assert degraded.detail.startswith("REST http_status:")
        assert f"keeping {choice.symbol}, retry in" in degraded.detail
        assert scanner.service.choice == choice
        assert inbox.universes() == []
        assert await snapshot(make_node) == [choice]
        assert scanner.metric("scanner_scan_failures_total", kind="http_status") >= 1

        # Act: the venue recovers
        running_before = len(inbox.statuses(ServiceState.RUNNING))  # none come while failing
        await sim.set_faults(rest_5xx_rate=0.0)
        await eventually(lambda: len(inbox.statuses(ServiceState.RUNNING)) > running_before)
        assert scanner.service.choice == choice


async def test_restart_continues_the_epoch_and_republishes_the_choice(
    make_node: MakeNode, tmp_path: Path
) -> None:
    async with running_simulator() as sim:
        async with running_scanner(sim, make_node("scanner"), tmp_path) as first:
            await eventually(lambda: first.service.choice is not None)
            before = first.service.choice
        assert before is not None
        assert load_state(tmp_path / STATE_FILE) == before

        async with running_scanner(sim, make_node("scanner2"), tmp_path) as second:
            # Assert: restored in start(), before any scan, and served to late joiners
            restored = second.service.choice
            assert restored is not None
            assert (restored.symbol, restored.epoch) == (before.symbol, 1)
            assert restored.reason.startswith("restored after restart")
            [served] = await snapshot(make_node)
            assert (served.symbol, served.epoch) == (before.symbol, 1)
            await eventually(lambda: second.metric("scanner_scans_total") >= 3)
            assert second.service.choice == restored  # same market: no switch, no new epoch


async def test_restored_symbol_that_became_ineligible_is_replaced_in_the_next_epoch(
    make_node: MakeNode, tmp_path: Path
) -> None:
    # Arrange: the last run chose MOONPIEUSDT (24 h turnover ~1e5, below the 1e6 minimum)
    stale = UniverseChanged(
        symbol=Symbol("MOONPIEUSDT"),
        epoch=41,
        ranking=(
            RankedSymbol(
                symbol=Symbol("MOONPIEUSDT"),
                score=1.0,
                turnover_24h=Decimal(2_000_000),
                price_24h_pcnt=Decimal("0.1"),
                boost=1.0,
                last_price=Decimal("0.008765"),
            ),
        ),
        reason="first choice",
        ts_event_ns=1,
    )
    save_state(tmp_path / STATE_FILE, stale)

    async with (
        running_simulator() as sim,
        running_scanner(sim, make_node("scanner"), tmp_path) as scanner,
    ):
        # Act
        await eventually(lambda: scanner.service.choice and scanner.service.choice.epoch == 42)

        # Assert
        choice = scanner.service.choice
        assert choice is not None
        assert choice.symbol != "MOONPIEUSDT"
        assert choice.reason.startswith("MOONPIEUSDT ineligible (turnover_24h=")
        assert load_state(tmp_path / STATE_FILE) == choice


def test_deployed_scanner_settings_decode() -> None:
    settings = load_section("scanner", ScannerSettings)

    assert settings.metrics_port == 9101
    assert settings.hysteresis >= 1
    assert "BTCUSDT" in settings.whitelist


def test_settings_refuse_a_backoff_cap_below_its_start(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        "[scanner]\nmetrics-port = 9101\nretry-backoff-initial-s = 5.0\nretry-backoff-max-s = 1.0\n"
    )

    with pytest.raises(SettingsError, match="retry-backoff-max-s"):
        load_section("scanner", ScannerSettings, path)


def test_help_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.scanner", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0
    assert "--once" in result.stdout
    assert "--interval-s" in result.stdout


async def test_once_prints_the_ranking_and_exits_0(tmp_path: Path) -> None:
    async with running_simulator() as sim:
        settings_path = _settings_file(tmp_path, sim.url)
        env = {
            **os.environ,
            "TRADING_SETTINGS": str(settings_path),
            "TRADING_RUN_DIR": str(tmp_path / "run"),
            "PYTHONPATH": str(REPO_ROOT),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.scanner",
            "--once",
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["rank", "symbol", "score"]
    assert lines[1].split()[0] == "1"
    assert any(line.startswith("  excluded MOONPIEUSDT: turnover_24h=") for line in lines)
    assert lines[-1].startswith("current=None epoch=0 -> symbol=")


def _settings_file(directory: Path, rest_url: str) -> Path:
    endpoints = "\n".join(
        f'{name} = "ipc://{{run_dir}}/{name}"'
        for name in (
            "universe",
            "universe-snapshot",
            "market-data",
            "market-data-snapshot",
            "order-commands",
            "execution-events",
            "execution-snapshot",
            "strategy-events",
            "strategy-snapshot",
        )
    )
    path = directory / "settings.toml"
    path.write_text(
        f'[system]\nmode = "paper"\n\n[bus.endpoints]\n{endpoints}\n\n'
        f'[bybit]\npaper-rest-url = "{rest_url}"\n\n[scanner]\nmetrics-port = 9101\n'
    )
    return path
