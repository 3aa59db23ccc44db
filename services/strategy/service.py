"""StrategyService: market data, the universe and execution events in; order commands out.

The instrument rules come from the bus: the feed publishes InstrumentRulesChanged for each
symbol it serves (md.rules.<SYMBOL>., before that symbol's FeedReady, and in its snapshot);
`RulesFromBus` hands them to the strategy's `set_rules`. No venue call: the strategy imports
nothing of the Bybit package.
"""

import contextlib
import logging
from collections import Counter

from services.strategy.api import Output, Strategy
from services.strategy.kinds import build_strategy
from services.strategy.loop import Peer, Sockets, StrategyLoop
from services.strategy.mm.core import MarketMaker
from services.strategy.mm_metrics import MakerMetrics
from services.strategy.settings import StrategySettings
from shared.runtime import run_blocking
from shared.runtime.bootstrap import ServiceContext, start_metrics
from shared.runtime.metrics import CounterCollector
from shared.schema import (
    BusMessage,
    InstrumentRules,
    InstrumentRulesChanged,
    StrategyStatus,
    topics,
)

log = logging.getLogger(__name__)


class RulesFromBus:
    """The strategy as the loop drives it: an InstrumentRulesChanged goes to `set_rules`
    (counted `instrument_rules`; the same rules again, as a snapshot replays them to a
    joining subscriber, counted `instrument_rules_unchanged`), every other message and
    call to the strategy itself."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self._on_message = strategy.on_message  # bound once: one lookup less per message
        self._rules: dict[str, InstrumentRules] = {}

    @property
    def counters(self) -> Counter[str]:
        return self.strategy.counters

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        if type(message) is InstrumentRulesChanged:
            self.set_rules(message.rules)
            return []
        return self._on_message(message, now_ns)

    def on_timer(self, now_ns: int) -> list[Output]:
        return self.strategy.on_timer(now_ns)

    def executor_silent(self, now_ns: int) -> list[Output]:
        return self.strategy.executor_silent(now_ns)

    def set_rules(self, rules: InstrumentRules) -> None:
        if self._rules.get(rules.symbol) == rules:
            self.strategy.counters["instrument_rules_unchanged"] += 1
            return
        self._rules[rules.symbol] = rules
        self.strategy.counters["instrument_rules"] += 1
        log.info(
            "instrument rules symbol=%s tick_size=%s qty_step=%s min_qty=%s",
            rules.symbol,
            rules.tick_size,
            rules.qty_step,
            rules.min_qty,
        )
        self.strategy.set_rules(rules)

    def status(self, now_ns: int) -> StrategyStatus:
        return self.strategy.status(now_ns)


class StrategyService:
    """Runs one strategy (`[strategy] kind`) in a blocking loop on its own thread."""

    name = "strategy"

    def __init__(self, settings: StrategySettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self.machine = build_strategy(settings, context.clock.now_ns())
        self.loop: StrategyLoop | None = None

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx, eps = self._context, self._context.endpoints
        resources.callback(ctx.node.close)
        publisher = ctx.node.publisher(eps.strategy_events)
        inbox = ctx.node.subscriber(
            [eps.universe, eps.market_data, eps.execution_events],
            [topics.UNIVERSE, topics.MARKET_DATA, topics.EXECUTION],
        )
        peers = (
            Peer("scanner", ctx.node.snapshot_client(eps.universe_snapshot), topics.UNIVERSE),
            Peer("feed", ctx.node.snapshot_client(eps.market_data_snapshot), topics.MARKET_DATA),
            Peer("executor", ctx.node.snapshot_client(eps.execution_snapshot), topics.EXECUTION),
        )
        loop_ref: list[StrategyLoop] = []
        server = ctx.node.snapshot_server(
            eps.strategy_snapshot, publisher, lambda prefix: loop_ref[0].snapshot(prefix)
        )
        sockets = Sockets(
            inbox, ctx.node.command_sender(eps.order_commands), publisher, server, peers
        )
        self.loop = StrategyLoop(
            RulesFromBus(self.machine),
            self._settings.strategy_id,
            sockets,
            ctx.node.liveness,
            ctx.clock,
            ctx.bus.snapshot_timeout_ms / 1000,
        )
        loop_ref.append(self.loop)
        loop = self.loop
        ctx.registry.register(
            CounterCollector("strategy_events", "Strategy events", lambda: self.machine.counters)
        )
        ctx.registry.register(
            CounterCollector("strategy_loop", "Strategy loop events", lambda: loop.counters)
        )
        if isinstance(self.machine, MarketMaker):  # fed on the loop's thread, read at scrape
            maker, maker_metrics = self.machine, MakerMetrics.of(self.machine)
            ctx.registry.register(maker_metrics)
            loop.periodic.append(lambda: maker_metrics.feed(maker))
        start_metrics(ctx, self._settings.metrics_port, resources)

    async def run(self) -> None:
        assert self.loop is not None
        await run_blocking(self.loop.run, "strategy.loop")
