"""Guards: levels monotone in every input, reasons and scopes, SOFT and HARD factors."""

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.guards import (
    ACK_LATENCY,
    BOOK_CROSSED,
    CIRCUIT_BREAKER,
    FEED_STALE,
    SYMBOL_INVENTORY,
    TOTAL_INVENTORY,
    Level,
    Observations,
    Scope,
    decide,
)
from services.strategy.mm.settings import MarketMakerSettings

SETTINGS = MarketMakerSettings()
CALM = Observations(
    symbol_inventory_usdt=0.0,
    total_inventory_usdt=0.0,
    window_loss_usdt=0.0,
    daily_loss_usdt=0.0,
    ack_p95_ms=50.0,
    feed_age_ms=10.0,
    book_crossed=False,
    reject_rate_ratio=0.0,
    circuit_breaker_open=False,
)
amount = st.floats(min_value=-1e4, max_value=1e4)
maybe_ms = st.none() | st.floats(min_value=0, max_value=1e4)
observations = st.builds(
    Observations,
    symbol_inventory_usdt=amount,
    total_inventory_usdt=amount,
    window_loss_usdt=amount,
    daily_loss_usdt=amount,
    ack_p95_ms=maybe_ms,
    feed_age_ms=maybe_ms,
    book_crossed=st.booleans(),
    reject_rate_ratio=st.floats(min_value=0, max_value=1),
    circuit_breaker_open=st.booleans(),
)
NUMERIC = (
    "symbol_inventory_usdt",
    "total_inventory_usdt",
    "window_loss_usdt",
    "daily_loss_usdt",
    "reject_rate_ratio",
)


def _worse_ms(value: float | None, extra: float) -> float | None:
    return None if value is None else value + extra


@given(observations, st.sampled_from(NUMERIC), st.floats(min_value=0, max_value=1e4))
def test_a_larger_numeric_input_never_lowers_the_level(
    obs: Observations, field: str, extra: float
) -> None:
    worse = dataclasses.replace(obs, **{field: getattr(obs, field) + extra})
    assert decide(worse, SETTINGS).level >= decide(obs, SETTINGS).level


@given(observations, st.floats(min_value=0, max_value=1e4))
def test_slower_acks_or_an_older_feed_never_lower_the_level(
    obs: Observations, extra: float
) -> None:
    base = decide(obs, SETTINGS).level
    slower = dataclasses.replace(obs, ack_p95_ms=_worse_ms(obs.ack_p95_ms, extra))
    older = dataclasses.replace(obs, feed_age_ms=_worse_ms(obs.feed_age_ms, extra))
    never_fed = dataclasses.replace(obs, feed_age_ms=None)
    for worse in (slower, older, never_fed):
        assert decide(worse, SETTINGS).level >= base


@given(observations)
def test_a_crossed_book_or_open_breaker_is_always_hard(obs: Observations) -> None:
    for worse in (
        dataclasses.replace(obs, book_crossed=True),
        dataclasses.replace(obs, circuit_breaker_open=True),
    ):
        decision = decide(worse, SETTINGS)
        assert decision.level == Level.HARD
        assert decision.size_ratio == 0.0
        assert decision.alert


@given(observations)
def test_factors_follow_the_level(obs: Observations) -> None:
    decision = decide(obs, SETTINGS)
    assert decision.spread_widen_ratio >= 1.0
    assert 0.0 <= decision.size_ratio <= 1.0
    assert (decision.level == Level.NONE) == (decision.reasons == ())


def test_calm_observations_give_no_guard() -> None:
    decision = decide(CALM, SETTINGS)
    assert (decision.level, decision.reasons, decision.size_ratio) == (Level.NONE, (), 1.0)


def test_symbol_inventory_over_its_limit_is_soft_then_hard_for_the_symbol() -> None:
    soft = decide(dataclasses.replace(CALM, symbol_inventory_usdt=1_100.0), SETTINGS)
    hard = decide(dataclasses.replace(CALM, symbol_inventory_usdt=1_600.0), SETTINGS)
    assert (soft.level, soft.reasons, soft.scope) == (Level.SOFT, (SYMBOL_INVENTORY,), Scope.SYMBOL)
    assert (soft.spread_widen_ratio, soft.size_ratio) == (1.5, 0.5)
    assert (hard.level, hard.scope, hard.alert) == (Level.HARD, Scope.SYMBOL, True)


def test_total_inventory_and_latency_concern_every_symbol() -> None:
    obs = dataclasses.replace(CALM, total_inventory_usdt=5_000.0, ack_p95_ms=250.0)
    decision = decide(obs, SETTINGS)
    assert decision.level == Level.HARD
    assert decision.reasons == (TOTAL_INVENTORY, ACK_LATENCY)
    assert decision.scope == Scope.ALL


def test_stale_feed_and_crossed_book_cancel_the_symbol() -> None:
    obs = dataclasses.replace(CALM, feed_age_ms=5_000.0, book_crossed=True)
    decision = decide(obs, SETTINGS)
    assert (decision.level, decision.scope) == (Level.HARD, Scope.SYMBOL)
    assert decision.reasons == (FEED_STALE, BOOK_CROSSED)


def test_unknown_ack_latency_is_no_latency_reason_but_unknown_feed_is_stale() -> None:
    assert decide(dataclasses.replace(CALM, ack_p95_ms=None), SETTINGS).level == Level.NONE
    decision = decide(dataclasses.replace(CALM, feed_age_ms=None), SETTINGS)
    assert decision.reasons == (FEED_STALE,)


def test_breaker_is_hard_for_all() -> None:
    decision = decide(dataclasses.replace(CALM, circuit_breaker_open=True), SETTINGS)
    assert (decision.reasons, decision.scope) == ((CIRCUIT_BREAKER,), Scope.ALL)
