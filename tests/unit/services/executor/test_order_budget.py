"""Per-strategy order rates and the fair share of a scarce venue budget."""

import math
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.executor.order_budget import (
    BUCKETS_PER_WINDOW,
    FairShare,
    FairShareSettings,
    SlidingCount,
    StrategyRateLimits,
    StrategyRateSettings,
)

S: Final = 1_000_000_000  # ns per second
MINUTE: Final = 60 * S
BUCKET: Final = MINUTE // BUCKETS_PER_WINDOW  # the strategy window's resolution
STRATEGIES: Final = ("mm1", "mm2", "mm3", "arb")


def test_strategy_refused_at_its_limit_with_reason() -> None:
    limits = StrategyRateLimits()
    limits.note("mm1", 0, count=600)

    reason = limits.check("mm1", 59 * S)

    assert reason == "strategy mm1: 600 orders in the last 60 s, limit 600/min"
    assert limits.check("mm2", 59 * S) is None  # another strategy has its own window


def test_named_strategy_gets_its_own_limit() -> None:
    limits = StrategyRateLimits(StrategyRateSettings(per_strategy_per_min={"slow": 10}))
    limits.note("slow", 0, count=9)

    assert limits.check("slow", S) is None
    assert limits.check("slow", S, count=2) == (
        "strategy slow: 9 orders in the last 60 s, limit 10/min"
    )
    assert limits.check("other", S, count=600) is None


def test_strategy_window_slides() -> None:
    limits = StrategyRateLimits(StrategyRateSettings(default_per_min=2))
    limits.note("mm1", 0)
    limits.note("mm1", 30 * S)

    assert limits.check("mm1", 59 * S) is not None
    assert limits.check("mm1", MINUTE + BUCKET) is None  # the first order slid out
    assert limits.sent("mm1", MINUTE + BUCKET) == 1


def test_sliding_count_memory_is_bounded_by_buckets() -> None:
    window = SlidingCount(MINUTE)

    for t in range(0, 10 * MINUTE, S // 100):
        window.add(t, 1)

    assert window.buckets() <= BUCKETS_PER_WINDOW + 1


def test_sliding_count_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="count must be"):
        SlidingCount(MINUTE).add(0, -1)


def test_fair_share_lets_anyone_spend_a_plentiful_budget() -> None:
    share = FairShare()
    share.note("mm1", 0, count=50)

    assert share.check("mm1", 0, remaining=20) is None
    assert share.check("mm2", 0, remaining=20) is None


def test_fair_share_caps_each_active_strategy_when_scarce() -> None:
    share = FairShare(FairShareSettings(reserve=10))
    share.check("mm2", 0, remaining=9)  # mm2 asks: two strategies are active
    for _ in range(5):  # ceil(9 / 2) = 5 for mm1
        assert share.check("mm1", 0, remaining=9) is None
        share.note("mm1", 0)

    reason = share.check("mm1", 0, remaining=4)

    assert reason == (
        "strategy mm1: fair share 5 of a scarce venue budget (4 left, 2 strategies), "
        "5 spent in the window"
    )
    assert share.check("mm2", 0, remaining=4, count=4) is None


def test_fair_share_refuses_more_than_is_left() -> None:
    share = FairShare()

    assert share.check("mm1", 0, remaining=2, count=3) == (
        "venue budget: 2 requests left in the window, asked 3"
    )


def test_fair_share_never_refuses_orders_that_reduce_exposure() -> None:
    share = FairShare()
    share.check("mm2", 0, remaining=0)

    assert share.check("mm1", 0, remaining=0, count=5, reduces_exposure=True) is None


