"""What the order journal stores: its tables, and the records it gives back (event kinds,
fills, journaled orders).

No I/O here: services/executor/journal.py writes and reads them.

A fill row is checked as it is read back (`parse_fill_row`): one that is not a sane fill
(qty 0, a price <= 0, NaN or Infinity, text that is no number; an older executor journaled
venue fills before checking them) is returned as a QuarantinedFill instead of replayed,
since replaying it would raise at every start, for ever. The executor's start moves it to
`quarantined_fills` (kept for a human), counts and alerts it.
"""

from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

import msgspec

from services.executor.order_state import OrderRecord
from shared.bybit.validate import Defect, Refusal, fill_refusal
from shared.schema import ClientOrderId, OrderStatus, SubmitOrder, TradingState, VenueOrderId

SCHEMA_VERSION: Final = 2
# What a read-only reader accepts is shared/journal_read.READABLE_VERSIONS (shared/ imports no
# service): a new version is added there once that reader reads it.

# Version 1 -> 2 (issue 14): intents.trace_id, the command's trace id (the market-data frame
# behind the decision), filled from the command for the rows already there. Journal() runs
# each step up to SCHEMA_VERSION in the transaction that checks the version, so an old
# journal opens (and is migrated) while a journal of a newer version is refused.
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        "ALTER TABLE intents ADD COLUMN trace_id TEXT NOT NULL DEFAULT ''",
        "UPDATE intents SET trace_id = coalesce(json_extract(command, '$.trace_id'), '')",
    ),
}
# No index by trace or venue order id: each would cost every intent and ack a B-tree write
# (10 µs of an intent's 25 here, scripts/bench executor), for lookups only an operator makes
# (scripts/trace), which scan instead.

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    client_order_id TEXT PRIMARY KEY, strategy_id TEXT NOT NULL, symbol TEXT NOT NULL,
    command TEXT NOT NULL, ts_recorded_ns INTEGER NOT NULL, status TEXT NOT NULL,
    venue_order_id TEXT, ts_request_sent_ns INTEGER NOT NULL DEFAULT 0,
    ts_ack_ns INTEGER NOT NULL DEFAULT 0, trace_id TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT, venue_order_id TEXT, payload TEXT NOT NULL, ts_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_order ON events (client_order_id, id);
CREATE TABLE IF NOT EXISTS fills (
    exec_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, venue_order_id TEXT NOT NULL,
    qty TEXT NOT NULL, price TEXT NOT NULL, fee TEXT NOT NULL, is_maker INTEGER NOT NULL,
    ts_event_ns INTEGER NOT NULL, ts_recorded_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS fills_by_order ON fills (client_order_id);
CREATE TABLE IF NOT EXISTS trading_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, reason TEXT NOT NULL,
    ts_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quarantined_fills (
    exec_id TEXT PRIMARY KEY, client_order_id TEXT, venue_order_id TEXT, qty TEXT, price TEXT,
    fee TEXT, is_maker INTEGER, ts_event_ns INTEGER, ts_recorded_ns INTEGER, reason TEXT NOT NULL,
    ts_quarantined_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS day_start_equity (
    day TEXT PRIMARY KEY, equity_usdt TEXT NOT NULL, ts_ns INTEGER NOT NULL);
"""


class EventKind(StrEnum):
    SENT = "sent"  # the create request left (a first send is in the intents row instead)
    ACK = "ack"  # the venue's create response: venue_order_id (not a fill, not a status)
    STATUS = "status"  # a status change (a venue report or our own)
    FILL = "fill"  # written by record_fill together with the fill
    IN_DOUBT = "in_doubt"  # timeout, network error, 5xx, rate limit after the send
    RESEND = "resend"  # the venue did not know the orderLinkId: sent again with it
    CANCEL = "cancel"  # cancel requested
    AMEND = "amend"  # amend requested
    CORRECTION = "correction"  # reconciliation: the venue's view replaced ours
    DENIED = "denied"  # refused before the venue saw it


@dataclass(frozen=True, slots=True)
class Fill:
    exec_id: str
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    qty: Decimal
    price: Decimal
    fee: Decimal
    is_maker: bool
    ts_event_ns: int  # the venue's execTime


FILL_FIELDS: Final = tuple(field.name for field in fields(Fill))
FILL_COLUMNS: Final = ", ".join(FILL_FIELDS)


@dataclass(frozen=True, slots=True)
class QuarantinedFill:
    """A journaled fill row that is not a sane fill: kept aside, never replayed."""

    exec_id: str
    client_order_id: str
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    """One intent with what the journal knows of it since."""

    command: SubmitOrder
    status: OrderStatus
    venue_order_id: VenueOrderId | None
    ts_request_sent_ns: int
    ts_ack_ns: int
    fills: tuple[Fill, ...]
    quarantined: tuple[QuarantinedFill, ...] = ()  # its fill rows that failed the checks
    trace_id: str = ""  # the command's: the market-data frame behind it ("" before issue 14)

    def to_record(self) -> tuple[OrderRecord, list[QuarantinedFill]]:
        """Return the registry record (the journaled status, then the fills replayed) and
        the fills it cannot take (beyond its qty, on an order never sent): those are not
        replayed, so that one impossible row cannot stop every start."""
        record = OrderRecord.from_command(self.command)
        record.status = self.status
        record.venue_order_id = self.venue_order_id
        record.ts_request_sent_ns = self.ts_request_sent_ns
        record.ts_ack_ns = self.ts_ack_ns
        impossible: list[QuarantinedFill] = []
        for fill in self.fills:
            if (error := record.fill_error(fill.exec_id, fill.qty, fill.price)) is not None:
                refusal = Refusal("fill", error, Defect.IMPOSSIBLE)
                impossible.append(QuarantinedFill(fill.exec_id, record.client_order_id, refusal))
                continue
            record.apply_fill(fill.exec_id, fill.qty, fill.price, fill.fee)
        return record, impossible


@dataclass(frozen=True, slots=True)
class JournalState:
    """What a restart rebuilds from: open orders, every known exec id (oldest first), the
    trading state."""

    open_orders: list[JournaledOrder]
    exec_ids: tuple[str, ...]
    trading_state: TradingState | None  # None: never recorded
    trading_state_reason: str


def fill_from_row(row: tuple[Any, ...]) -> Fill:
    """A Fill from a `fills` row selected in FILL_FIELDS order."""
    return msgspec.convert(dict(zip(FILL_FIELDS, row, strict=True)), Fill, strict=False)


def parse_fill_row(row: tuple[Any, ...]) -> Fill | QuarantinedFill:
    """The Fill of a `fills` row (FILL_FIELDS order), or why it cannot be replayed."""
    try:
        fill = fill_from_row(row)
    except msgspec.ValidationError as e:
        return QuarantinedFill(
            str(row[0]), str(row[1]), Refusal("row", str(e), Defect.NOT_A_NUMBER)
        )
    refusal = fill_refusal(fill.qty, fill.price, fill.fee)
    return fill if refusal is None else QuarantinedFill(fill.exec_id, fill.client_order_id, refusal)
