"""A scrape parses only the samples the view reads: the same samples as a whole-page parse,
from a page prometheus_client itself wrote (with the families the view skips around them)."""

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from services.dashboard.metrics import USED_SAMPLES, parse, used_lines

ODD = 'odd "one" {x} y, z=\\ \n'  # quotes, braces, a comma, =, a backslash, a newline


def _page() -> str:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    dropped = Counter("bus_dropped_messages", "d", ["reason"], registry=registry)
    dropped.labels(reason="superseded").inc(3)
    dropped.labels(reason=ODD).inc(1)
    Counter("bus_gaps", "g", ["sender"], registry=registry).labels(sender="feed").inc(2)
    Counter("bus_gaps_other", "not ours", registry=registry).inc()  # a longer name
    Gauge("executor_circuit_state", "c", ["group"], registry=registry).labels(group="orders").set(2)
    recent = Gauge("executor_latency_recent_us", "r", ["stage", "quantile"], registry=registry)
    recent.labels(stage="order_to_ack", quantile="0.5").set(900)
    stages = Histogram("mm_stage_latency_seconds", "s", ["stage"], registry=registry)
    stages.labels(stage="decide").observe(0.0002)
    Histogram("executor_latency_us", "not read", ["stage"], registry=registry).labels(
        stage="x"
    ).observe(5)
    return generate_latest(registry).decode()


def test_the_filtered_parse_keeps_exactly_the_used_samples_of_a_whole_page() -> None:
    page = _page()
    whole = [s for s in parse(page, names=None) if s.name in USED_SAMPLES]
    filtered = parse(page)
    assert filtered == whole
    assert {s.name for s in filtered} == set(USED_SAMPLES) - {"bus_lost_messages_total"}
    assert any(s.labels.get("reason") == ODD for s in filtered)
    assert len(used_lines(page)) < len(page.splitlines()) / 3  # most is skipped


def test_a_line_that_is_not_a_sample_is_a_value_error() -> None:
    for line in (
        "bus_gaps_total{sender=feed} 1",
        'bus_gaps_total{sender="feed"}',
        "bus_gaps_total x",
    ):
        with pytest.raises(ValueError, match="not a Prometheus sample"):
            parse(line + "\n")


def test_a_page_without_a_used_family_gives_no_samples() -> None:
    assert parse("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.0\n") == []
    assert parse("") == []
