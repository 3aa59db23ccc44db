"""CircuitBreaker: every transition by example, and invariants over any sequence of calls."""

from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.runtime.breaker import (
    GROUPS,
    Breakers,
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
)

S: Final = 1_000_000_000  # ns per second
CLOSED, HALF_OPEN, OPEN = BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN


def _opened_by_consecutive(settings_: BreakerSettings | None = None) -> CircuitBreaker:
    breaker = CircuitBreaker("orders", settings_)
    for _ in range(breaker.settings.consecutive_failures):
        breaker.record_failure(0)
    assert breaker.state is OPEN
    return breaker


def test_closed_breaker_allows_every_call() -> None:
    breaker = CircuitBreaker("orders")

    assert all(breaker.allow(t * S) for t in range(100))
    assert breaker.state is CLOSED
    assert breaker.last_reason == ""


def test_opens_after_consecutive_failures_with_reason() -> None:
    breaker = CircuitBreaker("orders")

    changes = [breaker.record_failure(t) for t in range(5)]

    assert changes == [None, None, None, None, OPEN]
    assert breaker.state is OPEN
    assert breaker.opened_count == 1
    assert breaker.last_reason == "5 consecutive failures"


def test_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("orders", BreakerSettings(min_calls=1_000))

    for t in range(4):
        breaker.record_failure(t)
    breaker.record_success(4)
    changes = [breaker.record_failure(5 + t) for t in range(4)]

    assert changes == [None] * 4
    assert breaker.state is CLOSED


def test_opens_when_error_rate_over_window_exceeds_limit() -> None:
    breaker = CircuitBreaker("queries", BreakerSettings(min_calls=13))
    outcomes = [True, True, False] * 3 + [True, False, False, True]  # 8 of 13 failed

    changes = [
        breaker.record_failure(t * S) if failed else breaker.record_success(t * S)
        for t, failed in enumerate(outcomes)
    ]

    assert changes[:-1] == [None] * 12
    assert changes[-1] is OPEN
    assert breaker.last_reason == "error rate 0.62 over 30 s (13 calls)"


def test_error_rate_needs_min_calls_in_the_window() -> None:
    breaker = CircuitBreaker("queries", BreakerSettings(consecutive_failures=100))
    for t in range(9):  # 9 calls, all failures but one: below min_calls
        _ = breaker.record_failure(t) if t else breaker.record_success(t)

    assert breaker.state is CLOSED
    assert breaker.record_failure(9) is OPEN  # the tenth call


def test_error_rate_equal_to_limit_does_not_open() -> None:
    breaker = CircuitBreaker("queries")

    for t in range(10):
        _ = breaker.record_failure(t) if t % 2 else breaker.record_success(t)

    assert breaker.state is CLOSED  # 0.5 does not exceed 0.5


def test_old_outcomes_slide_out_of_the_window() -> None:
    breaker = CircuitBreaker("queries", BreakerSettings(consecutive_failures=100))
    for t in range(9):
        breaker.record_failure(t * S)

    assert breaker.record_success(40 * S) is None  # the nine failures are over 30 s old
    assert breaker.window_calls == 1
    assert breaker.record_failure(41 * S) is None
    assert breaker.state is CLOSED


def test_open_breaker_refuses_until_cool_down_then_lets_one_probe() -> None:
    breaker = _opened_by_consecutive()

    before = [breaker.allow(t * S) for t in range(10)]
    probe = breaker.allow(10 * S)
    after = [breaker.allow(t * S) for t in range(10, 100)]

    assert before == [False] * 10
    assert probe is True
    assert breaker.state is HALF_OPEN
    assert after == [False] * 90


def test_probe_success_closes_and_clears_the_window() -> None:
    breaker = _opened_by_consecutive()
    breaker.allow(10 * S)

    assert breaker.record_success(11 * S) is CLOSED
    assert breaker.window_calls == 0
    assert breaker.allow(11 * S) is True
    assert [breaker.record_failure(12 * S) for _ in range(4)] == [None] * 4


def test_probe_failure_reopens_with_a_fresh_cool_down() -> None:
    breaker = _opened_by_consecutive()
    breaker.allow(10 * S)

    assert breaker.record_failure(12 * S) is OPEN
    assert breaker.opened_count == 2
    assert breaker.last_reason == "probe failed while half-open"
    assert breaker.allow(21 * S) is False  # 10 s from the probe's failure, not the first opening
    assert breaker.allow(22 * S) is True


def test_outcomes_of_calls_sent_before_opening_do_not_move_an_open_breaker() -> None:
    breaker = _opened_by_consecutive()

    assert breaker.record_success(1 * S) is None
    assert breaker.record_failure(9 * S) is None
    assert breaker.state is OPEN
    assert breaker.allow(10 * S) is True  # the cool-down still counts from the opening


