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
