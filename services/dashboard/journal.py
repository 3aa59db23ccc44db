"""The executor's journal (SQLite, WAL), read-only: today's start-of-day equity, and today's
realised PnL and fees replayed from its fills (shared/journal_pnl.py), as scripts/status
reads them.

A reader opened with `mode=ro` sees the last committed state while the executor writes and
never writes itself. The fills are read incrementally: each read takes the rows journaled
since the last (by rowid) and replays everything again only when that would replay in
another order (a fill older than the newest replayed), when rows went (the executor's start
quarantines bad ones), on a new journal file or a new UTC day. Blocking: run in a thread.
"""

import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from shared.journal_pnl import DayLedger, JournalFill, Point, day_bounds
from shared.journal_read import JOURNAL_FILE, JournalUnreadable, read_fills, reading

log = logging.getLogger(__name__)


def read_day_start(run_dir: Path, now_ns: int) -> Decimal | None:
    """The executor's journaled equity at the start of today (UTC), read-only; None when
    the journal or today's row is not there (yet)."""
    path = run_dir / JOURNAL_FILE
    if not path.exists():
        return None
    day = time.strftime("%Y-%m-%d", time.gmtime(now_ns // 1_000_000_000))
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            row = db.execute(
                "SELECT equity_usdt FROM day_start_equity WHERE day = ?", (day,)
            ).fetchone()
    except sqlite3.Error as e:
        log.debug("journal not readable (%s): daily loss unknown", e)
        return None
    try:
        return None if row is None else Decimal(str(row[0]))
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class DayPnl:
    """One read of today's realised PnL and fees (None: unknown, `reason` says why)."""

    day: str
    realised: Decimal | None
    fees: Decimal | None
    reason: str
    points: list[Point]  # the figure after each of today's fills read now
    replayed: bool  # everything was replayed: `points` are the whole day's


class JournalPnl:
    """Today's realised PnL and fees of the journal in `run_dir`, read after read."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / JOURNAL_FILE
        self._ledger: DayLedger | None = None

    def read(self, now_ns: int) -> DayPnl:
        """Blocking. What the journal says now; unknown with the reason if it cannot be read."""
        try:
            with reading(self.path) as (db, _):
                return self._read(db, now_ns)
        except JournalUnreadable as e:
            self._ledger = None
            day = day_bounds(now_ns)[0]
            return DayPnl(day, None, None, f"journal: {e}", [(now_ns, None)], replayed=False)

    def _read(self, db: sqlite3.Connection, now_ns: int) -> DayPnl:
        source = self.path.stat().st_ino
        ledger = self._ledger
        fills: list[JournalFill] | None = None
        if ledger is not None and self._current(db, ledger, now_ns, source):
            fills = read_fills(db, ledger.last_rowid)
            if not ledger.fits(fills):
                fills = None
        replayed = fills is None
        if fills is None or ledger is None:  # a replay of everything, in a new ledger
            ledger = self._ledger = DayLedger.new(now_ns, source)
            fills = read_fills(db)
        points = ledger.take(fills)
        if replayed and not points:
            points = [(now_ns, ledger.realised)]
        return DayPnl(ledger.day, ledger.realised, ledger.fees, ledger.reason, points, replayed)

    @staticmethod
    def _current(db: sqlite3.Connection, ledger: DayLedger, now_ns: int, source: int) -> bool:
        """True if `ledger` can go on: same file, same day, none of its rows gone."""
        if ledger.source != source or not ledger.start_ns <= now_ns < ledger.end_ns:
            return False
        row = db.execute("SELECT count(*) FROM fills WHERE rowid <= ?", (ledger.last_rowid,))
        return int(row.fetchone()[0]) == ledger.count
