"""One UTC day's realised PnL and fees, replayed from the executor's journaled fills. Pure.

Every journaled fill is replayed oldest first (by the venue's time, then as journaled), per
symbol, by the average entry price (shared.pnl), fees subtracted; what the fills of the UTC
day realised is summed: the venue's view of the same executions. Unlike the venue's
curRealisedPnl (a PositionChanged's realised_pnl, which restarts with each position), it
accumulates over the day and survives restarts (the journal does). It is unknown, with the
reason, when the journal cannot explain a fill: a fill whose side it does not hold, a row
that is no fill (qty or price not above 0, not a number), or a reduce-only fill larger than
the position it replayed (the position was opened before the journal began). The fees are
those of the day's fills (unknown if one is not a number).

scripts/status (services/executor/day_summary.py) replays once, `realised_pnl`; the dashboard
feeds a DayLedger in batches (what was journaled since its last read): a batch that starts
before the newest fill replayed does not fit (the order would differ from one replay of
everything) and the caller replays everything in a new ledger. shared/journal_read.py reads
the fills from the database.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from shared.pnl import ZERO, Holding, apply_fill
from shared.schema import OrderSide

NS_PER_S: Final = 1_000_000_000

Point = tuple[int, Decimal | None]  # (ts_ns, today's realised PnL after it; None: unknown)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A journaled fill, with the side and reduce-only flag of the order it filled."""

    exec_id: str
    symbol: str
    side: OrderSide | None  # None: the journal does not say
    qty: Decimal
    price: Decimal
    fee: Decimal
    reduce_only: bool
    ts_event_ns: int  # the venue's execution time


@dataclass(frozen=True, slots=True, init=False)
class JournalFill(FillRecord):
    """A FillRecord and its rowid in the journal's `fills` (the dashboard reads the rows
    journaled since its last read)."""

    rowid: int

    def __init__(self, rowid: int, *fill: Any) -> None:  # as read: the rowid, then the fill
        FillRecord.__init__(self, *fill)
        object.__setattr__(self, "rowid", rowid)


def day_bounds(ts_ns: int) -> tuple[str, int, int]:
    """The UTC day of `ts_ns`: its name and its [start, end) in ns since the epoch."""
    start = datetime.fromtimestamp(ts_ns // NS_PER_S, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start_ns = int(start.timestamp()) * NS_PER_S
    end_ns = int((start + timedelta(days=1)).timestamp()) * NS_PER_S
    return start.date().isoformat(), start_ns, end_ns


def realised_pnl(fills: Iterable[FillRecord], start_ns: int, end_ns: int) -> Decimal | str:
    """What the fills in [start_ns, end_ns) realised, fees included, replaying every fill
    before them (in the given order) for the positions they reduce; or why it is unknown."""
    replay = DayReplay(start_ns, end_ns)
    for fill in fills:
        replay.add(fill)
        if replay.realised is None:
            break
    return replay.reason if replay.realised is None else replay.realised


@dataclass
class DayReplay:
    """Fills replayed in order for the day [start_ns, end_ns): its realised PnL and fees."""

    start_ns: int
    end_ns: int
    realised: Decimal | None = ZERO
    reason: str = ""
    fees: Decimal | None = ZERO
    last_ts_ns: int = 0  # the newest fill replayed
    _holdings: dict[str, Holding] = field(default_factory=dict)

    def add(self, fill: FillRecord) -> Point | None:
        """Replay `fill`; return the point it makes if it is the day's and changed the
        figure, or made it unknown (a later day's fill is not replayed)."""
        if fill.ts_event_ns >= self.end_ns:
            return None
        self.last_ts_ns = max(self.last_ts_ns, fill.ts_event_ns)
        today = fill.ts_event_ns >= self.start_ns
        if today and self.fees is not None:
            self.fees = self.fees + fill.fee if fill.fee.is_finite() else None
        total = self.realised
        if total is None:
            return None
        realised = self._replay(fill)
        if realised is None:  # unknown from here on
            return (max(fill.ts_event_ns, self.start_ns), None)
        if not today:
            return None
        self.realised = total + realised - fill.fee
        return (fill.ts_event_ns, self.realised)

    def _replay(self, fill: FillRecord) -> Decimal | None:
        """What `fill` realised before its fee; None (and the reason) if it cannot be told."""
        if fill.side is None:
            return self._unknown(f"the journal does not hold the side of fill {fill.exec_id}")
        numbers = (fill.qty, fill.price, fill.fee)
        if not all(n.is_finite() for n in numbers) or fill.qty <= 0 or fill.price <= 0:
            return self._unknown(
                f"fill {fill.exec_id} is no fill (qty {fill.qty}, price {fill.price},"
                f" fee {fill.fee})"
            )
        held = self._holdings.get(fill.symbol, Holding())
        signed = fill.qty if fill.side is OrderSide.BUY else -fill.qty
        if fill.reduce_only and not _reduces(held.qty, signed):
            return self._unknown(
                f"reduce-only fill {fill.exec_id} of {fill.symbol} is larger than the position"
                f" the journal holds ({held.qty}): it was opened before the journal began"
            )
        self._holdings[fill.symbol], realised = apply_fill(held, signed, fill.price)
        return realised

    def _unknown(self, reason: str) -> Decimal | None:
        self.realised, self.reason = None, reason
        return None


@dataclass(kw_only=True)
class DayLedger(DayReplay):
    """The replay of one journal file for one UTC day, fed batch by batch."""

    day: str
    source: int  # which journal file (its inode): a new file is a new replay
    last_rowid: int = 0
    count: int = 0  # fills taken (rows with rowid <= last_rowid)

    @classmethod
    def new(cls, now_ns: int, source: int) -> "DayLedger":
        day, start_ns, end_ns = day_bounds(now_ns)
        return cls(start_ns, end_ns, day=day, source=source)

    def fits(self, fills: Iterable[JournalFill]) -> bool:
        """True if `fills` (the rows after last_rowid) replay after the ones taken."""
        return all(f.ts_event_ns >= self.last_ts_ns for f in fills if f.ts_event_ns < self.end_ns)

    def take(self, fills: Iterable[JournalFill]) -> list[Point]:
        """Replay `fills` (in order); return a point per fill of the day that changed the
        figure (one when it becomes unknown, none after)."""
        points: list[Point] = []
        for fill in fills:
            self.last_rowid = max(self.last_rowid, fill.rowid)
            self.count += 1
            point = self.add(fill)
            if point is not None:
                points.append(point)
        return points


def _reduces(position: Decimal, signed: Decimal) -> bool:
    """True if a fill of `signed` moves `position` toward zero without crossing it."""
    return position != 0 and (position > 0) != (signed > 0) and abs(signed) <= abs(position)
