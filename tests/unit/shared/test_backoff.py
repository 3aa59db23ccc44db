import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.runtime import backoff_delays


@given(
    initial=st.floats(min_value=0.01, max_value=5),
    factor=st.floats(min_value=1, max_value=100),
    jitter=st.floats(min_value=0, max_value=0.9),
)
def test_delays_grow_to_the_cap_and_stay_within_jitter(
    initial: float, factor: float, jitter: float
) -> None:
    cap = initial * factor
    delays = list(
        itertools.islice(backoff_delays(initial, cap, jitter=jitter, rng=random.Random(1)), 30)
    )
    for delay in delays:
        assert initial * (1 - jitter) - 1e-9 <= delay <= cap * (1 + jitter) + 1e-9
    assert delays[-1] >= cap * (1 - jitter) - 1e-9


def test_without_jitter_the_sequence_doubles_to_the_cap() -> None:
    delays = list(itertools.islice(backoff_delays(0.5, 3, jitter=0), 5))
    assert delays == [0.5, 1, 2, 3, 3]


def test_nonsense_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="initial_s"):
        next(backoff_delays(0, 1))
