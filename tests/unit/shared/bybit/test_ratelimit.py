"""RateBudget: header parsing, the pure delay, acquire() with a fake clock and a fake sleep."""

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bybit.ratelimit import RateBudget
from shared.runtime import FakeClock

PATH = "/v5/order/create"
BATCH = "/v5/order/create-batch"
NOW_MS = 1_700_000_000_000


def _headers(limit: int, remaining: int, reset_ms: int) -> dict[str, str]:
    return {
        "X-Bapi-Limit": str(limit),
        "X-Bapi-Limit-Status": str(remaining),
        "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
    }


class FakeSleep:
    """Records each wait and moves the clock by it, as a real sleep would."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.calls.append(delay_s)
        self.clock.advance(int(delay_s * 1e9))


def _budget(
    max_delay_s: float = 5.0, window_ms: int = 1000
) -> tuple[RateBudget, FakeClock, FakeSleep]:
    clock = FakeClock(NOW_MS * 1_000_000)
    sleep = FakeSleep(clock)
    budget = RateBudget(clock, max_delay_s=max_delay_s, window_ms=window_ms, sleep=sleep)
    return budget, clock, sleep


def test_snapshot_shows_the_headers_of_the_last_response_per_path() -> None:
    budget, _, _ = _budget()

    budget.update(PATH, _headers(10, 9, NOW_MS), NOW_MS)
    budget.update("/v5/order/cancel", _headers(10, 3, NOW_MS + 5), NOW_MS)

    assert budget.snapshot() == {
        "/v5/order/cancel": {"limit": 10, "remaining": 3, "reset_ms": NOW_MS + 5},
        PATH: {"limit": 10, "remaining": 9, "reset_ms": NOW_MS},
    }
    assert (budget.remaining(PATH), budget.remaining(BATCH)) == (9, None)  # None: unknown


def test_no_delay_while_requests_remain() -> None:
    budget, _, _ = _budget()
    budget.update(PATH, _headers(10, 1, NOW_MS + 800), NOW_MS)

    assert budget.delay_s(PATH, NOW_MS) == 0


def test_delay_until_reset_when_exhausted() -> None:
    budget, _, _ = _budget()
    budget.update(PATH, _headers(10, 0, NOW_MS + 250), NOW_MS)

    assert budget.delay_s(PATH, NOW_MS) == 0.25
    assert budget.delay_s(PATH, NOW_MS + 250) == 0
    assert budget.delay_s("/v5/other", NOW_MS) == 0


def test_delay_is_capped() -> None:
    budget, _, _ = _budget(max_delay_s=2.0)
    budget.update(PATH, _headers(10, 0, NOW_MS + 3_600_000), NOW_MS)

    assert budget.delay_s(PATH, NOW_MS) == 2.0


def test_response_without_rate_headers_changes_nothing() -> None:
    budget, _, _ = _budget()

    budget.update(PATH, {"Content-Type": "application/json"}, NOW_MS)

    assert budget.snapshot() == {}
    assert budget.bad_headers == 0


def test_unreadable_rate_headers_are_counted_and_ignored() -> None:
    budget, _, _ = _budget()

    budget.update(PATH, _headers(10, 0, 0) | {"X-Bapi-Limit-Status": "many"}, NOW_MS)

    assert budget.snapshot() == {}
    assert budget.bad_headers == 1


async def test_acquire_waits_until_reset_when_exhausted() -> None:
    budget, clock, sleep = _budget()
    budget.update(PATH, _headers(10, 0, NOW_MS + 400), NOW_MS)

    await budget.acquire(PATH)

    assert sleep.calls == [0.4]
    assert clock.now_ns() // 1_000_000 == NOW_MS + 400
    assert budget.waits == 1


async def test_acquire_does_not_wait_for_an_unknown_path() -> None:
    budget, _, sleep = _budget()

    await budget.acquire(PATH)

    assert sleep.calls == []
    assert budget.waits == 0


async def test_requests_in_flight_count_against_the_budget() -> None:
    # Three requests leave before any answer updates the headers: the third must wait.
    budget, _, sleep = _budget(window_ms=1000)
    budget.update(PATH, _headers(10, 2, NOW_MS), NOW_MS)

    await budget.acquire(PATH)
    await budget.acquire(PATH)
    assert sleep.calls == []
    await budget.acquire(PATH)

    assert sleep.calls == [1.0]
    assert budget.waits == 1


async def test_exhaust_without_headers_makes_the_next_request_wait() -> None:
    budget, _, sleep = _budget()

    budget.exhaust(PATH, NOW_MS + 100)
    await budget.acquire(PATH)

    assert sleep.calls == [0.1]


async def test_a_batch_counts_each_of_its_orders() -> None:
    budget, _, sleep = _budget()
    budget.update(BATCH, _headers(10, 9, NOW_MS), NOW_MS)

    await budget.acquire(BATCH, units=4)
    budget.consume(BATCH, units=3)

    assert sleep.calls == []
    assert budget.snapshot()[BATCH]["remaining"] == 2


async def test_a_batch_larger_than_what_remains_waits_for_the_reset() -> None:
    budget, _, sleep = _budget()
    budget.update(BATCH, _headers(10, 5, NOW_MS + 300), NOW_MS)
    await budget.acquire(BATCH, units=4)  # one left until NOW_MS + 300

    single = budget.delay_s(BATCH, NOW_MS, units=1)
    await budget.acquire(BATCH, units=3)

    assert single == 0
    assert sleep.calls == [0.3]


def test_a_batch_larger_than_the_limit_is_not_held_back_forever() -> None:
    budget, _, _ = _budget()
    budget.update(BATCH, _headers(10, 10, NOW_MS + 500), NOW_MS)

    assert budget.delay_s(BATCH, NOW_MS, units=20) == 0  # the venue takes the first 10


async def test_after_a_reset_a_burst_waits_for_the_rolling_window() -> None:
    # The headers say the window reset, but the venue's window rolls: of ten sends at 0 ms
    # and a reset at 0 ms, none has left the window until 1 s after it was sent.
    budget, clock, sleep = _budget(window_ms=1000)
    budget.update(PATH, _headers(10, 10, NOW_MS), NOW_MS)
    for _ in range(10):
        await budget.acquire(PATH)
    clock.advance(400 * 1_000_000)
    budget.update(PATH, _headers(10, 10, NOW_MS + 400), NOW_MS + 400)  # "reset": a fresh view

    await budget.acquire(PATH)

    assert sleep.calls == [0.65]  # until the first send leaves the window (and the margin)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 12),
    requests=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 15)), max_size=60),
)
async def test_no_rolling_window_holds_more_than_the_limit(
    limit: int, requests: list[tuple[int, int]]
) -> None:
    # Whatever the pace and the batch sizes, sends that waited as told never put more than
    # `limit` units into any window of 1 s (a batch over the limit counts as the limit: the
    # venue takes the first `limit` of its orders).
    budget, clock, _ = _budget(window_ms=1000)
    budget.update(PATH, _headers(limit, limit, NOW_MS), NOW_MS)
    sent: list[tuple[int, int]] = []
    for gap_ms, units in requests:
        clock.advance(gap_ms * 1_000_000)
        await budget.acquire(PATH, units)
        sent.append((clock.now_ns() // 1_000_000, min(units, limit)))
    for t, _ in sent:
        in_window = sum(u for s, u in sent if t - 1000 < s <= t)
        assert in_window <= limit, (t, sent)
