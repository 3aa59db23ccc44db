"""The comparison of a live session with its backtest, as data (JSON) and as text.

Decisions and fills are each aligned in order by their keys (`align`, records.py says what
a key holds); the report gives the equal count, the share of equal places, and every place
that differs with both sides and their times. Times are shown relative to the session's
first recorded frame, in seconds, so the two sides can be read against the recording.
"""

import statistics
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from research.parity.align import METHOD, Step, align, share_equal
from research.parity.records import Decision, Fill

T = TypeVar("T", Decision, Fill)


class Side(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    at_s: float  # seconds after the session's first recorded frame
    what: str
    client_order_id: str


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # changed | live_only | backtest_only
    live: Side | None
    backtest: Side | None


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    live: int
    backtest: int
    equal: int
    places: int  # the alignment's length: equal + differences
    share_equal: float | None  # None: both sides empty
    # backtest time - live time of the equal pairs, ms (None: no equal pair)
    lag_ms_p50: float | None
    lag_ms_max_abs: float | None
    differences: list[Difference]
    # equal decisions whose orders ended differently (status word): listed, not counted
    outcome_differences: list[Difference]


class ParityReport(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    min_equal: float
    passed: bool
    decisions: Comparison
    fills: Comparison
    denied_live: int | None  # None: no recorded events to count them from
    denied_backtest: int
    session: dict[str, Any]

    def to_json(self) -> bytes:
        return msgspec.json.encode(self, order="deterministic")


def compare(
    live: Sequence[T], backtest: Sequence[T], key: Callable[[T], object], origin_ns: int
) -> Comparison:
    """Align and summarise one kind of record (decisions or fills)."""
    steps: list[Step[T]] = align(live, backtest, key)
    lags = sorted(
        (s.backtest.ts_ns - s.live.ts_ns) / 1e6
        for s in steps
        if s.kind == "equal" and s.live is not None and s.backtest is not None
    )
    return Comparison(
        live=len(live),
        backtest=len(backtest),
        equal=sum(1 for s in steps if s.kind == "equal"),
        places=len(steps),
        share_equal=share_equal(steps),
        lag_ms_p50=round(statistics.median(lags), 3) if lags else None,
        lag_ms_max_abs=round(max(abs(x) for x in lags), 3) if lags else None,
        differences=[
            Difference(
                kind=s.kind,
                live=_side(s.live, s.live_index, origin_ns),
                backtest=_side(s.backtest, s.backtest_index, origin_ns),
            )
            for s in steps
            if s.kind != "equal"
        ],
        outcome_differences=[
            Difference(
                kind="outcome",
                live=_side(s.live, s.live_index, origin_ns),
                backtest=_side(s.backtest, s.backtest_index, origin_ns),
            )
            for s in steps
            if s.kind == "equal"
            and isinstance(s.live, Decision)
            and isinstance(s.backtest, Decision)
            and _status(s.live) != _status(s.backtest)
        ],
    )


def _status(decision: Decision) -> str:
    return decision.outcome.split(" ", 1)[0]


def _side(item: Decision | Fill | None, index: int | None, origin_ns: int) -> Side | None:
    if item is None or index is None:
        return None
    return Side(
        index=index,
        at_s=round((item.ts_ns - origin_ns) / 1e9, 6),
        what=item.describe(),
        client_order_id=item.client_order_id,
    )


def passed(decisions: Comparison, min_equal: float) -> bool:
    """The target: a share of equal decisions of at least `min_equal` (none: not passed)."""
    return decisions.share_equal is not None and decisions.share_equal >= min_equal


def report_text(report: ParityReport) -> str:
    """The comparison for the terminal: figures, then every difference."""
    lines = [f"method     {report.method}"]
    for name, c in (("decisions", report.decisions), ("fills", report.fills)):
        share = "n/a (both empty)" if c.share_equal is None else f"{c.share_equal:.2%}"
        lines.append(
            f"{name:<10} live {c.live}, backtest {c.backtest}: {c.equal} equal of {c.places}"
            f" places = {share}"
        )
        if c.lag_ms_p50 is not None:
            lines.append(
                f"{'':<10} equal pairs: backtest - live time p50 {c.lag_ms_p50:.3f} ms,"
                f" max |{c.lag_ms_max_abs:.3f}| ms"
            )
    denied = "unknown (no recorded events)" if report.denied_live is None else report.denied_live
    lines.append(f"denied     live {denied}, backtest {report.denied_backtest} (not compared)")
    target = f"{report.min_equal:.2%}"
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(f"target     decisions equal >= {target}: {verdict}")
    sections = (
        ("decision differences", report.decisions.differences),
        (
            "equal decisions, orders ended differently (not counted)",
            report.decisions.outcome_differences,
        ),
        ("fill differences", report.fills.differences),
    )
    for title, differences in sections:
        if differences:
            lines.append(f"{title} ({len(differences)}):")
        for d in differences:
            lines.append(f"  {d.kind:<13} live {_show(d.live)}")
            lines.append(f"  {'':<13} back {_show(d.backtest)}")
    return "\n".join(lines)


def _show(side: Side | None) -> str:
    if side is None:
        return "-"
    return f"#{side.index} t+{side.at_s:.3f}s {side.what} ({side.client_order_id})"


__all__ = ["METHOD", "Comparison", "Difference", "ParityReport", "compare", "report_text"]
