"""Aligning two sequences of decisions (or fills) by a key, in order: the pure core of parity.

The method is Myers' shortest edit script (E. Myers, "An O(ND) difference algorithm and its
variations", 1986; the algorithm of GNU diff and git diff): among all the ways to walk both
sequences in order, it finds one with the fewest unmatched items, i.e. a longest common
subsequence of keys. It costs O((N + M) D) for D differences, so a near-identical pair of
long sessions is cheap. One decision missing on one side is one difference, and everything
after it still pairs up. difflib's SequenceMatcher was not used: its longest-block heuristic
is not a longest common subsequence and can lose matches around repeated keys.

The alignment is a list of `Step`s in order: `equal` (a pair with the same key), `changed`
(a live item and a backtest item at the same place that differ: the unmatched items of
both sides between two equal pairs, paired in order), `live_only`, `backtest_only`. Its
length counts each place once, so `share_equal = equal / len(steps)`: identical sequences
give 1, one extra item on one side of N gives N / (N + 1).
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
StepKind = Literal["equal", "changed", "live_only", "backtest_only"]
METHOD = "Myers shortest edit script (longest common subsequence of the keys, in order)"


@dataclass(frozen=True, slots=True)
class Step(Generic[T]):
    """One place of the alignment: the live item, the backtest item, or both."""

    kind: StepKind
    live: T | None
    backtest: T | None
    live_index: int | None  # the item's index in its own sequence
    backtest_index: int | None


def lcs_pairs(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Index pairs (i, j) with a[i] == b[j] of a longest common subsequence, in order."""
    n, m = len(a), len(b)
    start = 0
    while start < n and start < m and a[start] == b[start]:
        start += 1
    head = [(i, i) for i in range(start)]
    end_a, end_b = n, m
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    tail = [(end_a + k, end_b + k) for k in range(n - end_a)]
    middle = _myers(a[start:end_a], b[start:end_b])
    return head + [(i + start, j + start) for i, j in middle] + tail


def _myers(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Myers' greedy forward search, keeping each round's frontier to walk the path back."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    offset = n + m
    frontier = [0] * (2 * offset + 2)  # furthest x on each diagonal k = x - y, at index k+offset
    rounds: list[list[int]] = []
    for d in range(n + m + 1):
        rounds.append(frontier.copy())
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and frontier[k - 1 + offset] < frontier[k + 1 + offset]):
                x = frontier[k + 1 + offset]  # down: an item of b only
            else:
                x = frontier[k - 1 + offset] + 1  # right: an item of a only
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            frontier[k + offset] = x
            if x >= n and y >= m:
                return _path(rounds, a, b, offset)
    raise AssertionError("unreachable: d = n + m always reaches the end")


def _path(
    rounds: list[list[int]], a: Sequence[Hashable], b: Sequence[Hashable], off: int
) -> list[tuple[int, int]]:
    """Walk the rounds back from the end: each round is one non-diagonal move then a snake
    of equal items (kept)."""
    pairs: list[tuple[int, int]] = []
    x, y = len(a), len(b)
    for d in range(len(rounds) - 1, -1, -1):
        v = rounds[d]  # the frontier as it was when round d started
        k = x - y
        down = k == -d or (k != d and v[k - 1 + off] < v[k + 1 + off])
        prev_k = k + 1 if down else k - 1
        prev_x = v[prev_k + off]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x -= 1
            y -= 1
            pairs.append((x, y))
        x, y = prev_x, prev_y
    pairs.reverse()
    return pairs


def align(live: Sequence[T], backtest: Sequence[T], key: Callable[[T], Hashable]) -> list[Step[T]]:
    """The alignment of the two sequences by `key` (see the module docstring)."""
    pairs = lcs_pairs([key(x) for x in live], [key(x) for x in backtest])
    steps: list[Step[T]] = []
    i = j = 0
    for pi, pj in [*pairs, (len(live), len(backtest))]:
        gap_live, gap_bt = list(range(i, pi)), list(range(j, pj))
        for n in range(max(len(gap_live), len(gap_bt))):
            li = gap_live[n] if n < len(gap_live) else None
            bj = gap_bt[n] if n < len(gap_bt) else None
            kind: StepKind = (
                "changed"
                if li is not None and bj is not None
                else "live_only"
                if li is not None
                else "backtest_only"
            )
            steps.append(
                Step(
                    kind,
                    None if li is None else live[li],
                    None if bj is None else backtest[bj],
                    li,
                    bj,
                )
            )
        if pi < len(live) and pj < len(backtest):
            steps.append(Step("equal", live[pi], backtest[pj], pi, pj))
        i, j = pi + 1, pj + 1
    return steps


def share_equal(steps: Sequence[Step[T]]) -> float | None:
    """Equal places / all places; None for two empty sequences (nothing to compare)."""
    if not steps:
        return None
    return sum(1 for s in steps if s.kind == "equal") / len(steps)
