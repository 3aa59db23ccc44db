"""The queue-position model shared by the backtest venue and the live estimate."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.queue_position import (
    QueueModel,
    TradeOutcome,
    front_on_join,
    probabilistic,
    risk_averse,
    trade_at_price,
)

LOTS = st.integers(0, 10_000)
POWERS = st.sampled_from([1.0, 2.0, 3.0])
MODELS = st.builds(QueueModel, name=st.sampled_from(["risk-averse", "probabilistic"]), power=POWERS)


def test_front_is_the_level_when_joining() -> None:
    assert front_on_join(7) == 7
    assert front_on_join(-1) == 0


def test_trade_at_price_moves_up_then_reaches_us() -> None:
    assert trade_at_price(10, 4) == TradeOutcome(6, 0)
    assert trade_at_price(10, 10) == TradeOutcome(0, 0)
    assert trade_at_price(10, 13) == TradeOutcome(0, 3)
    assert trade_at_price(0, 0) == TradeOutcome(0, 0)


def test_risk_averse_assumes_cancellations_from_behind() -> None:
    model = QueueModel("risk-averse")
    assert model.front_after(5, before=20, after=15, traded=0) == 5
    assert model.front_after(5, before=20, after=3, traded=0) == 3


def test_probabilistic_moves_up_by_cancellations_ahead() -> None:
    # front 10, back 10: with n = 2 half of the 10 cancelled lots are taken as ahead of us
    assert probabilistic(10, before=20, after=10, traded=0, power=2.0) == 5


def test_probabilistic_does_not_count_a_trade_twice() -> None:
    # 4 lots traded at our level (front already 6) and the update shows the same decrease
    assert probabilistic(6, before=20, after=16, traded=4, power=2.0) == 6


def test_growing_level_queues_behind_us() -> None:
    assert QueueModel("probabilistic").front_after(5, before=10, after=30, traded=0) == 5


def test_unknown_model_or_power_is_refused() -> None:
    with pytest.raises(ValueError, match="queue model"):
        QueueModel("fifo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="power"):
        QueueModel("probabilistic", power=0)


@given(front=LOTS, traded=LOTS)
def test_trade_front_never_negative_and_fills_only_past_the_front(front: int, traded: int) -> None:
    outcome = trade_at_price(front, traded)
    assert outcome.front >= 0
    assert outcome.front == max(0, front - traded)
    assert (outcome.reached_lots > 0) == (traded > front)
    assert outcome.reached_lots == max(0, traded - front)


@given(model=MODELS, front=LOTS, before=LOTS, after=LOTS, traded=LOTS)
def test_level_change_front_within_zero_and_the_level(
    model: QueueModel, front: int, before: int, after: int, traded: int
) -> None:
    moved = model.front_after(min(front, before), before, after, min(traded, before))
    assert 0 <= moved <= after
    assert moved <= min(front, before)  # a level change never moves us back


@given(front=LOTS, before=LOTS, after=LOTS, traded=LOTS, power=POWERS)
def test_probabilistic_is_never_behind_risk_averse(
    front: int, before: int, after: int, traded: int, power: float
) -> None:
    front = min(front, before)
    assert probabilistic(front, before, after, traded, power) <= risk_averse(front, after)


def test_the_backtest_venue_runs_this_same_model() -> None:
    from services.simulator import queue_model

    assert queue_model.QueueModel is QueueModel
    assert queue_model.risk_averse is risk_averse
    assert queue_model.probabilistic is probabilistic
