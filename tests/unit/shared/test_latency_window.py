"""LatencyWindow's recent percentiles: nearest rank, so p50 <= p99 whatever the count."""

from hypothesis import given
from hypothesis import strategies as st

from shared.runtime.metrics import LatencyCollector, LatencyWindow


def test_two_samples_give_the_lower_as_p50_and_the_higher_as_p99() -> None:
    window = LatencyWindow()
    window.add("order_to_ack", 2_000_000)
    window.add("order_to_ack", 1_000_000)
    assert window.percentiles("order_to_ack") == (1_000.0, 2_000.0)


def test_a_hundred_samples() -> None:
    window = LatencyWindow()
    for us in range(1, 101):
        window.add("s", us * 1_000)
    assert window.percentiles("s") == (50.0, 99.0)


def test_no_samples_is_none() -> None:
    assert LatencyWindow().percentiles("s") is None


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=300))
def test_p50_is_never_above_p99(latencies_ns: list[int]) -> None:
    window = LatencyWindow()
    for ns in latencies_ns:
        window.add("s", ns)
    found = window.percentiles("s")
    assert found is not None
    p50, p99 = found
    assert min(latencies_ns) / 1_000 <= p50 <= p99 <= max(latencies_ns) / 1_000


def test_the_collector_exports_p50_p90_and_p99_in_order() -> None:
    window = LatencyWindow()
    for us in range(1, 101):
        window.add("tick_to_order", us * 1_000)
    (recent, _) = LatencyCollector("executor", window).collect()

    quantiles = {s.labels["quantile"]: s.value for s in recent.samples}

    assert quantiles == {"0.5": 50.0, "0.9": 90.0, "0.99": 99.0}
