"""Fold Prometheus scrapes and supervisord's process list into the view.

Scrapes: the bus's drop, gap and loss counters summed over the services; the executor's
circuit breakers; its tick-to-order and order-to-ack latency (p50, p90, p99 all from one
source: the executor's own exact figures over its last samples, `executor_latency_recent_us`,
each quantile it exports; one it does not export is None, never taken from elsewhere); the
market maker's stage durations (p50, p99 interpolated from `mm_stage_latency_seconds` over
the last minute). A service whose
scrape failed keeps its last figures in the sums and is named in health.metrics_errors.
Pure: samples and time are passed in.
"""

import math
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families

from services.dashboard.view import LATENCY_KEPT, View

WINDOW_NS: Final = 60_000_000_000  # histogram percentiles over the last minute of scrapes
_BREAKER_STATES: Final = {0.0: "closed", 1.0: "half_open", 2.0: "open"}
_EXECUTOR_STAGES: Final = {"tick_to_order": "tick_to_order_ms", "order_to_ack": "order_to_ack_ms"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


# The only samples the view reads (MetricsFold.scraped); the rest of a page (process_*,
# python_gc_*, every service's own families, *_created ...) is skipped line by line before
# anything is parsed, and the lines kept are parsed here: prometheus_client's parser is
# pure Python and was the dashboard's largest cost (a few ms a page, 2 s a page per service).
USED_SAMPLES: Final = (
    "bus_dropped_messages_total",
    "bus_gaps_total",
    "bus_lost_messages_total",
    "executor_circuit_state",
    "executor_latency_recent_us",
    "mm_stage_latency_seconds_bucket",
)
_LABEL: Final = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_ESCAPES: Final = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE: Final = re.compile(r"\\[\\\"n]")


def used_lines(text: str, names: tuple[str, ...] = USED_SAMPLES) -> list[str]:
    """The sample lines of a Prometheus text page whose metric name is one of `names`."""
    kept = []
    for line in text.splitlines():
        if line.startswith(names):
            end = len(line.split("{", 1)[0].split(" ", 1)[0])
            if line[:end] in names:
                kept.append(line)
    return kept


def parse(text: str, names: tuple[str, ...] | None = USED_SAMPLES) -> list[Sample]:
    """The samples of a Prometheus text page (only those named in `names`; None: every one,
    with prometheus_client's parser). Raises ValueError for a line that is not a sample."""
    if names is None:
        return [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    return [_sample(line) for line in used_lines(text, names)]


def _sample(line: str) -> Sample:
    # name{label="value",...} value [timestamp]   (the text exposition format 0.0.4)
    brace = line.find("{")
    labels: dict[str, str] = {}
    if brace < 0:
        name, _, rest = line.partition(" ")
    else:
        name, rest = line[:brace], line[brace + 1 :]
        while True:
            rest = rest.lstrip()
            if rest.startswith("}"):
                rest = rest[1:]
                break
            match = _LABEL.match(rest)
            if match is None:
                raise ValueError(f"not a Prometheus sample: {line[:200]!r}")
            labels[match.group(1)] = _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], match.group(2))
            rest = rest[match.end() :]
    fields = rest.split()
    try:
        return Sample(name.strip(), labels, float(fields[0]))
    except (IndexError, ValueError) as e:
        raise ValueError(f"not a Prometheus sample: {line[:200]!r}") from e


def histogram_quantile(
    bounds: Sequence[float], cumulative: Sequence[float], q: float
) -> float | None:
    """The q-quantile (0 < q <= 1) of a histogram, interpolated within its bucket as
    Prometheus does; `bounds` are the buckets' upper bounds, ascending, the last +Inf;
    `cumulative` the counts at or below each. None without samples; a quantile in the +Inf
    bucket is the largest finite bound."""
    if not cumulative or cumulative[-1] <= 0:
        return None
    rank = q * cumulative[-1]
    for i, count in enumerate(cumulative):
        if count >= rank:
            upper = bounds[i]
            lower = bounds[i - 1] if i > 0 else 0.0
            if math.isinf(upper):
                return lower
            below = cumulative[i - 1] if i > 0 else 0.0
            inside = count - below
            if inside <= 0:
                return upper
            return lower + (upper - lower) * (rank - below) / inside
    return None


