"""Latency percentiles in the view: p50, p90 and p99 of one figure come from one source."""

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from services.dashboard.metrics import MetricsFold, parse
from services.dashboard.view import Header, View
from shared.runtime.metrics import LatencyCollector, LatencyWindow

HEADER = Header(mode="paper", run_dir="/run", controls_enabled=False, daily_loss_limit_usdt=None)
_STAGES = ("tick_to_order", "order_to_ack")


def _executor_page(samples_us: list[float], *, with_p90: bool) -> str:
    """What the executor's own exporter shows for these samples (both stages); without
    `with_p90`, as an exporter that shows no p90 line (the executor's before it had one)."""
    window = LatencyWindow()
    for stage in _STAGES:
        for us in samples_us:
            window.add(stage, int(us * 1000))
    registry = CollectorRegistry()
    registry.register(LatencyCollector("executor", window))
    lines = generate_latest(registry).decode().splitlines(keepends=True)
    return "".join(line for line in lines if with_p90 or 'quantile="0.9"' not in line)


_samples = st.lists(st.floats(min_value=1, max_value=80_000), min_size=1, max_size=300)


@given(_samples, st.booleans(), st.integers(min_value=1, max_value=5))
def test_p50_p90_p99_are_ordered_whenever_known(
    samples_us: list[float], with_p90: bool, scrapes: int
) -> None:
    view, metrics = View(HEADER), MetricsFold()
    page = parse(_executor_page(samples_us, with_p90=with_p90))

    for i in range(scrapes):  # a minute of scrapes: a histogram window would fill up
        metrics.scraped(view, "executor", page, (i + 1) * 2_000_000_000)

    for key in ("tick_to_order_ms", "order_to_ack_ms"):
        figures = view.state["latency"][key]
        known = [figures[p] for p in ("p50", "p90", "p99") if figures[p] is not None]
        assert known == sorted(known), figures
        assert figures["p50"] is not None
        assert figures["p99"] is not None
        assert (figures["p90"] is not None) == with_p90  # not exported: unknown, not made up


def test_p90_is_unknown_when_the_executor_does_not_export_it_even_with_a_histogram() -> None:
    # Arrange: every sample just above 1 ms: p99 is 1.001 ms; a histogram's 1..2 ms bucket
    # would interpolate a p90 of 1.9 ms (above p99: the fault seen on the paper run).
    view, metrics = View(HEADER), MetricsFold()
    page = parse(_executor_page([1001.0] * 100, with_p90=False))

    # Act
    metrics.scraped(view, "executor", page, 1)

    # Assert
    figures = view.state["latency"]["tick_to_order_ms"]
    assert (figures["p50"], figures["p90"], figures["p99"]) == (1.001, None, 1.001)
