"""Prometheus metrics of one service, served on 127.0.0.1 only."""

import logging
import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shared.bus.liveness import PeerLiveness
from shared.bus.stats import BusStats
from shared.runtime.clock import Clock

log = logging.getLogger(__name__)


class BusCollector(Collector):
    """Expose a BusStats and a PeerLiveness as Prometheus metrics, read at scrape time."""

    def __init__(self, stats: BusStats, liveness: PeerLiveness, clock: Clock) -> None:
        self._stats = stats
        self._liveness = liveness
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        yield CounterMetricFamily("bus_sent_messages", "Messages sent", value=stats.sent)
        yield CounterMetricFamily("bus_received_messages", "Frames accepted", value=stats.received)
        yield _by_label(
            "bus_dropped_messages", "Messages dropped, by reason", "reason", stats.dropped
        )
        yield _by_label("bus_gaps", "Sequence gaps seen, by sender", "sender", stats.gaps)
        yield _by_label(
            "bus_lost_messages", "Messages missing in gaps, by sender", "sender", stats.lost
        )
        yield _by_label(
            "bus_peer_restarts", "New incarnations of a sender", "sender", stats.restarts
        )
        alive = GaugeMetricFamily(
            "bus_peer_alive", "1 if the peer was heard recently", labels=["peer"]
        )
        now_ns = self._clock.now_ns()
        for peer in self._liveness.peers():
            alive.add_metric([peer], 1.0 if self._liveness.is_alive(peer, now_ns) else 0.0)
        yield alive


def _by_label(name: str, doc: str, label: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(counts.items()):
        family.add_metric([key], value)
    return family


def serve_metrics(port: int, registry: CollectorRegistry) -> Callable[[], None]:
    """Serve `registry` at http://127.0.0.1:`port`/metrics; return the function that stops it."""
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    log.info("metrics serving url=http://127.0.0.1:%d/metrics", port)

    def stop() -> None:
        _shutdown(server, thread)

    return stop


def _shutdown(server: WSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=2)


class CounterCollector(Collector):
    """Expose a Counter[str] (a service's own event counts) as one labelled Prometheus counter."""

    def __init__(self, name: str, doc: str, counts: Callable[[], dict[str, int]]) -> None:
        self._name = name
        self._doc = doc
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        yield _by_label(self._name, self._doc, "kind", self._counts())
