"""SimulatorService: the aiohttp server, the market loop and the admin endpoints."""

import asyncio
import contextlib
import logging

from aiohttp import web
from prometheus_client import CollectorRegistry

from services.simulator.admin import AdminApi
from services.simulator.exchange import Exchange
from services.simulator.faults import FaultInjector
from services.simulator.market_profiles import calibration, market_view
from services.simulator.private_stream import PrivateStream
from services.simulator.public_stream import PublicStream
from services.simulator.replay import ReplayStream
from services.simulator.rest import RestApi
from services.simulator.rest_gateway import route_not_found
from services.simulator.settings import SimulatorSettings
from shared.runtime.clock import Clock
from shared.runtime.metrics import CounterCollector, serve_metrics

log = logging.getLogger(__name__)

# Supervisor gone: every service stops at once. The executor cancels and confirms its
# orders over REST first (shutdown-timeout-s, 4 s), so the paper venue stays up until the
# executor's private stream has closed and no REST call came for OUTLIVE_QUIET_S, at most
# OUTLIVE_EXECUTOR_S.
OUTLIVE_EXECUTOR_S = 15.0
OUTLIVE_QUIET_S = 1.0
_OUTLIVE_POLL_S = 0.1


class SimulatorService:
    """A Bybit-V5-compatible venue on loopback: REST, public and private websockets."""

    name = "simulator"

    def __init__(
        self,
        settings: SimulatorSettings,
        exchange: Exchange,
        secrets: dict[str, str],
        clock: Clock,
        metrics_port: int | None = None,
    ) -> None:
        self._settings = settings
        self._metrics_port = metrics_port  # None: no metrics endpoint (tests)
        self._exchange = exchange
        self._clock = clock
        self.faults = FaultInjector(settings.faults)
        self.rest = RestApi(
            exchange,
            secrets,
            self.faults,
            clock,
            after_trade=self._flush_private,
            enforce_rate_limits=settings.enforce_rate_limits,
        )
        self.public: ReplayStream | PublicStream
        self.replay: ReplayStream | None = None
        if settings.replay_file:
            if exchange.state.config.market_source != "recorded":
                raise ValueError("a replay needs a venue whose market_source is 'recorded'")
            self.public = self.replay = ReplayStream(
                settings.replay_file,
                self.faults,
                clock,
                venue=exchange,
                speed=settings.replay_speed,
            )
        else:
            self.public = PublicStream(exchange, self.faults, clock)
        self.private = PrivateStream(secrets, self.faults, clock)
        self.port = settings.port  # the bound port once started (settings may say 0)
        self.market = market_view(
            settings.profile, settings.volatility_scale, settings.replay_file, calibration()
        )

    def app(self) -> web.Application:
        app = web.Application(middlewares=[route_not_found(self._clock)])
        app.add_routes(self.rest.routes())
        app.add_routes(
            [
                web.get("/v5/public/linear", self.public.handle),
                web.get("/v5/private", self.private.handle),
            ]
        )
        app.add_routes(AdminApi(self).routes())
        return app

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        # Held answers (timeout-after-accept) must not hold up a stop: 1 s grace, then cancel.
        runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        resources.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self._settings.host, self._settings.port, reuse_address=True)
        await site.start()
        server = site._server
        if server is not None and server.sockets:  # type: ignore[attr-defined]
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        if self._metrics_port is not None:
            self._serve_metrics(self._metrics_port, resources)
        log.info(
            "simulator listening url=http://%s:%d symbols=%d seed=%d",
            self._settings.host,
            self.port,
            len(self._exchange.instruments()),
            self._settings.seed,
        )

    def _serve_metrics(self, port: int, resources: contextlib.AsyncExitStack) -> None:
        """Requests, refusals and injected faults; a busy port is logged, not fatal (a venue)."""
        registry = CollectorRegistry()
        registry.register(CounterCollector("simulator_events", "Simulator events", self._counts))
        try:
            resources.callback(serve_metrics(port, registry))
        except OSError as e:
            log.error("metrics not served port=%d error=%s", port, e)

    def _counts(self) -> dict[str, int]:
        return {
            "rest_requests": self.rest.requests,
            "rate_limited": self.rest.rate_limited,
            "ip_refusals": self.rest.ip_refusals,
            "clients_gone": self.rest.clients_gone,
            "public_connections_opened": self.public.registry.opened,
            "private_connections_opened": self.private.registry.opened,
            **{f"injected_{name}": n for name, n in self.faults.injected.items()},
            **(self.replay.counts() if self.replay is not None else {}),
        }

    async def outlive_supervisor(self) -> None:
        """Serve on until the executor has gone (its private stream closed, REST quiet), at
        most OUTLIVE_EXECUTOR_S: its last cancels need the venue (shared.runtime.parent)."""
        deadline = self._clock.now_ns() + int(OUTLIVE_EXECUTOR_S * 1e9)
        requests, quiet_since = self.rest.requests, self._clock.now_ns()
        while True:
            now = self._clock.now_ns()
            if self.rest.requests != requests:
                requests, quiet_since = self.rest.requests, now
            quiet = now - quiet_since >= OUTLIVE_QUIET_S * 1e9
            if (quiet and not self.private.registry.connections) or now >= deadline:
                break
            await asyncio.sleep(_OUTLIVE_POLL_S)  # a poll on the connections and requests
        log.info(
            "simulator stopping after its supervisor private_connections=%d",
            len(self.private.registry.connections),
        )

    async def run(self) -> None:
        await asyncio.gather(self._market_loop(), self._disconnect_loop())

    async def _market_loop(self) -> None:
        """Step the market at a fixed rate: the work of a step does not stretch the period."""
        step_ns = self._settings.step_ms * 1_000_000
        next_ns = self._clock.now_ns()
        while True:
            now_ns = self._clock.now_ns()
            now_ms = now_ns // 1_000_000
            self._exchange.advance(now_ms)
            self.public.publish(now_ms)
            self._flush_private()
            next_ns = max(next_ns + step_ns, now_ns)  # after a stall, skip missed ticks
            await asyncio.sleep((next_ns - self._clock.now_ns()) / 1e9)

    async def _disconnect_loop(self) -> None:
        while True:
            every_s = self.faults.faults.disconnect_every_s
            await asyncio.sleep(every_s or 1.0)
            if every_s:
                closed = await self.close_all()
                self.faults.count("ws_disconnect")
                log.warning("injected websocket disconnect connections=%d", closed)

    def _flush_private(self) -> None:
        self.private.publish(self._exchange.take_private_events())

    async def close_all(self) -> int:
        """Close every websocket connection; how many were closed."""
        return await self.public.registry.close_all() + await self.private.registry.close_all()
