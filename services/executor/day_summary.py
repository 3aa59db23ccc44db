"""One UTC day of the order journal: orders, fills and realised PnL, as the venue counts them.

The counts survive restarts of the executor and the strategy (they come from the journal,
not from a process's counters). The realised PnL is shared/journal_pnl.py's replay of every
journaled fill (the dashboard shows the same figure), unknown with the reason when the
journal cannot explain a fill.

Pure: services/executor/journal_reader.py reads the records from the database.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from shared.journal_pnl import FillRecord, day_bounds, realised_pnl
from shared.schema import OrderStatus


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
