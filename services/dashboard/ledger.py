"""Today's realised PnL and fees from the executor's journaled fills. Pure.

The figure scripts/status shows ("pnl realised today", services/executor/day_summary.py),
computed the same way: every journaled fill replayed oldest first (by the venue's time, then
as journaled), per symbol, by the average entry price (shared.pnl), fees subtracted; what
the fills of the UTC day realised is summed. Unlike the venue's curRealisedPnl (a
PositionChanged's realised_pnl, which restarts with each position), it accumulates over the
day, and it survives a restart of the dashboard (the journal does). It is unknown, with
the reason, where day_summary's is: a fill whose side the journal does not hold, a row that
is no fill, or a reduce-only fill larger than the position replayed (opened before the
journal began). The fees are those of the day's fills (unknown if one is not a number).

A DayLedger takes the fills in replay order, in batches (what was journaled since the last
read): a batch that starts before the newest fill replayed does not fit (the order would
differ from one replay of everything) and the caller replays everything in a new ledger.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from shared.pnl import ZERO, Holding, apply_fill
from shared.schema import OrderSide

NS_PER_S: Final = 1_000_000_000


@dataclass(frozen=True, slots=True)
class JournalFill:
    """A journaled fill with the side and reduce-only flag of its order (None: not held)."""

    rowid: int
    exec_id: str
    symbol: str
    side: OrderSide | None
    qty: Decimal
    price: Decimal
    fee: Decimal
    reduce_only: bool
    ts_event_ns: int  # the venue's execution time


def day_bounds(ts_ns: int) -> tuple[str, int, int]:
    """The UTC day of `ts_ns`: its name and its [start, end) in ns since the epoch."""
    start = datetime.fromtimestamp(ts_ns // NS_PER_S, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end = start + timedelta(days=1)
    return (
        start.date().isoformat(),
        int(start.timestamp()) * NS_PER_S,
        int(end.timestamp()) * NS_PER_S,
    )


Point = tuple[int, Decimal | None]  # (ts_ns, today's realised PnL after it; None: unknown)


@dataclass
class DayLedger:
    """The replay of one journal file for one UTC day, fed batch by batch."""

    day: str
    start_ns: int
    end_ns: int
    source: int  # which journal file (its inode): a new file is a new replay
    realised: Decimal | None = ZERO
    reason: str = ""
    fees: Decimal | None = ZERO
    last_rowid: int = 0
    count: int = 0  # fills taken (rows with rowid <= last_rowid)
    last_ts_ns: int = 0  # the newest fill replayed
    _holdings: dict[str, Holding] = field(default_factory=dict)

    @classmethod
    def new(cls, now_ns: int, source: int) -> "DayLedger":
        day, start_ns, end_ns = day_bounds(now_ns)
        return cls(day, start_ns, end_ns, source)

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
            if fill.ts_event_ns >= self.end_ns:
                continue  # a later day's: not replayed (day_summary's rule)
            self.last_ts_ns = max(self.last_ts_ns, fill.ts_event_ns)
            today = fill.ts_event_ns >= self.start_ns
            if today and self.fees is not None:
                self.fees = self.fees + fill.fee if fill.fee.is_finite() else None
            total = self.realised
            if total is None:
                continue
            realised = self._replay(fill)
            if realised is None:  # unknown from here on
                points.append((max(fill.ts_event_ns, self.start_ns), None))
            elif today:
                self.realised = total + realised - fill.fee
                points.append((fill.ts_event_ns, self.realised))
        return points

    def _replay(self, fill: JournalFill) -> Decimal | None:
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


def _reduces(position: Decimal, signed: Decimal) -> bool:
    """True if a fill of `signed` moves `position` toward zero without crossing it."""
    return position != 0 and (position > 0) != (signed > 0) and abs(signed) <= abs(position)
