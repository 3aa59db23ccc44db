"""A recorded paper session: where its files are, and the backtest run on it.

A session is a run directory (`scripts/run`'s: `executor-journal.sqlite` and
`recordings/<day>/<SYMBOL>.frames.gz`, `executor.events.gz`), or the same files named
one by one. The backtest runs on every recorded frame of the symbol (all days and parts,
merged by receive time) with the session's settings file and, by default, latencies drawn
from the session itself (latency.py).
"""

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, dropwhile, takewhile
from pathlib import Path

from research.backtest.engine import Engine
from research.backtest.market import day_lines
from research.backtest.result import BacktestResult
from research.backtest.settings import BacktestSettings
from research.parity.clock import DelayedStrategy
from research.parity.live import SessionUnreadable
from research.parity.own_trades import OwnPrints
from research.parity.window import Window
from services.strategy.machine import MomentumScalper
from shared.journal_read import JOURNAL_FILE
from shared.recordings import FRAMES, day_dirs


@dataclass(frozen=True, slots=True)
class SessionFiles:
    journal: Path
    recordings: Path
    days: tuple[str, ...]  # the UTC days holding the symbol's frames


def locate(
    *, run_dir: Path | None, recordings: Path | None, journal: Path | None
) -> tuple[Path, Path]:
    """The journal and the recordings directory: a run dir's, or as given (these win)."""
    if run_dir is not None:
        if not run_dir.is_dir():
            raise SessionUnreadable(f"{run_dir}: no such run directory")
        recordings = recordings or run_dir / "recordings"
        journal = journal or run_dir / JOURNAL_FILE
    if recordings is None or journal is None:
        raise SessionUnreadable("give --run-dir DIR, or both --recordings DIR and --journal FILE")
    return journal, recordings


def frame_days(recordings: Path, symbol: str, day: str | None) -> tuple[str, ...]:
    """The days of `recordings` with frames of `symbol` (or just `day`, checked)."""
    days = [d for d in day_dirs(recordings) if any((recordings / d).glob(f"{symbol}*{FRAMES}"))]
    if day is not None:
        if day not in days:
            raise SessionUnreadable(f"{recordings}/{day}: no {symbol} frames recorded that day")
        return (day,)
    if not days:
        raise SessionUnreadable(f"{recordings}: no {symbol}{FRAMES} in any day directory")
    return tuple(days)


def session_lines(
    recordings: Path, symbol: str, days: Sequence[str], window: Window
) -> Iterator[tuple[int, bytes]]:
    """The recorded frames of `symbol` on `days` received inside the live strategy's
    `window` (an unknown end: all), in receive-time order. Frames before its start belong
    to an earlier run in the same recordings directory, or to the moment before the
    strategy started; frames after its end were never traded on."""
    merged: Iterator[tuple[int, bytes]] = heapq.merge(
        *(day_lines(recordings, d, symbol) for d in days), key=lambda x: x[0]
    )
    start, end = window.start_ns, window.end_ns
    if start is not None:
        merged = dropwhile(lambda line: line[0] < start, merged)
    if end is not None:
        merged = takewhile(lambda line: line[0] <= end, merged)
    return merged


def run_backtest(
    settings: BacktestSettings,
    lines: Iterator[tuple[int, bytes]],
    strategy_delay_ns: int,
    own: OwnPrints | None = None,
) -> BacktestResult:
    """The backtest of the session's frames with its settings, the live strategy class
    acting `strategy_delay_ns` after each receive time (clock.py), the venue leaving out
    the live session's `own` prints (own_trades.py)."""
    first = next(lines, None)
    if first is None:
        raise SessionUnreadable("no recorded frames inside the live strategy's window")
    scalper = MomentumScalper(settings.strategy, last_seq=first[0])
    strategy = DelayedStrategy(scalper, strategy_delay_ns)
    return Engine(settings, chain([first], lines), strategy=strategy, venue_skip=own).run()