def test_zero_cool_down_probes_at_once() -> None:
    breaker = _opened_by_consecutive(BreakerSettings(cool_down_s=0))

    assert breaker.allow(0) is True
    assert breaker.state is HALF_OPEN


def test_window_length_is_capped() -> None:
    breaker = CircuitBreaker("queries", BreakerSettings(max_window_calls=50))

    for t in range(1_000):
        breaker.record_success(t)

    assert breaker.window_calls == 50


@pytest.mark.parametrize(
    "kwargs",
    [
        {"consecutive_failures": 0},
        {"min_calls": 0},
        {"max_window_calls": 0},
        {"error_rate": 1.0},
        {"error_rate": -0.1},
        {"window_s": 0.0},
        {"cool_down_s": -1.0},
    ],
)
def test_settings_refuse_values_that_would_never_or_always_open(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        BreakerSettings(**kwargs)  # type: ignore[arg-type]


def test_breakers_report_each_group_state_and_gauge_value() -> None:
    breakers = Breakers(overrides={"orders": BreakerSettings(consecutive_failures=1)})
    breakers["orders"].record_failure(0)
    breakers["queries"].record_failure(0)  # default settings: one failure is not enough
    stream = breakers["private_stream"]
    for _ in range(5):
        stream.record_failure(0)
    stream.allow(10 * S)

    assert breakers.groups() == list(GROUPS)
    assert breakers.snapshot() == {
        "orders": "open",
        "queries": "closed",
        "private_stream": "half_open",
    }
    assert breakers.gauge_values() == {"orders": 2.0, "queries": 0.0, "private_stream": 1.0}


# Properties over any sequence of calls and outcomes.
_SMALL: Final = BreakerSettings(
    consecutive_failures=3, min_calls=4, window_s=5.0, cool_down_s=2.0, max_window_calls=8
)
_steps = st.lists(
    st.tuples(
        st.sampled_from(["allow", "success", "failure"]),
        st.integers(min_value=0, max_value=3 * S),  # time step before the action
    ),
    max_size=200,
)


@given(_steps)
@settings(max_examples=300)
def test_never_more_than_one_probe_while_half_open(steps: list[tuple[str, int]]) -> None:
    breaker, now, probes_in_flight = CircuitBreaker("orders", _SMALL), 0, 0
    for action, dt in steps:
        now += dt
        if action == "allow":
            was = breaker.state
            if breaker.allow(now) and was is not CLOSED:
                probes_in_flight += 1
        else:
            probes_in_flight = 0  # any outcome settles the probe
            _ = breaker.record_success(now) if action == "success" else breaker.record_failure(now)
        assert probes_in_flight <= 1
        assert (probes_in_flight == 1) == (breaker.state is HALF_OPEN)


@given(_steps)
@settings(max_examples=300)
def test_open_breaker_never_allows_before_its_cool_down(steps: list[tuple[str, int]]) -> None:
    breaker, now, opened_at = CircuitBreaker("orders", _SMALL), 0, None
    cool_down_ns = int(_SMALL.cool_down_s * S)
    for action, dt in steps:
        now += dt
        if action == "allow":
            allowed = breaker.allow(now)
            if opened_at is not None and now - opened_at < cool_down_ns:
                assert not allowed
            if allowed:
                opened_at = None
        else:
            record = breaker.record_success if action == "success" else breaker.record_failure
            if record(now) is OPEN:
                opened_at = now


@given(_steps)
@settings(max_examples=300)
def test_state_stays_consistent_for_any_outcomes(steps: list[tuple[str, int]]) -> None:
    breaker, now, opened = CircuitBreaker("orders", _SMALL), 0, 0
    for action, dt in steps:
        now += dt
        before = breaker.state
        if action == "allow":
            breaker.allow(now)
            change = None if breaker.state is before else breaker.state
            assert change in (None, HALF_OPEN)
        else:
            record = breaker.record_success if action == "success" else breaker.record_failure
            change = record(now)
            assert change == (None if breaker.state is before else breaker.state)
        opened += change is OPEN
        assert breaker.opened_count == opened
        assert breaker.state is CLOSED or breaker.window_calls == 0
        assert (opened == 0) == (breaker.last_reason == "")


@given(
    st.lists(
        st.tuples(st.booleans(), st.one_of(st.integers(0, S // 10), st.integers(0, 40 * S))),
        max_size=300,
    )
)
@settings(max_examples=200)
def test_window_memory_is_bounded(outcomes: list[tuple[bool, int]]) -> None:
    limits = BreakerSettings(consecutive_failures=1_000, min_calls=1_000, max_window_calls=64)
    breaker = CircuitBreaker("queries", limits)
    now = 0
    for failed, dt in outcomes:
        now += dt
        _ = breaker.record_failure(now) if failed else breaker.record_success(now)
        assert breaker.window_calls <= breaker.settings.max_window_calls
        if dt >= breaker.settings.window_s * S:
            assert breaker.window_calls == 1  # everything before the gap slid out