def test_idle_strategy_stops_counting_as_active() -> None:
    share = FairShare(FairShareSettings(window_s=1.0))
    share.check("mm1", 0, remaining=100)
    share.check("mm2", 0, remaining=100)

    assert share.active(S // 2) == 2
    assert share.active(S) == 0


# Properties.
_asks = st.lists(
    st.tuples(
        st.sampled_from(STRATEGIES),
        st.integers(min_value=1, max_value=4),  # count
        st.booleans(),  # reduces exposure
    ),
    max_size=120,
)


@given(st.integers(min_value=0, max_value=40), _asks)
@settings(max_examples=300)
def test_no_strategy_exceeds_its_share_and_grants_never_exceed_remaining(
    start_remaining: int, asks: list[tuple[str, int, bool]]
) -> None:
    # One window (time stands still): the venue's remaining only falls by what is sent.
    share = FairShare(FairShareSettings(reserve=10))
    remaining, asked, spent = start_remaining, set[str](), dict.fromkeys(STRATEGIES, 0)
    granted_growing = 0
    for strategy_id, count, reduces in asks:
        asked.add(strategy_id)
        plentiful = remaining >= 10 and remaining >= len(asked) * count
        if share.check(strategy_id, 0, remaining, count, reduces_exposure=reduces) is not None:
            continue
        if not reduces:
            assert count <= remaining
            granted_growing += count
            if not plentiful:
                pool = remaining + sum(spent.values())
                assert spent[strategy_id] + count <= math.ceil(pool / len(asked))
        share.note(strategy_id, 0, count)
        spent[strategy_id] += count
        remaining = max(0, remaining - count)
    assert granted_growing <= start_remaining


@given(
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=1, max_value=10),
    st.lists(st.tuples(st.sampled_from(STRATEGIES), st.integers(0, 50)), max_size=60),
)
def test_plentiful_budget_never_refuses(
    n_active: int, count: int, history: list[tuple[str, int]]
) -> None:
    share = FairShare(FairShareSettings(reserve=10))
    for strategy_id, spent in history:
        share.note(strategy_id, 0, spent)
    for strategy_id in STRATEGIES[:n_active]:
        share.check(strategy_id, 0, remaining=1_000)
    remaining = max(10, n_active * count)

    assert share.check(STRATEGIES[0], 0, remaining, count) is None


@given(
    st.integers(min_value=1, max_value=600),
    st.lists(st.tuples(st.integers(0, 2 * MINUTE), st.integers(0, 20)), max_size=100),
    st.integers(min_value=1, max_value=20),
)
def test_strategy_within_its_limit_is_never_refused(
    limit: int, history: list[tuple[int, int]], count: int
) -> None:
    limits = StrategyRateLimits(StrategyRateSettings(default_per_min=limit))
    now = 0
    for dt, noted in history:
        now += dt
        limits.note("mm1", now, noted)
    sent = limits.sent("mm1", now)

    refused = limits.check("mm1", now, count) is not None

    assert refused == (sent + count > limit)


@given(st.lists(st.tuples(st.integers(0, 5 * S), st.integers(0, 700)), max_size=100))
def test_strategy_windows_slide(history: list[tuple[int, int]]) -> None:
    limits = StrategyRateLimits()
    now, noted_at = 0, []
    for dt, noted in history:
        now += dt
        limits.note("mm1", now, noted)
        noted_at.append((now, noted))

    sent = limits.sent("mm1", now)

    assert sum(n for t, n in noted_at if t + MINUTE > now) <= sent  # never forgets early
    assert sent <= sum(n for t, n in noted_at if t + MINUTE + BUCKET > now)  # at most a bucket late
    assert limits.check("mm1", now + MINUTE + BUCKET, count=600) is None
    assert limits.sent("mm1", now + MINUTE + BUCKET) == 0


@given(st.lists(st.tuples(st.integers(0, S // 10), st.integers(0, 20)), max_size=200))
def test_fair_share_window_slides(history: list[tuple[int, int]]) -> None:
    share = FairShare(FairShareSettings(window_s=1.0, reserve=10))
    now = 0
    for dt, noted in history:
        now += dt
        share.check("mm1", now, remaining=1)
        share.note("mm1", now, noted)
    later = now + S + S // BUCKETS_PER_WINDOW

    share.check("mm2", later, remaining=1)

    assert share.active(later) == 1  # mm1 is idle by now
    assert share.check("mm2", later, remaining=1) is None
