"""The view and its deltas: examples, then properties (bounded lists, replaying deltas)."""

import copy
import itertools
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.dashboard.market import NS_PER_S, QuoteSampler
from services.dashboard.metrics import histogram_quantile
from services.dashboard.view import LIST_BOUNDS, Header, View, apply_change, initial_state
from shared.schema import Quote, Symbol

HEADER = Header(mode="paper", run_dir="/run", controls_enabled=False, daily_loss_limit_usdt=None)


def _quote(symbol: str, bid: str, ts_ns: int = 1) -> Quote:
    from decimal import Decimal

    return Quote(
        symbol=Symbol(symbol),
        epoch=1,
        bid_price=Decimal(bid),
        bid_qty=Decimal("1"),
        ask_price=Decimal(bid) + 1,
        ask_qty=Decimal("2"),
        venue_update_id=1,
        ts_event_ns=ts_ns,
        ts_recv_ns=ts_ns,
    )


def test_unknowns_start_as_null_never_zero() -> None:
    state = initial_state(HEADER)
    assert state["health"]["trading_state"] is None
    assert state["money"]["daily_loss_usdt"] is None
    assert state["money"]["balance"] is None
    assert state["latency"]["tick_to_order_ms"]["p50"] is None


def test_a_set_to_the_same_value_records_nothing() -> None:
    view = View(HEADER)
    view.set(("health", "trading_state"), "ACTIVE")
    view.take()

    view.set(("health", "trading_state"), "ACTIVE")

    assert view.take() == ([], 0)


def test_take_reports_the_earliest_send_time_behind_the_changes() -> None:
    view = View(HEADER)
    view.behind(300)
    view.set(("health", "reconciled"), True)
    view.behind(200)
    view.behind(0)  # polled data: no send time
    view.set(("health", "trading_reason"), "x")

    changes, ts = view.take()

    assert ts == 200
    assert [c["path"] for c in changes] == [["health", "reconciled"], ["health", "trading_reason"]]
    assert view.take() == ([], 0)


def test_delete_of_a_missing_key_records_nothing() -> None:
    view = View(HEADER)
    view.delete(("orders", "working", "nope"))
    assert not view.pending()


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(["a", "b", "c"]), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.sampled_from(["a", "b", "c"]), st.just(0)),
        st.tuples(st.just("append"), st.just("fills"), st.integers(0, 1000)),
    ),
    max_size=300,
)


@given(_ops, st.integers(min_value=0, max_value=300))
def test_replaying_the_deltas_on_the_first_snapshot_gives_the_view(
    ops: list[tuple[str, str, int]], split: int
) -> None:
    view = View(HEADER)
    view.take()
    page: dict[str, Any] = copy.deepcopy(view.state)  # the snapshot the page got
    for i, (op, key, value) in enumerate(ops):
        if op == "set":
            view.set(("orders", "working", key), {"qty": str(value)})
        elif op == "delete":
            view.delete(("orders", "working", key))
        else:
            view.append(("orders", "fills"), value, LIST_BOUNDS["fills"])
        if i == split:  # a flush in the middle: two deltas
            for change in view.take()[0]:
                apply_change(page, change, LIST_BOUNDS)
    for change in view.take()[0]:
        apply_change(page, change, LIST_BOUNDS)
    assert page == view.state


@given(st.lists(st.integers(), max_size=500), st.integers(min_value=1, max_value=50))
def test_a_list_keeps_its_newest_items_within_its_bound(items: list[int], bound: int) -> None:
    view = View(HEADER)
    for item in items:
        view.append(("alerts",), item, bound)
    assert view.state["alerts"] == items[-bound:]
    assert len(view.state["alerts"]) <= bound


def test_the_sampler_lets_at_most_rate_quotes_a_second_through_and_the_newest_wins() -> None:
    view = View(HEADER)
    sampler = QuoteSampler(rate=4)
    emitted = []
    for ms in range(0, 2000, 10):  # 100 quotes a second, a flush every 10 ms
        now_ns = 10 * NS_PER_S + ms * 1_000_000
        sampler.offer(_quote("BTCUSDT", str(100 + ms)), ts_sent_ns=now_ns)
        sampler.emit(view, now_ns)
        changes, _ = view.take()
        if any(c["path"][-1] == "bid" for c in changes):
            emitted.append(now_ns)
    assert len(emitted) == 8  # 2 s x 4 a second
    assert all(b - a >= NS_PER_S // 4 for a, b in itertools.pairwise(emitted))
    sampler.emit(view, 13 * NS_PER_S)  # held until due, never lost
    assert (
        view.state["market"]["symbols"]["BTCUSDT"]["bid"] == "2090"
    )  # the last offered (100 + 1990)
    assert sampler.superseded > 0


def test_a_sampled_quote_carries_its_bus_send_time() -> None:
    view = View(HEADER)
    sampler = QuoteSampler(rate=4)
    sampler.offer(_quote("ETHUSDT", "2000"), ts_sent_ns=12345)
    sampler.emit(view, NS_PER_S)
    assert view.take()[1] == 12345
    assert view.took_sampled


_histograms = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12)


@given(_histograms, st.floats(min_value=0.01, max_value=1.0), st.floats(0.01, 1.0))
def test_histogram_quantiles_are_monotonic_and_within_the_bounds(
    counts: list[int], q1: float, q2: float
) -> None:
    bounds = [10.0 * (i + 1) for i in range(len(counts) - 1)] + [math.inf]
    cumulative = [float(sum(counts[: i + 1])) for i in range(len(counts))]
    low, high = sorted((q1, q2))

    a, b = histogram_quantile(bounds, cumulative, low), histogram_quantile(bounds, cumulative, high)

    if cumulative[-1] == 0:
        assert a is None
        assert b is None
        return
    assert a is not None
    assert b is not None
    assert 0.0 <= a <= b
    assert b <= (bounds[-2] if len(bounds) > 1 else 0.0)


def test_histogram_quantile_interpolates_within_a_bucket() -> None:
    bounds = [100.0, 200.0, math.inf]
    assert histogram_quantile(bounds, [0.0, 10.0, 10.0], 0.5) == 150.0
    assert histogram_quantile(bounds, [0.0, 0.0, 0.0], 0.5) is None
