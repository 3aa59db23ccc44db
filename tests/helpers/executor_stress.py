"""The executor stress rig: a real executor for bursts of SubmitOrders, with the venue's faults on.

The executor runs in this process (its RSS is this process's) with a fake strategy per
strategy id over real ZeroMQ (ipc://); the simulator runs as its own process on loopback
(`python -m services.simulator`), with Bybit's per-endpoint rate limits off (they cap creates
at 10/s: a 1,000-intent burst would take 100 s) and its faults switched on once the executor
is up. Shared by tests/integration/test_executor_stress.py and
scripts/benchmarks/executor_stress.py.
"""

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from scripts.benchmarks.simulator import API_KEY, API_SECRET, simulator_process
from scripts.control import free_port
from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from shared.bus import BusNode, Receiver, Sender, Signer, SnapshotClient
from shared.runtime import LiveClock
from shared.schema import (
    BusMessage,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    TradingState,
)
from shared.settings import BusSettings, Endpoints, Secrets
from tests.helpers.context import make_context
from tests.helpers.executor_rig import heartbeats
from tests.helpers.waiting import eventually

SECOND: Final = 1_000_000_000
STRATEGIES: Final = ("stress1", "stress2", "stress3", "stress4")
MIN_QTY: Final = {"BTCUSDT": Decimal("0.001"), "ETHUSDT": Decimal("0.01")}
# Moderate faults (scripts/chaos uses the same kinds): 5xx answers, creates accepted but
# answered too late for the executor (rest_timeout_s below), private frames lost and doubled.
FAULTS: Final[dict[str, Any]] = {
    "rest-5xx-rate": 0.01,
    "timeout-after-accept-rate": 0.005,
    "timeout-after-accept-s": 1.5,
    "ws-drop-rate": 0.01,
    "ws-duplicate-rate": 0.05,
}
# Sized so that the burst is mostly sent: 1,000 orders fit the minute (also each strategy's
# 600); an order counts as open from its create until its fill or cancel is booked, and the
# executor sends creates ahead of their answers, so open orders (the resting fifth of the
# burst and the orders in flight) may reach max_open_orders: those are denied, with a reason.
# The position limit counts working orders as if they filled: sized for half the burst on one
# side (500 x ~0.002 BTC or ETH-equivalent), so that it too denies only the tail, if any.
RISK: Final[dict[str, Any]] = {
    "max_orders_per_minute": 1_200,
    "max_open_orders": 800,
    "max_position_notional_usdt": 150_000.0,
    "price_max_age_s": 2.0,  # no feed here: the last price comes from the venue's tickers
    "rest_timeout_s": 1.0,  # below timeout-after-accept-s: a held-back create is in doubt
}
TERMINAL: Final = (OrderFilled, OrderCanceled, OrderRejected, OrderDenied)
FIRST_ANSWERS: Final = (OrderAccepted, OrderRejected, OrderDenied)


def rss_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass
class Answers:
    """Every execution event heard: by client_order_id, and when (monotonic) the first answer
    (accepted, rejected, denied) and the terminal one (filled, canceled, rejected, denied) came."""

    by_order: dict[str, list[BusMessage]] = field(default_factory=dict)
    first: dict[str, float] = field(default_factory=dict)
    terminal: dict[str, float] = field(default_factory=dict)
    others: list[tuple[float, BusMessage]] = field(default_factory=list)

    def add(self, message: BusMessage, now: float) -> None:
        coid = getattr(message, "client_order_id", "")
        if not coid:
            self.others.append((now, message))
            return
        self.by_order.setdefault(coid, []).append(message)
        if isinstance(message, FIRST_ANSWERS):
            self.first.setdefault(coid, now)
        if isinstance(message, TERMINAL):
            self.terminal.setdefault(coid, now)

    def first_of(self, kind: type, after: float) -> float | None:
        """When the first `kind` without a client_order_id came after `after`, or None."""
        return next((t for t, m in self.others if t >= after and isinstance(m, kind)), None)

    def of_kind(self, kind: type) -> list[Any]:
        return [m for ms in self.by_order.values() for m in ms if isinstance(m, kind)]


