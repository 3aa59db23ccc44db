"""DashboardService: the bus, supervisord and the scrapes folded into one view, served."""

import asyncio
import contextlib
import logging
from typing import Final

from aiohttp import web

from services.dashboard.controls import Controls
from services.dashboard.market import QuoteSampler
from services.dashboard.metrics import MetricsFold
from services.dashboard.polls import Supervisor, poll_journal, poll_supervisor, scrape_metrics
from services.dashboard.processes import Liveness, ProcessFold
from services.dashboard.queue import QueueBoard
from services.dashboard.server import Hub, Server
from services.dashboard.settings import DashboardSettings
from services.dashboard.sources import BusSources
from services.dashboard.view import Header, View, ensure_service
from services.dashboard.wiring import daily_loss_limit, metrics_ports, subscribe
from shared.runtime.bootstrap import ServiceContext, start_metrics
from shared.runtime.metrics import CounterCollector, GaugeCollector
from shared.settings import read_settings, settings_path

log = logging.getLogger(__name__)

_SENDERS: Final = ("status.", "alert.")


class DashboardService:
    """Own the view, its sources and the web server; send nothing unless an operator acts."""

    name = "dashboard"

    def __init__(
        self,
        settings: DashboardSettings,
        context: ServiceContext,
        token: str | None,
        targets: dict[str, int] | None = None,
    ) -> None:
        """`targets`: service -> metrics port to scrape (default: every metrics-port of the
        settings file)."""
        self._settings = settings
        self._context = context
        self._token = token
        document = read_settings(settings_path()).document
        self.targets = metrics_ports(document) if targets is None else targets
        header = Header(
            mode=context.system.mode.value,
            run_dir=str(context.run_dir),
            controls_enabled=token is not None,
            daily_loss_limit_usdt=daily_loss_limit(document),
        )
        self.view = View(header)
        for name in self.targets:  # every service the settings name, known or not
            ensure_service(self.view, name)
        self.sampler = QuoteSampler(settings.quotes_per_s)
        self.hub = Hub(self.view, context.clock)
        self.queues = QueueBoard()
        self.sources = BusSources(
            context.node, self.view, self.sampler, self.queues, self._changed, context.clock
        )
        self.controls = Controls(
            context.node,
            self.view,
            context.clock,
            timeout_s=settings.control_timeout_s,
            refresh=lambda: self.sources.refresh("executor"),
            commands_endpoint=context.endpoints.order_commands,
        )
        self.server = Server(
            self.hub,
            self.controls,
            token=token,
            reports_root=settings.reports_root(),
            allowed_host=settings.host,
        )
        self._processes = ProcessFold()
        self._metrics = MetricsFold()
        self.url = settings.url()
        self._interval_ns = settings.push_interval_ms * 1_000_000
        self._last_flush_ns = 0
        self._flush_handle: asyncio.TimerHandle | None = None

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx = self._context
        resources.callback(ctx.node.close)
        subscribe(self.sources, ctx.node, ctx.endpoints, ctx.bus)
        runner = web.AppRunner(self.server.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        resources.push_async_callback(runner.cleanup)
        site = web.TCPSite(
            runner,
            self._settings.host,
            self._settings.port,
            ssl_context=self._settings.tls_context(),
        )
        await site.start()
        log.info("dashboard serving url=%s controls=%s", self.url, self._token is not None)
        ctx.registry.register(CounterCollector("dashboard_events", "Dashboard events", self.counts))
        ctx.registry.register(
            GaugeCollector(
                "dashboard_pages",
                "Pages connected",
                "kind",
                lambda: {"websocket": len(self.hub.clients)},
            )
        )
        start_metrics(ctx, self._settings.metrics_port, resources)

    async def run(self) -> None:
        s, view = self._settings, self.view
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.sources.run(), name="dashboard.bus")
            tasks.create_task(self._pump(), name="dashboard.pump")
            tasks.create_task(
                poll_supervisor(
                    Supervisor(self._context.run_dir),
                    self._processes,
                    view,
                    self._liveness,
                    interval_s=s.supervisor_poll_s,
                    changed=self._changed,
                ),
                name="dashboard.supervisor",
            )
            tasks.create_task(
                scrape_metrics(
                    lambda: self.targets,
                    self._metrics,
                    view,
                    interval_s=s.scrape_interval_s,
                    changed=self._changed,
                ),
                name="dashboard.scrape",
            )
            tasks.create_task(
                poll_journal(
                    self._context.run_dir,
                    view,
                    interval_s=s.scrape_interval_s,
                    changed=self._changed,
                    fills_heard=self.sources.fills_heard,
                ),
                name="dashboard.journal",
            )

    def counts(self) -> dict[str, int]:
        """Every counter of the dashboard: bus sources, pages, controls, sampling."""
        counts: dict[str, int] = {**self.sources.counters, **self.hub.counters}
        counts.update(self.server.counters)
        counts["quotes_superseded"] = self.sampler.superseded
        return counts

    async def _pump(self) -> None:
        """Every push-interval-ms: the quotes and queue estimates now due, then a delta."""
        while True:
            self._flush()
            await asyncio.sleep(self._interval_ns / 1e9)  # the sampling period, not a sync

    def _changed(self) -> None:
        """The view changed: wake the controls; send a delta now, or once the last one is
        push-interval-ms old (a lone event goes out at once, a burst is coalesced)."""
        self.controls.changed.set()
        if self._flush_handle is not None:
            return
        wait_ns = self._last_flush_ns + self._interval_ns - self._context.clock.now_ns()
        loop = asyncio.get_running_loop()
        self._flush_handle = loop.call_later(max(0, wait_ns) / 1e9, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        now_ns = self._context.clock.now_ns()
        self.sampler.emit(self.view, now_ns)
        self.queues.emit(self.view, now_ns)
        self.hub.flush()
        self._last_flush_ns = now_ns

    def _liveness(self) -> dict[str, Liveness]:
        node, now_ns = self._context.node, self._context.clock.now_ns()
        live = node.liveness
        return {
            peer: Liveness(live.last_heard_ns(peer), live.is_alive(peer, now_ns))
            for peer in live.peers()
        }
