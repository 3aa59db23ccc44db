"""A minimal service on the real runtime, for tests: python -m tests.helpers.toy_service.

It publishes a Quote every 10 ms on the market-data endpoint of the settings file and
serves its metrics. `--crash` makes run() raise after start-up.
"""

import argparse
import asyncio
import contextlib
import logging
import sys
from decimal import Decimal

from prometheus_client import CollectorRegistry

from shared.bus import BusNode, Publisher, Signer
from shared.runtime import LiveClock, configure_logging, run_main
from shared.runtime.metrics import BusCollector, serve_metrics
from shared.schema import Quote, Symbol
from shared.settings import (
    BusSettings,
    Secrets,
    SystemSettings,
    ensure_run_dir,
    load_section,
    resolve_run_dir,
)

log = logging.getLogger("toy")


class ToyService:
    name = "toy"

    def __init__(self, node: BusNode, endpoint: str, metrics_port: int, crash: bool) -> None:
        self._node = node
        self._endpoint = endpoint
        self._metrics_port = metrics_port
        self._crash = crash
        self._publisher: Publisher | None = None

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        resources.callback(log.info, "cleanup done")
        resources.callback(self._node.close)
        self._publisher = self._node.publisher(self._endpoint)
        registry = CollectorRegistry()
        registry.register(BusCollector(self._node.stats, self._node.liveness, self._node.bus.clock))
        resources.callback(serve_metrics(self._metrics_port, registry))

    async def run(self) -> None:
        log.info("running")
        if self._crash:
            raise RuntimeError("toy crash")
        assert self._publisher is not None
        bid = Decimal(100)
        while True:
            self._publisher.send(
                Quote(
                    symbol=Symbol("TOYUSDT"),
                    epoch=1,
                    bid_price=bid,
                    bid_qty=Decimal(1),
                    ask_price=bid + 1,
                    ask_qty=Decimal(1),
                    venue_update_id=1,
                    ts_event_ns=0,
                    ts_recv_ns=0,
                )
            )
            await asyncio.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--crash", action="store_true")
    args = parser.parse_args()
    configure_logging("toy", "INFO")
    run_dir = ensure_run_dir(resolve_run_dir(load_section("system", SystemSettings)))
    bus = load_section("bus", BusSettings)
    endpoints = bus.endpoints.resolved(run_dir)
    signer = Signer(Secrets.from_environment().bus_hmac_key)
    node = BusNode("toy", bus, signer=signer, clock=LiveClock())
    service = ToyService(node, endpoints.market_data, args.metrics_port, args.crash)
    return run_main(service)


if __name__ == "__main__":
    sys.exit(main())
