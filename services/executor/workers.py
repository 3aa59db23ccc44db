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
from services.executor.prices import PriceRefresh
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.risk import RiskLimits
from services.executor.settings import ExecutorSettings
from services.executor.venue_calls import VenueCalls
from services.executor.venue_events import VenueEvents
from shared.bybit.rest import BybitRest
from shared.bybit.stream import BybitStream
from shared.runtime.bootstrap import ServiceContext
from shared.runtime.metrics import CounterCollector, GaugeCollector, LatencyCollector


@dataclass(frozen=True)
class Workers:
    """The executor's workers; each reads and changes the shared state through `parts`."""

    parts: Parts
    calls: VenueCalls
    events: VenueEvents
    flow: OrderFlow
    control: OrderControl
    reconciler: ReconcileRunner
    guard: Guard
    prices: PriceRefresh

    @classmethod
    def build(cls, parts: Parts, settings: ExecutorSettings, limits: RiskLimits) -> "Workers":
        calls = VenueCalls(
            parts, settings.breakers(), settings.strategy_rates(), settings.max_requests_in_flight
        )
        parts.rest.observer = calls.observe  # every REST attempt feeds its group's breaker
        events = VenueEvents(parts)
        events.on_stream = lambda up: calls.stream(up=up)
        flow = OrderFlow(parts, settings, limits, events, calls)
        events.checks.grid_of = lambda symbol: flow.rules.get(symbol)  # rules read at start
        control = OrderControl(parts, flow, calls)
        flow.outcomes.cancel_after_ack = lambda record: control.start_cancel(record, None)
        reconciler = ReconcileRunner(parts, flow.outcomes, events)
        guard = Guard(parts, settings, flow, events, control, reconciler)
        prices = PriceRefresh(
            parts, calls, events.checks, lambda: flow.rules.keys(), settings.price_max_age_s
        )
        return cls(parts, calls, events, flow, control, reconciler, guard, prices)


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


def register_metrics(registry: CollectorRegistry, parts: Parts, calls: VenueCalls) -> None:
    """Event counters, per-stage latency, and the venue's rate-limit use per path."""
    registry.register(
        CounterCollector("executor_events", "Executor events by kind", lambda: parts.counters)
    )
    registry.register(LatencyCollector("executor", parts.latency))
    registry.register(
        GaugeCollector(
            "executor_circuit_state",
            "Circuit breaker per endpoint group: 0 closed, 1 half-open, 2 open",
            "group",
            calls.breakers.gauge_values,
        )
    )
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
