"""Prometheus metrics of one service, served on 127.0.0.1 only."""

import bisect
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
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


LATENCY_BUCKETS_US: Final = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 50_000)


class LatencyWindow:
    """Per-stage latencies: the last `size` samples (exact p50/p99) and all-time buckets."""

    def __init__(self, size: int = 2_048) -> None:
        self._size = size
        self._recent: dict[str, deque[float]] = {}
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def add(self, stage: str, latency_ns: int) -> None:
        us = latency_ns / 1_000
        recent = self._recent.get(stage)
        if recent is None:
            recent = self._recent[stage] = deque(maxlen=self._size)
            self._buckets[stage] = [0] * (len(LATENCY_BUCKETS_US) + 1)
            self._sums[stage] = 0.0
        recent.append(us)
        self._buckets[stage][bisect.bisect_left(LATENCY_BUCKETS_US, us)] += 1
        self._sums[stage] += us

    def percentiles(
        self, stage: str, percents: tuple[int, ...] = (50, 99)
    ) -> tuple[float, ...] | None:
        """The `percents` (default p50, p99) in us over the recent samples of `stage`
        (nearest rank: in the order of `percents` for any number of samples), or None
        without samples."""
        samples = sorted(self._recent.get(stage, ()))
        if not samples:
            return None
        return tuple(_nearest_rank(samples, percent) for percent in percents)

    def stages(self) -> list[str]:
        return sorted(self._recent)


def _nearest_rank(ordered: list[float], percent: int) -> float:
    """The smallest sample with at least `percent` % of the samples at or below it."""
    rank = -(-len(ordered) * percent // 100)  # ceil, in integers
    return ordered[max(rank, 1) - 1]


class LatencyCollector(Collector):
    """A LatencyWindow as `<prefix>_latency_us` (histogram) and `..._recent_us` (p50, p90, p99)."""

    def __init__(self, prefix: str, window: LatencyWindow) -> None:
        self._prefix = prefix
        self._window = window

    def collect(self) -> Iterator[Metric]:
        window = self._window
        recent = GaugeMetricFamily(
            f"{self._prefix}_latency_recent_us",
            "Latency percentiles over the recent samples, by stage",
            labels=["stage", "quantile"],
        )
        histogram = HistogramMetricFamily(
            f"{self._prefix}_latency_us", "Latency by stage (microseconds)", labels=["stage"]
        )
        for stage in window.stages():
            found = window.percentiles(stage, (50, 90, 99))
            if found is not None:
                for quantile, value in zip(("0.5", "0.9", "0.99"), found, strict=True):
                    recent.add_metric([stage, quantile], value)
            counts = list(itertools.accumulate(window._buckets[stage]))
            bounds = [str(b) for b in LATENCY_BUCKETS_US] + ["+Inf"]
            histogram.add_metric(
                [stage], list(zip(bounds, counts, strict=True)), sum_value=window._sums[stage]
            )
        yield recent
        yield histogram


class GaugeCollector(Collector):
    """Expose `values()` (label value -> number, read at scrape time) as one labelled gauge."""

    def __init__(
        self, name: str, doc: str, label: str, values: Callable[[], dict[str, float]]
    ) -> None:
        self._name = name
        self._doc = doc
        self._label = label
        self._values = values

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        for key, value in sorted(self._values().items()):
            family.add_metric([key], value)
        yield family
