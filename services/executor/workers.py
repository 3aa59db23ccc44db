"""How the executor's workers are put together: venue clients, the parts that share state,
and the metrics they export."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from services.executor.guard import Guard
from services.executor.order_control import OrderControl
from services.executor.order_flow import OrderFlow
from services.executor.ports import Parts
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.risk import RiskLimits
from services.executor.settings import ExecutorSettings
from services.executor.venue_events import VenueEvents
from shared.bybit.rest import BybitRest
from shared.bybit.stream import BybitStream
from shared.runtime.bootstrap import ServiceContext
from shared.runtime.metrics import CounterCollector, GaugeCollector, LatencyCollector


@dataclass(frozen=True)
class Workers:
    """The executor's workers; each reads and changes the shared state through `parts`."""

    parts: Parts
    events: VenueEvents
    flow: OrderFlow
    control: OrderControl
    reconciler: ReconcileRunner
    guard: Guard

    @classmethod
    def build(cls, parts: Parts, settings: ExecutorSettings, limits: RiskLimits) -> "Workers":
        events = VenueEvents(parts)
        flow = OrderFlow(parts, settings, limits, events)
        events.checks.grid_of = lambda symbol: flow.rules.get(symbol)  # rules read at start
        control = OrderControl(parts, flow, limits)
        reconciler = ReconcileRunner(parts, flow, events)
        guard = Guard(parts, settings, flow, events, control, reconciler)
        return cls(parts, events, flow, control, reconciler, guard)


def venue_clients(
    ctx: ServiceContext, settings: ExecutorSettings, resources: contextlib.AsyncExitStack
) -> tuple[BybitRest, BybitStream]:
    """The signed REST client and the private stream, closed with `resources`."""
    key, secret = ctx.secrets.bybit_api_key, ctx.secrets.bybit_api_secret
    rest = BybitRest(
        ctx.venue.rest_url,
        api_key=key,
        api_secret=secret,
        recv_window_ms=ctx.bybit.recv_window_ms,
        timeout_s=settings.rest_timeout_s,
        clock=ctx.clock,
    )
    resources.push_async_callback(rest.close)
    stream = BybitStream(
        ctx.venue.ws_private_url,
        api_key=key,
        api_secret=secret,
        clock=ctx.clock,
        ping_interval_s=settings.ping_interval_s,
    )
    resources.push_async_callback(stream.close)
    return rest, stream


def register_metrics(registry: CollectorRegistry, parts: Parts) -> None:
    """Event counters, per-stage latency, and the venue's rate-limit use per path."""
    registry.register(
        CounterCollector("executor_events", "Executor events by kind", lambda: parts.counters)
    )
    registry.register(LatencyCollector("executor", parts.latency))
    registry.register(
        GaugeCollector(
            "bybit_rate_limit_remaining",
            "Venue requests left in the current window, per path (X-Bapi-Limit-Status)",
            "path",
            _rate_limit(parts.rest, "remaining"),
        )
    )
    registry.register(
        GaugeCollector(
            "bybit_rate_limit_limit",
            "Venue requests allowed per window, per path (X-Bapi-Limit)",
            "path",
            _rate_limit(parts.rest, "limit"),
        )
    )


def _rate_limit(rest: BybitRest, field: str) -> Callable[[], dict[str, float]]:
    """The rate budget's `field` ("remaining" or "limit") per venue path, read at scrape time."""

    def values() -> dict[str, float]:
        return {path: float(v[field]) for path, v in rest.budget.snapshot().items()}

    return values
