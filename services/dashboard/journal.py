"""The executor's journal (SQLite, WAL), read-only: today's start-of-day equity, and today's
realised PnL and fees replayed from its fills (ledger.py), as scripts/status reads them.

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
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import msgspec

from services.dashboard.ledger import DayLedger, JournalFill, Point, day_bounds
from shared.schema import OrderSide

log = logging.getLogger(__name__)

JOURNAL: Final = "executor-journal.sqlite"  # in the run dir (the executor's journal_path)
READABLE_VERSIONS: Final = (1, 2)  # the executor's journal_records.READABLE_VERSIONS

# A fill with the symbol and side of its intent, or of its "fill" event for an order the
# executor did not send (an external fill: no intent, the event's payload says); as
# services/executor/journal_reader.py reads them.
_FILLS: Final = """
SELECT f.rowid, f.exec_id, f.qty, f.price, f.fee, f.ts_event_ns, i.symbol, i.command, e.payload
FROM fills f
LEFT JOIN intents i ON i.client_order_id = f.client_order_id
LEFT JOIN events e ON i.client_order_id IS NULL AND e.client_order_id = f.client_order_id
    AND e.kind = 'fill' AND json_extract(e.payload, '$.exec_id') = f.exec_id
WHERE f.rowid > ?
ORDER BY f.ts_event_ns, f.rowid
"""


class JournalUnreadable(Exception):
    """The journal is missing, of another schema version, or SQLite refused to read it."""


class _Order(msgspec.Struct):
    side: OrderSide
    reduce_only: bool = False


class _External(msgspec.Struct):
    symbol: str = ""
    side: str = ""


_order_decoder: Final = msgspec.json.Decoder(_Order)
_external_decoder: Final = msgspec.json.Decoder(_External)


def read_day_start(run_dir: Path, now_ns: int) -> Decimal | None:
    """The executor's journaled equity at the start of today (UTC), read-only; None when
    the journal or today's row is not there (yet)."""
    path = run_dir / JOURNAL
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
        self.path = run_dir / JOURNAL
        self._ledger: DayLedger | None = None

    def read(self, now_ns: int) -> DayPnl:
        """Blocking. What the journal says now; unknown with the reason if it cannot be read."""
        try:
            with _reading(self.path) as db:
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
            fills = _fills(db, ledger.last_rowid)
            if not ledger.fits(fills):
                fills = None
        replayed = fills is None
        if fills is None or ledger is None:  # a replay of everything, in a new ledger
            ledger = self._ledger = DayLedger.new(now_ns, source)
            fills = _fills(db, 0)
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


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    """The journal opened read-only, in one read transaction (one consistent state)."""
    if not path.exists():
        raise JournalUnreadable(f"{path} does not exist (has the executor run here?)")
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            db.execute("BEGIN")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None or row[0] not in READABLE_VERSIONS:
                found = "no version" if row is None else f"version {row[0]}"
                raise JournalUnreadable(f"{path}: {found}, the dashboard reads {READABLE_VERSIONS}")
            yield db
    except (sqlite3.Error, msgspec.MsgspecError, OSError) as e:
        raise JournalUnreadable(f"{path}: {e}") from e


def _fills(db: sqlite3.Connection, after_rowid: int) -> list[JournalFill]:
    return [_fill(row) for row in db.execute(_FILLS, (after_rowid,)).fetchall()]


def _fill(row: tuple[Any, ...]) -> JournalFill:
    rowid, exec_id, qty, price, fee, ts_event_ns, symbol, command, payload = row
    side: OrderSide | None = None
    reduce_only = False
    if command is not None:
        order = _order_decoder.decode(command)
        side, reduce_only = order.side, order.reduce_only
    elif payload is not None:
        external = _external_decoder.decode(payload)
        symbol = external.symbol
        side = OrderSide(external.side) if external.side in set(OrderSide) else None
    return JournalFill(
        rowid=int(rowid),
        exec_id=str(exec_id),
        symbol=symbol or "",
        side=side,
        qty=_decimal(qty),
        price=_decimal(price),
        fee=_decimal(fee),
        reduce_only=reduce_only,
        ts_event_ns=int(ts_event_ns),
    )


def _decimal(text: Any) -> Decimal:
    """A journaled amount; NaN for text that is no number (the ledger says it is no fill)."""
    try:
        return Decimal(str(text))
    except ArithmeticError:
        return Decimal("NaN")
