"""What a checked venue fill means for the executor, decided purely: book it, or why not.

Fills are counted once by execId, whatever path brings them (the private stream, REST
polling, reconciliation, recovery). The shell (venue_events.VenueEvents.apply_fill)
journals what this says to book, then publishes it; the journal's own uniqueness on execId
is the last word on a duplicate.
"""

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum

from services.executor.order_state import OrderRecord
from services.executor.venue_reports import VenueFill
from shared.schema import OrderStatus

S = OrderStatus


class FillVerdict(StrEnum):
    NOT_A_FILL = "non_trade_executions"  # funding, ADL, delivery ...
    DUPLICATE = "duplicate_fills"  # this execId was booked already
    EXTERNAL = "external_fills"  # an order we did not send (a venue stop, a manual trade)
    BEFORE_JOURNAL = "unknown_fills_before_journal"  # older account history: not ours
    IMPOSSIBLE = "invalid_fills"  # beyond the order's qty, or on an order never sent
    BOOK = "fills"


@dataclass(frozen=True, slots=True)
class FillDecision:
    verdict: FillVerdict
    status_after: OrderStatus | None = None  # BOOK: the order's status with this fill
    error: str = ""  # IMPOSSIBLE: why


def judge_fill(
    fill: VenueFill,
    record: OrderRecord | None,
    booked: AbstractSet[str],
    external_since_ns: int,
) -> FillDecision:
    """`record`: the order the fill names (by orderLinkId, else orderId), if ours;
    `booked`: the execIds booked so far; `external_since_ns`: when the journal began."""
    if not fill.is_trade:
        return FillDecision(FillVerdict.NOT_A_FILL)
    if fill.exec_id in booked:
        return FillDecision(FillVerdict.DUPLICATE)
    if record is None:
        old = fill.ts_ns < external_since_ns
        return FillDecision(FillVerdict.BEFORE_JOURNAL if old else FillVerdict.EXTERNAL)
    if (error := record.fill_error(fill.exec_id, fill.qty, fill.price)) is not None:
        return FillDecision(FillVerdict.IMPOSSIBLE, error=error)
    if record.is_terminal:  # a "Cancelled" that overtook its last execution keeps its status
        return FillDecision(FillVerdict.BOOK, record.status)
    done = record.cum_filled_qty + fill.qty >= record.qty
    return FillDecision(FillVerdict.BOOK, S.FILLED if done else S.PARTIALLY_FILLED)
