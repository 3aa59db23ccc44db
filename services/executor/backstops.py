"""The executor's backstops, as pure decisions: venue stops, daily loss, dead-man's switch.

The I/O around them (REST calls every few seconds, cancels, the halt) is in guard.py.
"""

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from shared.bybit.translate import InstrumentRules
from shared.schema import ClientOrderId, OrderSide, OrderStatus, Position

NS_PER_S: Final = 1_000_000_000
_AT_VENUE: Final = CANCELABLE_STATUSES | {OrderStatus.PENDING_CANCEL}  # acknowledged, working
_PERCENT: Final = Decimal(100)


def venue_stop_price(position: Position, stop_pct: Decimal, rules: InstrumentRules) -> Decimal:
    """Return the venue-side stop-loss of a position: `stop_pct` percent against its entry.

    Below the entry for a long, above it for a short, rounded to the tick away from the
    entry (a backstop never tighter than asked). Raises ValueError for a flat position.
    """
    if position.qty == 0 or position.avg_entry_price <= 0:
        raise ValueError(f"no stop for a flat position or no entry price: {position}")
    distance = position.avg_entry_price * stop_pct / _PERCENT
    if position.qty > 0:
        return rules.round_price(position.avg_entry_price - distance, OrderSide.BUY)
    return rules.round_price(position.avg_entry_price + distance, OrderSide.SELL)


def utc_day(ts_ns: int) -> str:
    """Return the UTC calendar day of a timestamp, e.g. "2026-11-21" (the daily loss resets)."""
    return datetime.fromtimestamp(ts_ns // NS_PER_S, tz=UTC).date().isoformat()


@dataclass
class DailyLoss:
    """Today's PnL as the change of account equity since the day's first observation."""

    limit_usdt: Decimal
    day: str = ""
    start_equity_usdt: Decimal = Decimal(0)

    def start_day(self, day: str, equity_usdt: Decimal) -> None:
        self.day, self.start_equity_usdt = day, equity_usdt

    def pnl_usdt(self, equity_usdt: Decimal) -> Decimal:
        return equity_usdt - self.start_equity_usdt

    def is_new_day(self, ts_ns: int) -> bool:
        return utc_day(ts_ns) != self.day

    def breached(self, equity_usdt: Decimal) -> bool:
        """True once today's loss (realised and unrealised, fees included) reaches the limit."""
        return -self.pnl_usdt(equity_usdt) >= self.limit_usdt


@dataclass
class DeadMansSwitch:
    """Fires when the strategy has been silent for `after_ns` while it has working orders."""

    after_ns: int
    last_heard_ns: int

    def heard(self, now_ns: int) -> None:
        self.last_heard_ns = now_ns

    def silent_for_ns(self, now_ns: int) -> int:
        return now_ns - self.last_heard_ns

    def fires(self, now_ns: int, working_orders: int) -> bool:
        return working_orders > 0 and self.silent_for_ns(now_ns) >= self.after_ns


def unlisted_working_orders(
    records: Iterable[OrderRecord],
    venue_open_ids: AbstractSet[str],
    now_ns: int,
    min_age_ns: int,
) -> list[ClientOrderId]:
    """Return the orders we think rest at the venue that its open-order list does not show.

    `venue_open_ids` holds the orderLinkIds and orderIds the venue lists as open.
    Only acknowledged orders older than `min_age_ns` count: a younger one may have filled a
    moment ago with its report still on the way. Each one found means reports were lost
    (frames dropped without a reconnect) and the journal must be reconciled.
    """
    return [
        record.client_order_id
        for record in records
        if record.status in _AT_VENUE
        and record.client_order_id not in venue_open_ids
        and record.venue_order_id not in venue_open_ids
        and now_ns - record.ts_ack_ns >= min_age_ns
    ]


def position_differences(
    ours: Mapping[str, Decimal],
    venue: Mapping[str, Decimal],
    unknown: AbstractSet[str],
    changed_since: AbstractSet[str],
) -> list[tuple[str, Decimal, Decimal]]:
    """The positions whose qty differs from the venue's: (symbol, ours, the venue's).

    `ours`: our qty by symbol when the request left; `venue`: the qty it lists (a symbol it
    leaves out is flat there); `unknown`: symbols whose report was refused (unknown, not
    flat: not compared); `changed_since`: symbols the stream reported after the request
    left (newer than this answer: not compared).
    """
    differences = []
    for symbol in sorted(set(ours) | set(venue)):
        if symbol in unknown or symbol in changed_since:
            continue
        mine, theirs = ours.get(symbol, Decimal(0)), venue.get(symbol, Decimal(0))
        if mine != theirs:
            differences.append((symbol, mine, theirs))
    return differences
