"""The market maker's metrics, scraped as Prometheus text from a fed `MakerMetrics`."""

from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from services.strategy import mm_metrics
from services.strategy.loop import StrategyLoop
from services.strategy.mm.core import MarketMaker
from services.strategy.mm.pipeline import STAGES
from services.strategy.mm_metrics import MakerMetrics, read
from shared.runtime.clock import FakeClock
from shared.schema import OrderSide
from tests.unit.services.strategy.mm.core_support import (
    SID,
    START,
    accepted,
    book,
    filled,
    maker,
    side_of,
    submits,
)
from tests.unit.services.strategy.support import BTC, MS, T0, position_changed

FAMILIES = {
    "mm_stage_latency_seconds": "histogram",
    "mm_guard_triggers": "counter",
    "mm_guard_level": "gauge",
    "mm_hard_scope": "gauge",
    "mm_phase": "gauge",
    "mm_inventory_qty": "gauge",
    "mm_inventory_usdt": "gauge",
    "mm_total_inventory_usdt": "gauge",
    "mm_inventory_limit_usdt": "gauge",
    "mm_spread_score_ratio": "gauge",
    "mm_spread_bps": "gauge",
    "mm_quote_distance_ticks": "gauge",
    "mm_fills": "counter",
    "mm_taker_share_ratio": "gauge",
    "mm_fill_ratio": "gauge",
    "mm_fill_net_bps": "summary",
    "mm_fill_net_recent_bps": "gauge",
    "mm_taker_slippage_bps": "summary",
    "mm_taker_slippage_recent_bps": "gauge",
    "mm_events": "counter",
    "mm_dropped_samples": "counter",
}


def _scrape(collector: MakerMetrics) -> dict[str, Any]:
    """Family name -> (type, samples), through the text exposition a scrape reads."""
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    (found,) = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    return float(found)


def _quoted_and_filled() -> tuple[MarketMaker, MakerMetrics]:
    mm = maker()
    bid = side_of(submits(book(mm, "50000.0", "50000.1", START)), OrderSide.BUY)
    mm.on_message(accepted(bid, START + MS), START + MS)
    mm.on_message(filled(bid, START + 2 * MS), START + 2 * MS)
    return mm, MakerMetrics.of(mm)


def test_every_family_is_exposed_with_its_type_and_the_strategy_id() -> None:
    mm, collector = _quoted_and_filled()
    collector.feed(mm)

    families = _scrape(collector)

    assert {name: kind for name, (kind, _) in families.items()} == FAMILIES
    labels = [s.labels for _, samples in families.values() for s in samples]
    assert labels
    assert all(label["strategy_id"] == SID for label in labels)


def test_values_are_those_of_the_fed_maker() -> None:
    mm, collector = _quoted_and_filled()
    snapshot = read(mm)
    collector.observe(snapshot)

    families = _scrape(collector)

    def samples(name: str) -> list[Sample]:
        return list(families[name][1])

    assert _value(samples("mm_inventory_qty"), "mm_inventory_qty", symbol=BTC) == 0.002
    usdt = snapshot["inventory_usdt"][BTC]
    assert _value(samples("mm_inventory_usdt"), "mm_inventory_usdt", symbol=BTC) == usdt
    assert _value(samples("mm_total_inventory_usdt"), "mm_total_inventory_usdt") == usdt
    scores = snapshot["spread_scores"][BTC]
    for score in mm_metrics.SCORES:
        got = _value(samples("mm_spread_score_ratio"), "mm_spread_score_ratio", score=score)
        assert got == scores[score]
    assert _value(samples("mm_spread_bps"), "mm_spread_bps", symbol=BTC) == scores["spread_bps"]
    ticks = snapshot["quote_ticks_from_touch"][BTC]
    sell = _value(samples("mm_quote_distance_ticks"), "mm_quote_distance_ticks", side="Sell")
    assert sell == ticks["Sell"]
    assert _value(samples("mm_fills"), "mm_fills_total", liquidity="maker") == 1
    assert _value(samples("mm_fills"), "mm_fills_total", liquidity="taker") == 0
    assert _value(samples("mm_taker_share_ratio"), "mm_taker_share_ratio") == 0.0
    assert _value(samples("mm_fill_ratio"), "mm_fill_ratio") == snapshot["fill_ratio"]
    (net,) = snapshot["net_bps_per_fill"]
    assert _value(samples("mm_fill_net_bps"), "mm_fill_net_bps_count") == 1
    assert _value(samples("mm_fill_net_bps"), "mm_fill_net_bps_sum") == pytest.approx(net)
    assert _value(samples("mm_fill_net_recent_bps"), "mm_fill_net_recent_bps") == pytest.approx(net)
    assert samples("mm_taker_slippage_recent_bps") == []  # no taker fill yet
    assert _value(samples("mm_phase"), "mm_phase", phase="Quoting") == 1
    assert _value(samples("mm_phase"), "mm_phase", phase="Stopped") == 0
    limits = samples("mm_inventory_limit_usdt")
    assert _value(limits, "mm_inventory_limit_usdt", scope="symbol") == 1_000
    assert _value(limits, "mm_inventory_limit_usdt", scope="total") == 3_000


