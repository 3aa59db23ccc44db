"""RecentIds: the execIds booked lately, the oldest forgotten past the limit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.executor.recent_ids import RecentIds


def test_the_oldest_id_is_forgotten_past_the_limit_and_a_repeat_is_not_added_twice() -> None:
    ids = RecentIds(limit=3)
    ids.update(["e1", "e2", "e2", "e3", "e4"])

    assert list(ids) == ["e2", "e3", "e4"]
    assert "e1" not in ids
    assert ids == {"e2", "e3", "e4"}


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be >= 1"):
        RecentIds(limit=0)


@given(st.lists(st.sampled_from([f"e{n}" for n in range(30)]), max_size=200), st.integers(1, 20))
def test_it_holds_exactly_the_last_distinct_ids_up_to_the_limit(
    added: list[str], limit: int
) -> None:
    ids = RecentIds(limit)
    expected: list[str] = []
    for exec_id in added:
        ids.add(exec_id)
        if exec_id not in expected:
            expected.append(exec_id)
            expected = expected[-limit:]

    assert list(ids) == expected
    assert len(ids) <= limit