@dataclass
class StressRig:
    executor: ExecutorService
    task: "asyncio.Task[None]"
    commands: Sender
    events: Receiver
    snapshots: SnapshotClient
    strategy: BusNode
    run_dir: Path
    venue_url: str
    answers: Answers = field(default_factory=Answers)

    def collect(self) -> None:
        now = time.monotonic()
        for delivery in self.events.drain(10_000):
            self.answers.add(delivery.message, now)

    async def until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Collect events until `condition()` holds (True), or `timeout_s` passed or the
        executor's task ended (False)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.collect()
            if condition():
                return True
            if time.monotonic() > deadline or self.task.done():
                return False
            await self.events.wait(0.05)

    async def send(self, command: BusMessage) -> None:
        """Send, waiting while the PUSH socket is at its high-water mark (back-pressure)."""
        await eventually(lambda: self.commands.send(command), timeout_s=30)

    def journal_ids(self) -> list[str]:
        """client_order_id of every journaled intent of the stress strategies (repeats kept)."""
        marks = ",".join("?" * len(STRATEGIES))
        query = f"SELECT client_order_id FROM intents WHERE strategy_id IN ({marks})"
        path = self.run_dir / "executor-journal.sqlite"
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return [row[0] for row in db.execute(query, STRATEGIES)]

    def journal_rows(self, coids: list[str]) -> list[tuple[str, str]]:
        """(client_order_id, status) of these intents in the journal."""
        marks = ",".join("?" * len(coids))
        query = f"SELECT client_order_id, status FROM intents WHERE client_order_id IN ({marks})"
        path = self.run_dir / "executor-journal.sqlite"
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return [(row[0], row[1]) for row in db.execute(query, coids)]

    def set_faults(self, faults: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.venue_url}/admin/faults",
            data=json.dumps(faults).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def venue_stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.venue_url}/admin/stats", timeout=5) as response:
            stats: dict[str, Any] = json.loads(response.read())
        return stats

    def last_prices(self) -> dict[str, Decimal]:
        url = f"{self.venue_url}/v5/market/tickers?category=linear"
        with urllib.request.urlopen(url, timeout=5) as response:
            rows = json.loads(response.read())["result"]["list"]
        return {r["symbol"]: Decimal(r["lastPrice"]) for r in rows if r["symbol"] in MIN_QTY}


@contextlib.contextmanager
def venue() -> Iterator[str]:
    """The simulator as its own process (BTCUSDT, ETHUSDT, no rate limits): its URL."""
    with simulator_process("--no-rate-limits", "--symbols", ",".join(MIN_QTY)) as url:
        yield url


def _node(name: str, directory: Path) -> BusNode:
    endpoints = Endpoints(**{f: f"ipc://{directory}/{f}" for f in Endpoints.__struct_fields__})
    settings = BusSettings(endpoints=endpoints, heartbeat_interval_ms=100)
    return BusNode(name, settings, signer=Signer(None), clock=LiveClock())


@contextlib.asynccontextmanager
async def stress_rig(directory: Path, venue_url: str, **settings: Any) -> AsyncIterator[StressRig]:
    """The executor (RISK, then `settings`) on `venue_url`, its bus and journal in
    `directory` (short: ipc paths), and one fake strategy node sending for all STRATEGIES."""
    strategy, node = _node("strategy", directory), _node("executor", directory)
    eps = strategy.settings.endpoints
    pulse = strategy.publisher(eps.strategy_events)
    events = strategy.subscriber([eps.execution_events], ["exec.", "alert."])
    config = ExecutorSettings(metrics_port=free_port(), **{**RISK, **settings})
    context = dataclasses.replace(
        make_context("executor", node, directory, venue_url),
        secrets=Secrets(bybit_api_key=API_KEY, bybit_api_secret=API_SECRET),
    )
    executor = ExecutorService(config, context)
    try:
        async with contextlib.AsyncExitStack() as stack:
            await executor.start(stack)
            task = asyncio.create_task(executor.run())
            heart = asyncio.create_task(heartbeats(pulse))
            await eventually(lambda: executor.state is TradingState.ACTIVE or task.done(), 15)
            assert not task.done(), task
            alive = strategy.liveness.is_alive
            await eventually(lambda: alive("executor", time.time_ns()) or events.drain())
            snapshots = strategy.snapshot_client(eps.execution_snapshot)
            commands = strategy.command_sender(eps.order_commands)
            try:
                yield StressRig(
                    executor, task, commands, events, snapshots, strategy, directory, venue_url
                )
            finally:
                for running in (heart, task):
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
    finally:
        strategy.close()
