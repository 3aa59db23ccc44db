from services.simulator.ratelimit import RateLimiter


def test_eleventh_order_in_a_second_is_refused_until_the_window_rolls() -> None:
    limiter = RateLimiter()
    verdicts = [limiter.check("acct", "/v5/order/create", 1_000 + i) for i in range(11)]
    assert [v.allowed for v in verdicts] == [True] * 10 + [False]
    assert verdicts[9].remaining == 0
    assert verdicts[10].reset_at_ms == 2_000
    assert limiter.check("acct", "/v5/order/create", 2_000).allowed


def test_limits_are_per_account_and_per_path() -> None:
    limiter = RateLimiter()
    for i in range(10):
        limiter.check("a", "/v5/order/create", i)
    assert limiter.check("b", "/v5/order/create", 10).allowed
    assert limiter.check("a", "/v5/order/cancel", 10).allowed


def test_a_batch_takes_one_unit_per_order_and_gets_what_is_left() -> None:
    limiter = RateLimiter()
    path = "/v5/order/create-batch"
    assert limiter.check("a", path, 1_000).allowed  # the request: its first order
    assert limiter.take("a", path, 1_000, 11) == 9  # ten a second in all
    assert limiter.take("a", path, 1_500, 3) == 0
    assert not limiter.check("a", path, 1_500).allowed
    assert limiter.take("a", path, 2_000, 3) == 3
