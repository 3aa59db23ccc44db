"""A ServiceContext for tests: bus on a private ipc dir, venue on the test's simulator."""

from pathlib import Path

from prometheus_client import CollectorRegistry

from shared.bus import BusNode
from shared.runtime.bootstrap import ServiceContext, Venue
from shared.runtime.metrics import BusCollector
from shared.settings import BybitSettings, Mode, Secrets, SystemSettings


def make_context(name: str, node: BusNode, run_dir: Path, venue_http_url: str) -> ServiceContext:
    ws = venue_http_url.replace("http://", "ws://")
    venue = Venue(Mode.PAPER, venue_http_url, f"{ws}/v5/public/linear", f"{ws}/v5/private")
    registry = CollectorRegistry()
    registry.register(BusCollector(node.stats, node.liveness, node.bus.clock))
    return ServiceContext(
        name=name,
        system=SystemSettings(),
        bus=node.settings,
        endpoints=node.settings.endpoints,
        bybit=BybitSettings(),
        venue=venue,
        secrets=Secrets(),
        clock=node.bus.clock,
        node=node,
        run_dir=run_dir,
        registry=registry,
    )
