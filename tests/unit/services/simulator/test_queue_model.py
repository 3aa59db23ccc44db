"""The queue models: how a recorded level update moves the lots ahead of a resting order."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.queue_model import QueueModel, probabilistic, risk_averse


def test_risk_averse_assumes_every_cancellation_came_from_behind() -> None:
    assert risk_averse(front=10, after=15) == 10, "size added behind us"
    assert risk_averse(front=10, after=12) == 10, "cancelled behind us"
    assert risk_averse(front=10, after=4) == 4, "the level shrank below us"


def test_probabilistic_moves_us_up_by_the_share_of_cancellations_ahead() -> None:
    # 10 ahead, 10 behind, 4 cancelled, n = 2: p = 100 / 200, half of it ahead of us
    assert probabilistic(front=10, before=20, after=16, traded=0, power=2.0) == 8
    # far back in the queue (30 ahead, 10 behind): most cancellations are ahead of us
    assert probabilistic(front=30, before=40, after=30, traded=0, power=2.0) == 21  # 20.999..
    # at the front (2 ahead, 38 behind): almost all of them behind us, rounded up to stay
    assert probabilistic(front=2, before=40, after=30, traded=0, power=2.0) == 2


def test_a_trade_already_counted_is_not_a_cancellation_again() -> None:
    # 10 were ahead; a trade of 4 printed at our level (ahead 10 -> 6); the update shows the
    # level down by exactly those 4: nothing was cancelled, we do not move up twice
    assert probabilistic(front=6, before=30, after=26, traded=4, power=2.0) == 6
    # 24 ahead, 6 behind; a trade of 4 (ahead 24 -> 20); the level then goes 30 -> 20:
    # 6 cancelled, behind = 30 - 4 - 20 = 6, p = 36 / (36 + 400), ahead 20 - 5.5 -> 15
    assert probabilistic(front=20, before=30, after=20, traded=4, power=2.0) == 15
    # counting the trade again as cancellations would have moved us up further
    assert probabilistic(front=20, before=30, after=20, traded=0, power=2.0) == 12


def test_the_model_is_chosen_by_name_and_checked() -> None:
    assert QueueModel().ahead_after(front=10, before=20, after=16, traded=0) == 10
    assert QueueModel("probabilistic").ahead_after(front=10, before=20, after=16, traded=0) == 8
    cubic = QueueModel("probabilistic", power=3.0)
    assert cubic.ahead_after(front=10, before=20, after=16, traded=0) == 8
    with pytest.raises(ValueError, match="queue model"):
        QueueModel("optimistic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="queue power"):
        QueueModel("probabilistic", power=0.0)


_lots = st.integers(min_value=0, max_value=5_000)


@settings(max_examples=400, deadline=None)
@given(
    ahead=_lots,
    behind=_lots,
    traded=_lots,
    after=_lots,
    power=st.sampled_from([1.0, 2.0, 3.0, 0.5]),
)
def test_ahead_stays_within_the_level_and_never_moves_back(
    ahead: int, behind: int, traded: int, after: int, power: float
) -> None:
    before = ahead + behind + traded  # traded lots printed ahead of us since the last update
    for model in (QueueModel(), QueueModel("probabilistic", power)):
        moved = model.ahead_after(ahead, before, after, traded)
        assert 0 <= moved <= ahead, "never negative, never back in the queue"
        assert moved <= after, "never more ahead of us than the level holds"
    assert probabilistic(ahead, before, after, traded, power) <= risk_averse(ahead, after)
