"""The market maker's Prometheus metrics: `MarketMaker.metrics()` as metric families.

The core stays pure: the strategy loop calls `MakerMetrics.feed` on its own thread once a
second (`StrategyLoop.periodic`); `feed` takes the maker's snapshot (stage-latency, net-bps
and slippage samples since the previous call; cumulative counts; the latest scores,
inventory and quotes) and queues it. A scrape (the metrics server's thread) folds the
queued snapshots into the histogram buckets and the running sums, then builds the
families, so sorting samples into buckets never runs on the trading thread unless nobody
scrapes (then the oldest queued snapshot is folded when the queue is full).

Every family carries `strategy_id`; label values come from fixed sets (stages, guard
levels and reasons, phases, sides, scores, the counters' kinds) or the quoted symbols.

| family                                 | type      | labels (besides strategy_id) |
|----------------------------------------|-----------|------------------------------|
| mm_stage_latency_seconds               | histogram | stage                        |
| mm_guard_triggers_total                | counter   | level, reason                |
| mm_guard_level                         | gauge     | symbol (0 none, 1 SOFT, 2 HARD) |
| mm_hard_scope                          | gauge     | scope (a symbol, or * for all) |
| mm_phase                               | gauge     | phase (1 for the current one) |
| mm_spread_score_ratio                  | gauge     | symbol, score                |
| mm_spread_bps                          | gauge     | symbol                       |
| mm_inventory_qty / mm_inventory_usdt   | gauge     | symbol                       |
| mm_total_inventory_usdt                | gauge     |                              |
| mm_inventory_limit_usdt                | gauge     | scope (symbol, total)        |
| mm_quote_distance_ticks                | gauge     | symbol, side (Buy, Sell)     |
| mm_fills_total                         | counter   | liquidity (maker, taker)     |
| mm_taker_share_ratio / mm_fill_ratio   | gauge     |                              |
| mm_fill_net_bps / mm_taker_slippage_bps | summary  | (sum and count of the samples) |
| mm_fill_net_recent_bps                 | gauge     | (mean of the last 500 fills) |
| mm_taker_slippage_recent_bps           | gauge     | (mean of the last 500 taker fills) |
| mm_events_total                        | counter   | kind                         |
| mm_dropped_samples_total               | counter   |                              |
"""

import bisect
import itertools
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from services.strategy.mm.base import Phase
from services.strategy.mm.core import MarketMaker
from services.strategy.mm.pipeline import STAGES

# Stage durations run from ~1 us (a score) to a few ms (a requote under load).
STAGE_BUCKETS_S: Final = (
    1e-6,
    2e-6,
    5e-6,
    1e-5,
    2e-5,
    5e-5,
    1e-4,
    2e-4,
    5e-4,
    1e-3,
    2e-3,
    5e-3,
    1e-2,
    5e-2,
)
SCORES: Final = ("volatility", "liquidity", "latency", "pnl")
SIDES: Final = ("Buy", "Sell")
RECENT_FILLS: Final = 500
MAX_PENDING: Final = 120  # two minutes of snapshots at one a second
NS_PER_S: Final = 1e9


def read(maker: MarketMaker) -> dict[str, Any]:
    """The maker's `metrics()` plus its HARD scopes and each symbol's guard level (call on
    the maker's thread: it drains the samples)."""
    snapshot = maker.metrics()
    snapshot["hard_scopes"] = sorted(maker.hard_scopes)
    snapshot["guard_level"] = {
        symbol: level for symbol, (level, _) in sorted(maker.telemetry.guard_reasons.items())
    }
    return snapshot


@dataclass(slots=True)
class _Samples:
    """A running sum and count of samples, and the last RECENT_FILLS of them."""

    total: float = 0.0
    count: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_FILLS))

    def add(self, values: Iterable[float]) -> None:
        for value in values:
            self.total += value
            self.count += 1
            self.recent.append(value)

    def recent_mean(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None


@dataclass(slots=True)
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(STAGE_BUCKETS_S) + 1))
    total_s: float = 0.0

    def add(self, durations_ns: Iterable[float]) -> None:
        for duration_ns in durations_ns:
            seconds = duration_ns / NS_PER_S
            self.buckets[bisect.bisect_left(STAGE_BUCKETS_S, seconds)] += 1
            self.total_s += seconds


