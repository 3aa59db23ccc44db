"""What every service does before its own work: settings, run dir, bus, venue URLs, metrics."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from shared.bus import BusNode, Publisher, Signer, SnapshotServer
from shared.keys import service_environment
from shared.runtime.clock import Clock, LiveClock
from shared.runtime.logging import configure_logging
from shared.runtime.metrics import BusCollector, serve_metrics
from shared.settings import (
    BusSettings,
    BybitSettings,
    Endpoints,
    Mode,
    Secrets,
    ServiceSettings,
    SystemSettings,
    check_bus_security,
    ensure_run_dir,
    load_section,
    resolve_run_dir,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Venue:
    mode: Mode
    rest_url: str
    ws_public_url: str
    ws_private_url: str


@dataclass
class ServiceContext:
    """The wiring a service gets from start-up; `node.close()` belongs to the service."""

    name: str
    system: SystemSettings
    bus: BusSettings
    endpoints: Endpoints
    bybit: BybitSettings
    venue: Venue
    secrets: Secrets
    clock: Clock
    node: BusNode
    run_dir: Path
    registry: CollectorRegistry


def prepare(name: str, service: ServiceSettings, clock: Clock | None = None) -> ServiceContext:
    """Load the shared sections, make the run dir, configure logging and open the bus node.

    Raises SettingsError (the caller prints it and exits 2) when anything is wrong.
    """
    system = load_section("system", SystemSettings)
    configure_logging(name, service.log_level or system.log_level)
    bus = load_section("bus", BusSettings)
    bybit = load_section("bybit", BybitSettings)
    run_dir = ensure_run_dir(resolve_run_dir(system))
    endpoints = bus.endpoints.resolved(run_dir)
    secrets = Secrets.from_environment(service_environment(name))  # + its own key file
    check_bus_security(endpoints, secrets)
    clock = clock or LiveClock()
    node = BusNode(name, bus, signer=Signer(secrets.bus_hmac_key), clock=clock)
    registry = CollectorRegistry()
    registry.register(BusCollector(node.stats, node.liveness, clock))
    venue = Venue(system.mode, *bybit.urls(system.mode))
    return ServiceContext(
        name, system, bus, endpoints, bybit, venue, secrets, clock, node, run_dir, registry
    )


def start_metrics(context: ServiceContext, port: int, resources: contextlib.AsyncExitStack) -> None:
    resources.callback(serve_metrics(port, context.registry))


async def upkeep(publisher: Publisher, server: SnapshotServer, heartbeat_interval_s: float) -> None:
    """Answer snapshot requests and send heartbeats when idle, for as long as the service runs."""
    while True:
        await server.wait(heartbeat_interval_s / 2)
        server.serve_pending()
        publisher.tick()


async def cancel_and_wait(task: "asyncio.Task[object]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
