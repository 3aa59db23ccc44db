"""The strategy on the real bus beside an executor stand-in the test drives.

Simulator, feed and strategy are the real ones (the scanner is a publisher, as in
strategy_rig); the executor is `FakeExecutor`: a node named "executor" on the real
endpoints that serves the snapshot the test sets, publishes the events the test sends,
keeps the commands it receives, and restarts as a new incarnation (a new node, the same
endpoints), as a restarted executor process does.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.control import free_port
from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from services.strategy.service import StrategyService
from services.strategy.settings import StrategySettings
from shared.bus import BusNode, Publisher
from shared.bus.frames import Delivery
from shared.runtime.bootstrap import upkeep
from shared.schema import (
    BusMessage,
    ExecutionSnapshot,
    SubmitOrder,
    Symbol,
    TradingState,
    UniverseChanged,
    topics,
)
from tests.helpers.context import make_context
from tests.helpers.simulator import Sim, running_simulator

MakeNode = Callable[..., BusNode]
_BEAT_MS = 100


def execution_snapshot(*positions: Any, orders: tuple[Any, ...] = ()) -> ExecutionSnapshot:
    return ExecutionSnapshot(
        open_orders=orders,
        positions=positions,
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=0,
    )


@dataclass
class FakeExecutor:
    make_node: MakeNode
    snapshot: ExecutionSnapshot
    commands: list[SubmitOrder] = field(default_factory=list)  # every incarnation's
    incarnations: int = 0
    _node: BusNode | None = None
    _publisher: Publisher | None = None
    _task: "asyncio.Task[None] | None" = None

    def start(self) -> None:
        node = self.make_node("executor", heartbeat_interval_ms=_BEAT_MS)
        eps = node.settings.endpoints
        publisher = node.publisher(eps.execution_events)
        server = node.snapshot_server(eps.execution_snapshot, publisher, self._serve)
        receiver = node.command_receiver(eps.order_commands)
        self._node, self._publisher = node, publisher
        self.incarnations += 1

        async def run() -> None:
            serving = asyncio.create_task(upkeep(publisher, server, _BEAT_MS / 1000))
            try:
                while True:
                    await receiver.receiver.wait(0.02)
                    while (item := receiver.receive_nowait()) is not None:
                        if isinstance(item, Delivery) and isinstance(item.message, SubmitOrder):
                            self.commands.append(item.message)
            finally:
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
                receiver.receiver.close()
                server.close()

        self._task = asyncio.create_task(run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._node is not None:
            self._node.close()
        self._task = self._node = self._publisher = None

    async def restart(self, snapshot: ExecutionSnapshot) -> None:
        """Stop, then come back as a new incarnation whose snapshot is `snapshot`."""
        await self.stop()
        self.snapshot = snapshot
        self.start()

    def send(self, event: BusMessage) -> None:
        assert self._publisher is not None
        self._publisher.send(event)

    def _serve(self, prefix: bytes) -> list[tuple[bytes, BusMessage]]:
        return [(topics.topic_for(self.snapshot, "executor"), self.snapshot)]


@dataclass
class FakeExecutorRig:
    sim: Sim
    feed: FeedService
    strategy: StrategyService
    universe: Publisher
    executor: FakeExecutor

    def announce(self, symbol: str, epoch: int) -> None:
        self.universe.send(
            UniverseChanged(
                symbol=Symbol(symbol), epoch=epoch, ranking=(), reason="test", ts_event_ns=0
            )
        )


@contextlib.asynccontextmanager
async def fake_executor_rig(
    make_node: MakeNode, ipc_dir: Path, *, strategy: dict[str, Any]
) -> AsyncIterator[FakeExecutorRig]:
    """Start every part; yield once the strategy runs (nothing announced, executor flat).

    The strategy's node beats every second, so it takes the executor for silent only after
    3 s without a frame: a restart quicker than that is seen as a new incarnation only.
    """
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as sim:
        scanner = make_node("scanner", heartbeat_interval_ms=_BEAT_MS)
        eps = scanner.settings.endpoints
        universe = scanner.publisher(eps.universe)
        universe_snapshots = scanner.snapshot_server(eps.universe_snapshot, universe)
        feed = FeedService(
            FeedSettings(metrics_port=free_port()),
            make_context(
                "feed", make_node("feed", heartbeat_interval_ms=_BEAT_MS), ipc_dir, sim.url
            ),
        )
        executor = FakeExecutor(make_node, execution_snapshot())
        service = StrategyService(
            StrategySettings(metrics_port=free_port(), **strategy),
            make_context(
                "strategy", make_node("strategy", heartbeat_interval_ms=1_000), ipc_dir, sim.url
            ),
        )
        tasks: list[asyncio.Task[None]] = []
        async with contextlib.AsyncExitStack() as stack:
            tasks.append(asyncio.create_task(upkeep(universe, universe_snapshots, 0.05)))
            await feed.start(stack)
            tasks.append(asyncio.create_task(feed.run()))
            executor.start()
            await service.start(stack)
            tasks.append(asyncio.create_task(service.run()))
            try:
                yield FakeExecutorRig(sim, feed, service, universe, executor)
            finally:
                await executor.stop()
                for task in reversed(tasks):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
