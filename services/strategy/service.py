"""StrategyService: market data, the universe and execution events in; order commands out."""

import contextlib
import logging

from services.strategy.kinds import build_strategy
from services.strategy.loop import Peer, Sockets, StrategyLoop
from services.strategy.mm.core import MarketMaker
from services.strategy.mm_metrics import MakerMetrics
from services.strategy.settings import StrategySettings
from shared.bybit.rest import BybitRest
from shared.bybit.translate import instrument_rules
from shared.runtime import run_blocking
from shared.runtime.bootstrap import ServiceContext, start_metrics
from shared.runtime.metrics import CounterCollector
from shared.schema import topics

log = logging.getLogger(__name__)


class StrategyService:
    """Runs one strategy (`[strategy] kind`) in a blocking loop on its own thread."""

    name = "strategy"

    def __init__(self, settings: StrategySettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self.machine = build_strategy(settings, context.clock.now_ns())
        self.loop: StrategyLoop | None = None
        self._rest: BybitRest | None = None

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
            self.machine,
            self._settings.strategy_id,
            sockets,
            ctx.node.liveness,
            ctx.clock,
            ctx.bus.snapshot_timeout_ms / 1000,
        )
        loop_ref.append(self.loop)
        self._rest = BybitRest(ctx.venue.rest_url, clock=ctx.clock)  # public data only: no keys
        resources.push_async_callback(self._rest.close)
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
        assert self._rest is not None
        instruments = await self._rest.instruments()
        for instrument in instruments:
            self.machine.set_rules(instrument_rules(instrument))
        log.info("instrument rules loaded symbols=%d", len(instruments))
        await run_blocking(self.loop.run, "strategy.loop")
