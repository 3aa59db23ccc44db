"""The walk-forward split: fit on the first part of a recording, report on the rest.

The recording is cut on the backtest's time axis, the receive time: with a train fraction
f, the cut is at `first + f * (last - first)` (ns, rounded down); lines received before it
are the in-sample part the trials are fitted on, lines at or after it the out-of-sample
part the best settings are then run on once. Both parts must hold lines.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Line = tuple[int, bytes]


class WalkForwardError(ValueError):
    """A split that cannot be made; the message says why."""


@dataclass(frozen=True, slots=True)
class Window:
    """Receive times [start_ns, end_ns) of a part (None: open on that side)."""

    start_ns: int | None = None
    end_ns: int | None = None

    def holds(self, recv_ns: int) -> bool:
        return (self.start_ns is None or recv_ns >= self.start_ns) and (
            self.end_ns is None or recv_ns < self.end_ns
        )


def cut_ns(first_ns: int, last_ns: int, fraction: float) -> int:
    """Where the in-sample part ends (its first excluded receive time)."""
    if not 0 < fraction < 1:
        raise WalkForwardError(f"--train-fraction {fraction}: must be between 0 and 1 (excluded)")
    if last_ns < first_ns:
        raise WalkForwardError("the recording's receive times go backwards")
    return first_ns + int((last_ns - first_ns) * fraction)


def windows(first_ns: int, last_ns: int, fraction: float) -> tuple[Window, Window]:
    """(in-sample, out-of-sample) windows of a recording spanning [first_ns, last_ns]."""
    cut = cut_ns(first_ns, last_ns, fraction)
    if cut <= first_ns:
        raise WalkForwardError(
            f"--train-fraction {fraction}: the in-sample part would be empty (recording too short)"
        )
    return Window(end_ns=cut), Window(start_ns=cut)


def within(lines: Iterable[Line], window: Window) -> Iterator[Line]:
    """The lines of `lines` (in receive-time order) that fall in `window`."""
    for line in lines:
        if window.holds(line[0]):
            yield line
        elif window.end_ns is not None and line[0] >= window.end_ns:
            return


def span_ns(lines: Iterable[Line]) -> tuple[int, int, int]:
    """(first receive ns, last receive ns, line count) of a recording (one pass)."""
    first = last = -1
    count = 0
    for recv_ns, _ in lines:
        if count == 0:
            first = recv_ns
        last = recv_ns
        count += 1
    if count == 0:
        raise WalkForwardError("the recording holds no lines")
    return first, last, count
