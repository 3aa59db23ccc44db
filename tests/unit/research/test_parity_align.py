"""The parity alignment: hand cases, and properties over random sequences."""

import itertools
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from research.parity.align import align, lcs_pairs, share_equal

Keys = st.lists(st.integers(min_value=0, max_value=3), max_size=30)


def kinds(live: Sequence[int], backtest: Sequence[int]) -> list[str]:
    return [s.kind for s in align(live, backtest, lambda x: x)]


def lcs_length(a: Sequence[int], b: Sequence[int]) -> int:
    """The textbook dynamic programme, to check the fast one against."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[len(a)][len(b)]


def test_identical_sequences_are_all_equal() -> None:
    assert kinds([1, 2, 3], [1, 2, 3]) == ["equal"] * 3
    assert share_equal(align([1, 2, 3], [1, 2, 3], lambda x: x)) == 1.0


def test_a_missing_decision_costs_one_place_and_the_rest_pair_up() -> None:
    assert kinds([1, 2, 3, 4], [1, 3, 4]) == ["equal", "live_only", "equal", "equal"]
    assert kinds([1, 3, 4], [1, 2, 3, 4]) == ["equal", "backtest_only", "equal", "equal"]


def test_a_different_decision_at_one_place_is_changed_with_both_sides() -> None:
    steps = align([1, 2, 3], [1, 9, 3], lambda x: x)
    assert [s.kind for s in steps] == ["equal", "changed", "equal"]
    assert (steps[1].live, steps[1].backtest, steps[1].live_index, steps[1].backtest_index) == (
        2,
        9,
        1,
        1,
    )


def test_unequal_gaps_pair_in_order_then_one_side_only() -> None:
    assert kinds([1, 5, 6, 2], [1, 7, 2]) == ["equal", "changed", "live_only", "equal"]


def test_empty_sides() -> None:
    assert share_equal(align([], [], lambda x: x)) is None
    assert kinds([], [1, 2]) == ["backtest_only", "backtest_only"]
    assert share_equal(align([1], [], lambda x: x)) == 0.0


def test_the_key_decides_equality_not_the_items() -> None:
    steps = align([("Buy", 1)], [("Buy", 2)], lambda x: x[0])
    assert [s.kind for s in steps] == ["equal"]


def test_repeated_keys_keep_the_longest_common_subsequence() -> None:
    # difflib's longest-block heuristic can lose matches around repeats; this must not.
    a, b = [0, 1, 0, 1, 1, 0], [1, 0, 0, 1, 0, 1]
    assert len(lcs_pairs(a, b)) == lcs_length(a, b)


@given(Keys)
def test_property_identical_gives_all_equal(a: list[int]) -> None:
    steps = align(a, list(a), lambda x: x)
    assert all(s.kind == "equal" for s in steps)
    assert len(steps) == len(a)


@given(Keys, st.data())
def test_property_one_insertion_costs_one_difference(a: list[int], data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(a)))
    extra = data.draw(st.integers(min_value=0, max_value=5))
    b = [*a[:at], extra, *a[at:]]
    for live, backtest, only in ((a, b, "backtest_only"), (b, a, "live_only")):
        steps = align(live, backtest, lambda x: x)
        assert len(steps) == len(a) + 1
        assert [s.kind for s in steps].count("equal") == len(a)
        assert [s.kind for s in steps if s.kind != "equal"] == [only]


@given(Keys, Keys)
def test_property_an_optimal_order_preserving_matching(a: list[int], b: list[int]) -> None:
    pairs = lcs_pairs(a, b)
    assert len(pairs) == lcs_length(a, b)
    assert all(a[i] == b[j] for i, j in pairs)
    assert all(p[0] < q[0] and p[1] < q[1] for p, q in itertools.pairwise(pairs))


@given(Keys, Keys)
def test_property_every_item_appears_once_in_order(a: list[int], b: list[int]) -> None:
    steps = align(a, b, lambda x: x)
    assert [s.live_index for s in steps if s.live_index is not None] == list(range(len(a)))
    assert [s.backtest_index for s in steps if s.backtest_index is not None] == list(range(len(b)))
    equal = [s for s in steps if s.kind == "equal"]
    assert all(s.live == s.backtest for s in equal)
    assert share_equal(steps) == (len(equal) / len(steps) if steps else None)