class MakerMetrics(Collector):
    """The market maker's metric families (see the module docstring), fed by `feed`."""

    def __init__(self, strategy_id: str, limits_usdt: tuple[float, float]) -> None:
        """`limits_usdt`: the maker's (max-symbol-inventory-usdt, max-total-inventory-usdt)."""
        self._id = strategy_id
        self._limits = limits_usdt
        self._lock = threading.Lock()
        self._pending: deque[Mapping[str, Any]] = deque()
        self._latency: dict[str, _Histogram] = {stage: _Histogram() for stage in STAGES}
        self._net = _Samples()
        self._slippage = _Samples()
        self._last: Mapping[str, Any] = {}

    @classmethod
    def of(cls, maker: MarketMaker) -> "MakerMetrics":
        mm = maker.mm
        limits = (mm.max_symbol_inventory_usdt, mm.max_total_inventory_usdt)
        return cls(maker.settings.strategy_id, limits)

    def feed(self, maker: MarketMaker) -> None:
        """Take the maker's snapshot (on the maker's thread) for the next scrape."""
        self.observe(read(maker))

    def observe(self, snapshot: Mapping[str, Any]) -> None:
        """Queue one snapshot (the shape of `read`); fold the oldest when the queue is full."""
        with self._lock:
            self._pending.append(snapshot)
            if len(self._pending) > MAX_PENDING:
                self._fold(self._pending.popleft())

    def _fold(self, snapshot: Mapping[str, Any]) -> None:
        for stage, samples in snapshot.get("stage_latency_ns", {}).items():
            self._latency.setdefault(stage, _Histogram()).add(samples)
        self._net.add(snapshot.get("net_bps_per_fill", ()))
        self._slippage.add(snapshot.get("slippage_bps", ()))
        self._last = snapshot

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            while self._pending:
                self._fold(self._pending.popleft())
            yield from self._latency_family()
            yield from self._risk_families(self._last)
            yield from self._edge_families(self._last)

    # -- performance

    def _latency_family(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "mm_stage_latency_seconds",
            "Market maker cycle stage durations",
            labels=["strategy_id", "stage"],
        )
        bounds = [f"{b:g}" for b in STAGE_BUCKETS_S] + ["+Inf"]
        for stage, histogram in sorted(self._latency.items()):
            counts = list(itertools.accumulate(histogram.buckets))
            family.add_metric(
                [self._id, stage],
                list(zip(bounds, counts, strict=True)),
                sum_value=histogram.total_s,
            )
        yield family

    # -- risk

    def _risk_families(self, last: Mapping[str, Any]) -> Iterator[Metric]:
        sid = self._id
        triggers = CounterMetricFamily(
            "mm_guard_triggers",
            "Guard reasons appearing, by the decision's level",
            labels=["strategy_id", "level", "reason"],
        )
        for key, count in sorted(last.get("guard_triggers", {}).items()):
            level, _, reason = str(key).partition(":")
            triggers.add_metric([sid, level, reason], count)
        yield triggers
        yield _gauge(
            "mm_guard_level",
            "The guards' level per symbol: 0 none, 1 SOFT, 2 HARD",
            sid,
            ["symbol"],
            (([s], float(v)) for s, v in last.get("guard_level", {}).items()),
        )
        yield _gauge(
            "mm_hard_scope",
            "1 for each scope gone HARD until a restart: a symbol, or * for every symbol",
            sid,
            ["scope"],
            (([scope], 1.0) for scope in last.get("hard_scopes", ())),
        )
        phase = last.get("phase")
        yield _gauge(
            "mm_phase",
            "1 for the maker's current phase",
            sid,
            ["phase"],
            (([p.value], float(p.value == phase)) for p in Phase if phase is not None),
        )
        yield _gauge(
            "mm_inventory_qty",
            "Signed position per symbol (base coin)",
            sid,
            ["symbol"],
            (([s], v) for s, v in last.get("inventory_qty", {}).items()),
        )
        yield _gauge(
            "mm_inventory_usdt",
            "|position| x mid per symbol",
            sid,
            ["symbol"],
            (([s], v) for s, v in last.get("inventory_usdt", {}).items()),
        )
        total = last.get("total_inventory_usdt")
        yield _gauge(
            "mm_total_inventory_usdt",
            "Sum of |position| x mid over the symbols",
            sid,
            [],
            [([], total)] if total is not None else [],
        )
        yield _gauge(
            "mm_inventory_limit_usdt",
            "Inventory limits (SOFT above; HARD above x inventory-hard-ratio)",
            sid,
            ["scope"],
            [(["symbol"], self._limits[0]), (["total"], self._limits[1])],
        )

    # -- edge

    def _edge_families(self, last: Mapping[str, Any]) -> Iterator[Metric]:
        sid = self._id
        scores = last.get("spread_scores", {})
        yield _gauge(
            "mm_spread_score_ratio",
            "The adaptive spread's scores per symbol, 0..1",
            sid,
            ["symbol", "score"],
            (
                ([symbol, score], values[score])
                for symbol, values in scores.items()
                for score in SCORES
                if score in values
            ),
        )
        yield _gauge(
            "mm_spread_bps",
            "The adaptive spread per symbol (basis points of the mid)",
            sid,
            ["symbol"],
            (([s], v["spread_bps"]) for s, v in scores.items() if "spread_bps" in v),
        )
        yield _gauge(
            "mm_quote_distance_ticks",
            "A working quote's distance behind the touch, in ticks (none: no quote)",
            sid,
            ["symbol", "side"],
            (
                ([symbol, side], ticks[side])
                for symbol, ticks in last.get("quote_ticks_from_touch", {}).items()
                for side in SIDES
                if ticks.get(side) is not None
            ),
        )
        fills = CounterMetricFamily(
            "mm_fills", "Fills by liquidity", labels=["strategy_id", "liquidity"]
        )
        for liquidity, count in sorted(last.get("fills", {}).items()):
            fills.add_metric([sid, liquidity], count)
        yield fills
        for name, doc, key in (
            ("mm_taker_share_ratio", "Taker fills / all fills", "taker_share"),
            ("mm_fill_ratio", "Fills / quotes placed", "fill_ratio"),
        ):
            value = last.get(key)
            yield _gauge(name, doc, sid, [], [([], value)] if value is not None else [])
        yield from self._samples_families(
            "mm_fill_net_bps", "Net edge per fill vs the mid, fee included", self._net
        )
        yield from self._samples_families(
            "mm_taker_slippage_bps", "Taker fills' price vs the mid (cost)", self._slippage
        )
        events = CounterMetricFamily(
            "mm_events", "Market maker events by kind", labels=["strategy_id", "kind"]
        )
        for kind, count in sorted(last.get("counters", {}).items()):
            events.add_metric([sid, kind], count)
        yield events
        dropped = CounterMetricFamily(
            "mm_dropped_samples",
            "Telemetry samples dropped between two snapshots (over 10000 of one kind)",
            labels=["strategy_id"],
        )
        dropped.add_metric([sid], last.get("dropped_samples", 0))
        yield dropped

    def _samples_families(self, name: str, doc: str, samples: _Samples) -> Iterator[Metric]:
        base = name.removesuffix("_bps")
        summary = SummaryMetricFamily(name, doc, labels=["strategy_id"])
        summary.add_metric([self._id], count_value=samples.count, sum_value=samples.total)
        yield summary
        mean = samples.recent_mean()
        yield _gauge(
            f"{base}_recent_bps",
            f"{doc}: mean of the last {RECENT_FILLS}",
            self._id,
            [],
            [([], mean)] if mean is not None else [],
        )


def _gauge(
    name: str,
    doc: str,
    strategy_id: str,
    labels: list[str],
    values: Iterable[tuple[list[str], float]],
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["strategy_id", *labels])
    for label_values, value in sorted(values, key=lambda item: item[0]):
        family.add_metric([strategy_id, *label_values], value)
    return family
