"""The walk-forward cut: by receive time, in-sample strictly before it, the rest after."""

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from research.sweep.walk_forward import (
    WalkForwardError,
    Window,
    cut_ns,
    span_ns,
    windows,
    within,
)

times = st.lists(st.integers(0, 10**12), min_size=2, max_size=200).map(sorted)
fractions = st.floats(0.01, 0.99)


@given(times=times, fraction=fractions)
def test_the_two_parts_split_the_lines_at_the_cut(times: list[int], fraction: float) -> None:
    lines = [(t, b"%d" % k) for k, t in enumerate(times)]
    first, last, count = span_ns(lines)
    if cut_ns(first, last, fraction) <= first:
        with pytest.raises(WalkForwardError, match="in-sample part would be empty"):
            windows(first, last, fraction)
        return

    train, test = windows(first, last, fraction)
    inside, outside = list(within(lines, train)), list(within(lines, test))

    assert count == len(lines)
    assert inside + outside == lines  # every line once, in order
    assert train.end_ns == test.start_ns == first + int((last - first) * fraction)
    assert all(t < train.end_ns for t, _ in inside)
    assert all(t >= test.start_ns for t, _ in outside)
    assert inside[0] == lines[0]


def test_the_cut_of_a_ten_second_recording_at_seventy_percent() -> None:
    assert cut_ns(1_000_000_000, 11_000_000_000, 0.7) == 8_000_000_000
    train, test = windows(1_000_000_000, 11_000_000_000, 0.7)
    assert (train, test) == (Window(end_ns=8_000_000_000), Window(start_ns=8_000_000_000))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 1.5])
def test_a_fraction_outside_zero_one_refuses(fraction: float) -> None:
    with pytest.raises(WalkForwardError, match=f"--train-fraction {fraction}: must be between"):
        cut_ns(0, 10, fraction)


def test_an_empty_recording_refuses() -> None:
    with pytest.raises(WalkForwardError, match="no lines"):
        span_ns([])


def test_within_stops_reading_past_the_window() -> None:
    def lines() -> Iterator[tuple[int, bytes]]:
        yield (1, b"a")
        yield (5, b"b")
        raise AssertionError("read past the end of the window")

    assert list(within(lines(), Window(end_ns=5))) == [(1, b"a")]
