"""One UTC day of the order journal: orders, fills and realised PnL, as the venue counts them.

The counts survive restarts of the executor and the strategy (they come from the journal,
not from a process's counters). The realised PnL replays every journaled fill, oldest
first, per symbol (shared.pnl: average entry price, fees subtracted), and sums what the
day's fills realised: the venue's view of the same executions. It is unknown (with the
reason) when the journal cannot explain a fill: a fill whose side it does not hold, a row
that is no fill (qty or price not above 0, not a number), or a reduce-only fill larger
than the position it replayed (the position was opened before the journal began).

Pure: services/executor/journal_reader.py reads the records from the database.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from shared.pnl import ZERO, Holding, apply_fill
from shared.schema import OrderSide, OrderStatus

NS_PER_S: Final = 1_000_000_000


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


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A journaled order event: its kind (journal_records.EventKind), the status after it."""

    kind: str
    status: str | None
    ts_ns: int


@dataclass(frozen=True, slots=True)
class JournalRecords:
    """What a day's summary is computed from."""

    intent_ts_ns: tuple[int, ...]  # when each intent was recorded (sent)
    events: tuple[EventRecord, ...]
    fills: tuple[FillRecord, ...]  # all of them: the day's PnL needs the positions before it


@dataclass(frozen=True, slots=True)
class DaySummary:
    day: str  # e.g. "2026-12-06" (UTC)
    orders_sent: int
    accepted: int
    rejected: int
    in_doubt: int
    fills: int
    realised_pnl_usdt: Decimal | None  # fees included; None: unknown, see pnl_unknown_reason
    pnl_unknown_reason: str = ""


def day_bounds(ts_ns: int) -> tuple[str, int, int]:
    """The UTC day of `ts_ns`: its name and its [start, end) in ns since the epoch."""
    start = datetime.fromtimestamp(ts_ns // NS_PER_S, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start_ns = int(start.timestamp()) * NS_PER_S
    end_ns = int((start + timedelta(days=1)).timestamp()) * NS_PER_S
    return start.date().isoformat(), start_ns, end_ns


def summarise(records: JournalRecords, now_ns: int) -> DaySummary:
    """The counts and the realised PnL of the UTC day `now_ns` is in."""
    day, start, end = day_bounds(now_ns)
    kinds: Counter[str] = Counter()
    for event in records.events:
        if start <= event.ts_ns < end:
            kinds[event.kind] += 1
            if event.kind == "status" and event.status == OrderStatus.REJECTED:
                kinds["rejected"] += 1
    pnl = realised_pnl(records.fills, start, end)
    return DaySummary(
        day=day,
        orders_sent=sum(1 for ts in records.intent_ts_ns if start <= ts < end),
        accepted=kinds["ack"],
        rejected=kinds["rejected"],
        in_doubt=kinds["in_doubt"],
        fills=sum(1 for f in records.fills if start <= f.ts_event_ns < end),
        realised_pnl_usdt=pnl if isinstance(pnl, Decimal) else None,
        pnl_unknown_reason="" if isinstance(pnl, Decimal) else pnl,
    )


def realised_pnl(fills: Iterable[FillRecord], start_ns: int, end_ns: int) -> Decimal | str:
    """What the fills in [start_ns, end_ns) realised, fees included, replaying every fill
    before them (in the given order) for the positions they reduce; or why it is unknown."""
    holdings: dict[str, Holding] = {}
    total = ZERO
    for fill in fills:
        if fill.ts_event_ns >= end_ns:
            continue
        if fill.side is None:
            return f"the journal does not hold the side of fill {fill.exec_id}"
        if not _sane(fill):
            return (
                f"fill {fill.exec_id} is no fill (qty {fill.qty}, price {fill.price},"
                f" fee {fill.fee})"
            )
        held = holdings.get(fill.symbol, Holding())
        signed = fill.qty if fill.side is OrderSide.BUY else -fill.qty
        if fill.reduce_only and not _reduces(held.qty, signed):
            return (
                f"reduce-only fill {fill.exec_id} of {fill.symbol} is larger than the position"
                f" the journal holds ({held.qty}): it was opened before the journal began"
            )
        held, realised = apply_fill(held, signed, fill.price)
        holdings[fill.symbol] = held
        if fill.ts_event_ns >= start_ns:
            total += realised - fill.fee
    return total


def _reduces(position: Decimal, signed: Decimal) -> bool:
    """True if a fill of `signed` moves `position` toward zero without crossing it."""
    return position != 0 and (position > 0) != (signed > 0) and abs(signed) <= abs(position)


def _sane(fill: FillRecord) -> bool:
    numbers = (fill.qty, fill.price, fill.fee)
    return all(n.is_finite() for n in numbers) and fill.qty > 0 and fill.price > 0