@dataclass
class _Window:
    """Cumulative bucket counts per scrape over the last minute: their difference is what
    happened in it."""

    scrapes: deque[tuple[int, dict[float, float]]] = field(default_factory=deque)

    def add(self, now_ns: int, buckets: dict[float, float]) -> None:
        self.scrapes.append((now_ns, buckets))
        while len(self.scrapes) > 2 and now_ns - self.scrapes[1][0] >= WINDOW_NS:
            self.scrapes.popleft()

    def quantile(self, q: float) -> float | None:
        newest = self.scrapes[-1][1]
        oldest = self.scrapes[0][1] if len(self.scrapes) > 1 else {}
        bounds = sorted(newest)
        if any(newest[b] < oldest.get(b, 0.0) for b in bounds):  # the service restarted
            oldest = {}
        return histogram_quantile(bounds, [newest[b] - oldest.get(b, 0.0) for b in bounds], q)


class MetricsFold:
    """What the scrapes of every service say, summed where the view sums."""

    def __init__(self) -> None:
        self._bus: dict[str, dict[str, dict[str, float]]] = {}  # service -> family -> label
        self._windows: dict[tuple[str, str, str], _Window] = {}  # service, family, stage

    def scraped(self, view: View, service: str, samples: Iterable[Sample], now_ns: int) -> None:
        """Fold one service's scrape (taken at `now_ns`) into the view."""
        bus: dict[str, dict[str, float]] = {"dropped": {}, "gaps": {}, "lost": {}}
        histograms: dict[tuple[str, str], dict[float, float]] = {}
        recent: dict[tuple[str, str], float] = {}
        for s in samples:
            if s.name == "bus_dropped_messages_total":
                bus["dropped"][s.labels.get("reason", "")] = s.value
            elif s.name == "bus_gaps_total":
                bus["gaps"][s.labels.get("sender", "")] = s.value
            elif s.name == "bus_lost_messages_total":
                bus["lost"][s.labels.get("sender", "")] = s.value
            elif s.name == "executor_circuit_state":
                state = _BREAKER_STATES.get(s.value, "unknown")
                view.set(("health", "breakers", s.labels.get("group", "")), {"state": state})
            elif s.name == "executor_latency_recent_us":
                recent[(s.labels.get("stage", ""), s.labels.get("quantile", ""))] = s.value
            elif s.name == "mm_stage_latency_seconds_bucket":
                key = (s.name, s.labels.get("stage", ""))
                bound = float(s.labels.get("le", "inf"))
                buckets = histograms.setdefault(key, {})
                buckets[bound] = buckets.get(bound, 0.0) + s.value  # summed over strategies
        self._bus[service] = bus
        self._sum_bus(view)
        for (name, stage), buckets in histograms.items():
            self._windows.setdefault((service, name, stage), _Window()).add(now_ns, buckets)
        if service == "executor":
            self._executor_latency(view, recent, now_ns)
        self._maker_latency(view)
        view.delete(("health", "metrics_errors", service))

    def failed(self, view: View, service: str, reason: str) -> None:
        """Name the service whose scrape failed (its last figures stay in the sums)."""
        view.set(("health", "metrics_errors", service), reason)

    def _sum_bus(self, view: View) -> None:
        for family in ("dropped", "gaps", "lost"):
            totals: dict[str, int] = {}
            for counts in self._bus.values():
                for label, value in counts[family].items():
                    totals[label] = totals.get(label, 0) + int(value)
            view.set(("health", "bus", family), dict(sorted(totals.items())))

    def _executor_latency(
        self, view: View, recent: dict[tuple[str, str], float], now_ns: int
    ) -> None:
        for stage, key in _EXECUTOR_STAGES.items():
            # One source for the three: the quantiles of one sample set, taken in one scrape
            # (so p50 <= p90 <= p99); one the executor does not export stays unknown.
            figures = {
                name: _ms(recent.get((stage, quantile)))
                for name, quantile in (("p50", "0.5"), ("p90", "0.9"), ("p99", "0.99"))
            }
            if all(v is None for v in figures.values()):
                continue
            view.merge(("latency", key), figures)
            if figures["p50"] is not None:
                point = [now_ns, figures["p50"], figures["p99"]]
                view.append(("latency", key, "series"), point, LATENCY_KEPT)

    def _maker_latency(self, view: View) -> None:
        stages: dict[str, Any] = {}
        for (_, name, stage), window in sorted(self._windows.items()):
            if name == "mm_stage_latency_seconds_bucket":
                p50, p99 = window.quantile(0.5), window.quantile(0.99)
                stages[stage] = {"p50": _us(p50), "p99": _us(p99)}
        if stages:
            view.set(("latency", "mm_stages_us"), stages)


def _ms(us: float | None) -> float | None:
    return None if us is None else round(us / 1000, 3)


def _us(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1e6, 2)