def test_stage_latencies_form_a_histogram_summed_over_feeds() -> None:
    mm, collector = _quoted_and_filled()
    first = read(mm)
    collector.observe(first)
    book(mm, "50000.2", "50000.3", START + 3 * MS)
    second = read(mm)
    collector.observe(second)

    _, samples = _scrape(collector)["mm_stage_latency_seconds"]

    for stage in STAGES:
        count = len(first["stage_latency_ns"][stage]) + len(second["stage_latency_ns"][stage])
        assert count > 0
        name = "mm_stage_latency_seconds"
        assert _value(samples, f"{name}_count", stage=stage) == count
        assert _value(samples, f"{name}_bucket", stage=stage, le="1e-06") == count  # 7 ns each
        assert _value(samples, f"{name}_sum", stage=stage) == pytest.approx(count * 7e-9)
    les = [s.labels["le"] for s in samples if s.name.endswith("_bucket") and s.labels["stage"]]
    assert len(les) == len(STAGES) * (len(mm_metrics.STAGE_BUCKETS_S) + 1)


def test_a_scrape_counts_samples_once() -> None:
    mm, collector = _quoted_and_filled()
    collector.feed(mm)
    first = _scrape(collector)["mm_stage_latency_seconds"][1]
    collector.feed(mm)  # nothing happened since: no new samples
    again = _scrape(collector)["mm_stage_latency_seconds"][1]
    assert first == again


def test_hard_shows_as_a_trigger_a_level_a_scope_and_a_stopped_phase_only_for_all() -> None:
    mm = maker()
    book(mm, "50000.0", "50000.1", START)
    mm.on_message(position_changed(BTC, "0.04", "50000"), START + 2 * MS)  # 2000 > 1.5 x 1000
    book(mm, "50000.0", "50000.1", START + 3 * MS)
    collector = MakerMetrics.of(mm)
    collector.feed(mm)

    families = _scrape(collector)

    triggers = families["mm_guard_triggers"][1]
    trigger = _value(triggers, "mm_guard_triggers_total", level="HARD", reason="symbol_inventory")
    assert trigger == 1
    assert _value(families["mm_guard_level"][1], "mm_guard_level", symbol=BTC) == 2
    assert _value(families["mm_hard_scope"][1], "mm_hard_scope", scope=BTC) == 1
    assert _value(families["mm_phase"][1], "mm_phase", phase="Quoting") == 1  # one symbol only
    events = families["mm_events"][1]
    assert _value(events, "mm_events_total", kind="taker_orders") == 1


def test_an_unscraped_collector_keeps_a_bounded_queue_and_loses_no_sample() -> None:
    collector = MakerMetrics("mm1", (1_000.0, 3_000.0))
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES} | {"guards": [500.0]}
    for _ in range(mm_metrics.MAX_PENDING + 30):
        collector.observe({"stage_latency_ns": stages, "net_bps_per_fill": [1.0]})

    assert len(collector._pending) == mm_metrics.MAX_PENDING
    families = _scrape(collector)
    latency = families["mm_stage_latency_seconds"][1]
    count = mm_metrics.MAX_PENDING + 30
    name = "mm_stage_latency_seconds"
    assert _value(latency, f"{name}_count", stage="guards") == count
    assert _value(latency, f"{name}_bucket", stage="guards", le="1e-06") == count
    assert _value(latency, f"{name}_count", stage="skew") == 0
    assert _value(families["mm_fill_net_bps"][1], "mm_fill_net_bps_count") == count
    recent = families["mm_fill_net_recent_bps"][1]
    assert _value(recent, "mm_fill_net_recent_bps") == 1.0


def test_an_unfed_collector_exposes_empty_families() -> None:
    families = _scrape(MakerMetrics("mm1", (1_000.0, 3_000.0)))

    assert set(families) == set(FAMILIES)
    assert families["mm_inventory_usdt"][1] == []
    assert families["mm_phase"][1] == []


class _Publisher:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)


def test_the_loop_runs_its_periodic_tasks_and_counts_a_failure() -> None:
    mm, collector = _quoted_and_filled()
    sockets = SimpleNamespace(publisher=_Publisher())
    loop = StrategyLoop(mm, SID, sockets, None, FakeClock(T0), 1.0)  # type: ignore[arg-type]
    fed: list[int] = []

    def fails() -> None:
        raise RuntimeError("boom")

    loop.periodic += [lambda: collector.feed(mm), fails, lambda: fed.append(1)]
    loop._run_periodic()

    assert fed == [1]
    assert loop.counters["periodic_failures"] == 1
    assert _value(_scrape(collector)["mm_fills"][1], "mm_fills_total", liquidity="maker") == 1
