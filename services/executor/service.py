"""ExecutorService: order commands in, venue orders out; the venue's reports in, exec.* out."""

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass

from services.executor.commands import take
from services.executor.guard_core import MAIN_INSTANCE
from services.executor.journal import Journal
from services.executor.ports import Outbox, Parts, TradingStatus
from services.executor.registry import OrderRegistry
from services.executor.settings import ExecutorSettings
from services.executor.venue_events import PRIVATE_TOPICS
from services.executor.workers import Workers, register_metrics, venue_clients
from shared.bus import (
    CommandReceiver,
    Publisher,
    Receiver,
    SnapshotServer,
)
from shared.bybit.errors import BybitError
from shared.bybit.stream import BybitStream
from shared.bybit.translate import instrument_rules
from shared.runtime.bootstrap import ServiceContext, start_metrics, upkeep
from shared.schema import (
    BusMessage,
    ExecutionSnapshot,
    TradingState,
    topics,
)
from shared.settings import INSTANCE_PREFIX, instance_endpoints, strategy_instances

log = logging.getLogger(__name__)
COMMANDS_PER_TURN = 64  # commands taken before other tasks get a turn (answers, the stream)


@dataclass(frozen=True)
class _Wired:
    """What start() builds: sockets, the venue stream, and the workers that share `Parts`."""

    publisher: Publisher
    snapshots: SnapshotServer
    commands: CommandReceiver
    market: Receiver
    strategies: dict[str, Receiver]  # each strategy instance's events, by instance name
    stream: BybitStream
    work: Workers


class ExecutorService:
    name = "executor"

    def __init__(self, settings: ExecutorSettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self._clock = context.clock
        self._limits = settings.risk_limits()
        self.registry = OrderRegistry()
        self.counters: Counter[str] = Counter()
        self.status = TradingStatus()
        self.accepting = False  # commands are taken only while True
        self.journal: Journal | None = None
        self._wired: _Wired | None = None

    @property
    def state(self) -> TradingState:
        return self.status.state

    @property
    def workers(self) -> Workers:
        """The workers built by start() (tests and benchmarks drive them directly)."""
        assert self._wired is not None, "start() first"
        return self._wired.work

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx, eps = self._context, self._context.endpoints
        resources.callback(ctx.node.close)
        publisher = ctx.node.publisher(eps.execution_events)
        snapshots = ctx.node.snapshot_server(
            eps.execution_snapshot, publisher, self._snapshot_provider
        )
        commands = ctx.node.command_receiver(eps.order_commands)
        market = ctx.node.subscriber([eps.market_data], ["md.trade."])
        strategies = {
            MAIN_INSTANCE: ctx.node.subscriber(
                [eps.strategy_events], ["strategy."], deliver_heartbeats=True
            )
        }
        for name in strategy_instances():  # [strategy-<name>]: its own endpoint, own pulse
            strategies[f"{INSTANCE_PREFIX}{name}"] = ctx.node.subscriber(
                [instance_endpoints(eps, name).strategy_events],
                ["strategy."],
                deliver_heartbeats=True,
            )
        self.journal = Journal(
            ctx.run_dir / "executor-journal.sqlite",
            self._settings.journal_synchronous,
            group_commits=True,
        )
        resources.callback(self.journal.close)
        rest, stream = venue_clients(ctx, self._settings, resources)
        outbox = Outbox(publisher, self._clock, self.counters, self.status, self.journal)
        self.journal.on_group_open = outbox.schedule_end_of_turn
        parts = Parts(
            self._clock, self.registry, self.journal, rest, self.counters, self.status, outbox
        )
        work = Workers.build(parts, self._settings, self._limits)
        register_metrics(ctx.registry, parts, work.calls)
        start_metrics(ctx, self._settings.metrics_port, resources)
        self._wired = _Wired(publisher, snapshots, commands, market, strategies, stream, work)

    async def run(self) -> None:
        assert self._wired is not None
        w = self._wired
        w.work.reconciler.restore_from_journal()
        rest, allowed = w.work.parts.rest, self._limits.allowed_symbols
        await rest.sync_time()
        w.work.flow.rules = {
            i.symbol: instrument_rules(i) for i in await rest.instruments() if i.symbol in allowed
        }
        w.work.parts.outbox.set_state(self.status.state, self.status.reason)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(w.work.events.follow(w.stream), name="executor.stream")
                tasks.create_task(w.stream.subscribe(PRIVATE_TOPICS), name="executor.sub")
                tasks.create_task(w.work.reconciler.run(), name="executor.reconcile")
                tasks.create_task(self._take_commands(w), name="executor.commands")
                tasks.create_task(w.work.prices.follow_market(w.market), name="executor.market")
                tasks.create_task(w.work.prices.run(), name="executor.prices")
                tasks.create_task(w.work.calls.keep_warm(), name="executor.warm")
                tasks.create_task(w.work.guard.run(w.strategies), name="executor.guard")
                heartbeat_s = self._context.bus.heartbeat_interval_ms / 1000
                tasks.create_task(
                    upkeep(w.publisher, w.snapshots, heartbeat_s), name="executor.upkeep"
                )
        except asyncio.CancelledError:
            await self._shutdown(w.work)
            raise

    async def _shutdown(self, work: Workers) -> None:
        """SIGTERM: no more commands; cancel working orders, confirm over REST, maybe flatten.

        The private stream has stopped with the other tasks, and the answers still awaited
        are not read: a last REST reconciliation books what happened meanwhile (a fill that
        beat the cancel, the flattening fills).
        """
        self.accepting = False
        flatten = self._settings.flatten_on_shutdown
        try:
            async with asyncio.timeout(self._settings.shutdown_timeout_s):
                await work.calls.cancel_tasks()
                await work.control.cancel_everything()
                if flatten:
                    await work.control.flatten_all(None, "shutdown (flatten-on-shutdown)")
                await work.reconciler.poll()
        except (TimeoutError, BybitError) as e:
            log.error("shutdown: working orders not confirmed cancelled error=%s", e)
            return
        finally:
            work.parts.outbox.end_turn()  # the last writes committed, their events out
        log.info("shutdown: no working orders at the venue%s", ", flattened" if flatten else "")

    def _snapshot_provider(self, prefix: bytes) -> list[tuple[bytes, BusMessage]]:
        snapshot = self._snapshot()
        return [(topics.topic_for(snapshot, self.name), snapshot)]

    def _snapshot(self) -> ExecutionSnapshot:
        if self._wired is not None:  # the events it reflects are published before it
            self._wired.work.parts.outbox.end_turn()
        status = self.status
        return self.registry.snapshot(status.state, status.reconciled, self._clock.now_ns())

    async def _take_commands(self, w: _Wired) -> None:
        """Each command is decided and its request written before the next is read: no
        await per command (a wake-up costs 100 µs or more); other tasks get a turn after
        COMMANDS_PER_TURN commands, or when none is waiting."""
        self.accepting = True
        taken = 0
        while self.accepting:
            item = w.commands.receive_nowait()
            if item is None or taken >= COMMANDS_PER_TURN:
                taken = 0
                if item is None:
                    await w.commands.receiver.wait(0.5)
                else:
                    await asyncio.sleep(0)  # a turn for the answers and the stream
                    take(w.work, item, self._snapshot)
                continue
            taken += 1
            take(w.work, item, self._snapshot)
