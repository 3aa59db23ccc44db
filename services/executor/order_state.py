"""One order's life: the status transition table, and the executor's mutable OrderRecord.

Every status change goes through `_NEXT_STATUSES`. A report is classified before it is
applied (`classify`):

* APPLY: the move is in the table.
* DUPLICATE: the order is already in that status (the venue repeats itself: "New" after
  an amend, the two "Filled" messages of a cancel racing a fill, reference 5.1; WS and
  REST both reporting "Cancelled"). Nothing changes; the record counts it.
* STALE: the reported status is one the order has already left behind (`_EARLIER`), e.g.
  "New" after "PartiallyFilled" from a reordered websocket message, or a late
  in-doubt verdict after the venue already answered. Nothing changes; the record counts it.
* anything else (ACCEPTED after REJECTED, FILLED after CANCELED, a fill on an order that
  was never sent) is impossible: InvalidTransition / InvalidFill is raised, the process
  exits and startup reconciliation repairs the view. The private stream's reports ask
  first (`classify`, `fill_error`): there the report is alerted and reconciliation asked
  for, and an impossible fill is never journaled.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

from shared.schema import (
    ClientOrderId,
    OpenOrder,
    OrderSide,
    OrderStatus,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    VenueOrderId,
)

S = OrderStatus

_NEXT_STATUSES: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    # IN_DOUBT from INTENDED: a restart finds an intent journaled but not marked sent; the
    # request may have left, so the venue is asked before anything else.
    S.INTENDED: frozenset({S.SUBMITTED, S.DENIED, S.IN_DOUBT}),
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.REJECTED, S.IN_DOUBT, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED}
    ),
    # SUBMITTED again: the venue does not know the orderLinkId, resend with the same id.
    S.IN_DOUBT: frozenset(
        {S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED}
    ),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED}),
    S.PENDING_CANCEL: frozenset({S.CANCELED, S.FILLED, S.PARTIALLY_FILLED}),
    # FILLED, CANCELED, REJECTED, DENIED are terminal: no entry.
}

TERMINAL_STATUSES: Final = frozenset(set(S) - set(_NEXT_STATUSES))
# Statuses from which a cancel may be sent (the order is known to rest at the venue).
CANCELABLE_STATUSES: Final = frozenset(
    status for status, nexts in _NEXT_STATUSES.items() if S.PENDING_CANCEL in nexts
)
# Statuses in which the venue may have (or have had) the order, so fills can arrive.
_LIVE_AT_VENUE: Final = frozenset(set(S) - {S.INTENDED, S.DENIED, S.REJECTED})


def _earlier_statuses() -> dict[OrderStatus, frozenset[OrderStatus]]:
    # For each status, the statuses from which it can be reached (its ancestors).
    earlier: dict[OrderStatus, set[OrderStatus]] = {status: set() for status in S}
    for target in S:
        frontier = [target]
        while frontier:
            current = frontier.pop()
            for source, nexts in _NEXT_STATUSES.items():
                if current in nexts and source not in earlier[target]:
                    earlier[target].add(source)
                    frontier.append(source)
    return {status: frozenset(sources) for status, sources in earlier.items()}


_EARLIER: Final = _earlier_statuses()


@dataclass(frozen=True, slots=True)
class VenueOrderState:
    """What the venue says about one order (its status already mapped to ours)."""

    venue_order_id: VenueOrderId
    status: OrderStatus
    qty: Decimal
    limit_price: Decimal | None
    cum_filled_qty: Decimal
    cum_filled_value: Decimal


class InvalidTransition(Exception):
    """A report does not fit the order's status: our view and the venue's disagree."""


class InvalidFill(Exception):
    """A fill that cannot be: more than the order's qty, or on an order never sent."""


class Transition(StrEnum):
    APPLY = "apply"
    DUPLICATE = "duplicate"
    STALE = "stale"


def next_status(current: OrderStatus, reported: OrderStatus) -> OrderStatus:
    """Return `reported` if the move from `current` is in the table, else raise."""
    if reported not in _NEXT_STATUSES.get(current, frozenset()):
        raise InvalidTransition(f"{current} -> {reported}")
    return reported


def precedes(earlier: OrderStatus, later: OrderStatus) -> bool:
    """Return True if an order in `earlier` can reach `later` through the table."""
    return earlier in _EARLIER[later]


def classify(current: OrderStatus, reported: OrderStatus) -> Transition:
    """Return how a report of `reported` applies to an order in `current`.

    Raises InvalidTransition when the report is neither a legal move, nor a repeat, nor
    older than what we know.
    """
    if reported in _NEXT_STATUSES.get(current, frozenset()):
        return Transition.APPLY
    if reported == current:
        return Transition.DUPLICATE
    if reported in _EARLIER[current]:
        return Transition.STALE
    raise InvalidTransition(f"{current} -> {reported}")


@dataclass(slots=True)
class OrderRecord:
    """One order as the executor knows it; owned and mutated by the executor's registry."""

    client_order_id: ClientOrderId
    strategy_id: str
    symbol: Symbol
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    limit_price: Decimal | None
    reduce_only: bool
    venue_order_id: VenueOrderId | None = None
    status: OrderStatus = S.INTENDED
    cum_filled_qty: Decimal = Decimal(0)
    cum_filled_value: Decimal = Decimal(0)  # sum of fill qty * price, exact
    avg_fill_price: Decimal | None = None
    fees: Decimal = Decimal(0)  # settle coin; negative is a rebate
    seen_exec_ids: set[str] = field(default_factory=set)
    ts_trigger_recv_ns: int = 0
    ts_request_sent_ns: int = 0
    ts_ack_ns: int = 0
    duplicate_reports: int = 0
    stale_reports: int = 0
    # Requests about it not answered yet (its create, a lookup by orderLinkId): while any
    # is, reconciliation and the guard leave it to that answer.
    in_flight: int = 0
    cancel_on_ack: bool = False  # cancelled while its create was in flight: cancel once acked
    trace_id: str = ""  # the market-data frame behind the decision (docs/decisions/0003)
    # Told of every change of status, size or fills once the registry holds the record
    # (it keeps the working orders' totals for risk without a scan per command).
    on_change: Callable[["OrderRecord"], None] | None = field(
        default=None, repr=False, compare=False
    )

    def as_command(self, now_ns: int) -> SubmitOrder:
        """The order as it stands (after amends), as the command that would place it now:
        what an amend's risk check weighs."""
        return SubmitOrder(
            client_order_id=self.client_order_id,
            strategy_id=self.strategy_id,
            epoch=0,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            qty=self.qty,
            limit_price=self.limit_price,
            reduce_only=self.reduce_only,
            ts_created_ns=now_ns,
            expires_at_ns=now_ns,
            ts_trigger_recv_ns=self.ts_trigger_recv_ns,
            ts_trigger_event_ns=0,
            trace_id=self.trace_id,
        )

    @classmethod
    def from_command(cls, command: SubmitOrder) -> "OrderRecord":
        """Return the record of a new intent (status INTENDED)."""
        return cls(
            client_order_id=command.client_order_id,
            strategy_id=command.strategy_id,
            symbol=command.symbol,
            side=command.side,
            order_type=command.order_type,
            time_in_force=command.time_in_force,
            qty=command.qty,
            limit_price=command.limit_price,
            reduce_only=command.reduce_only,
            ts_trigger_recv_ns=command.ts_trigger_recv_ns,
            trace_id=command.trace_id,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def leaves_qty(self) -> Decimal:
        return Decimal(0) if self.is_terminal else self.qty - self.cum_filled_qty

    def record_ack(self, venue_order_id: VenueOrderId, ts_ack_ns: int) -> None:
        """Remember the venue's order id from a create response (an ack: no status change).

        Raises InvalidTransition if the venue already gave this order another id.
        """
        self._set_venue_order_id(venue_order_id)
        if self.ts_ack_ns == 0:
            self.ts_ack_ns = ts_ack_ns

    def apply_status(
        self, reported: OrderStatus, venue_order_id: VenueOrderId | None = None
    ) -> Transition:
        """Move to `reported` if legal; ignore (and count) a repeat or a stale report.

        Raises InvalidTransition for an impossible report.
        """
        transition = classify(self.status, reported)
        if venue_order_id:
            self._set_venue_order_id(venue_order_id)
        if transition is Transition.APPLY:
            self.status = next_status(self.status, reported)
            self._changed()
        elif transition is Transition.DUPLICATE:
            self.duplicate_reports += 1
        else:
            self.stale_reports += 1
        return transition

    def apply_fill(self, exec_id: str, qty: Decimal, price: Decimal, fee: Decimal) -> bool:
        """Add one venue fill; return False (and change nothing) for an exec id seen before.

        A working order moves to PARTIALLY_FILLED or FILLED; a terminal one (a "Cancelled"
        report that overtook its last execution) keeps its status. Raises InvalidFill for
        a fill beyond the order's qty, a non-positive qty or price, or an order the venue
        never had.
        """
        if exec_id in self.seen_exec_ids:
            return False
        if (error := self.fill_error(exec_id, qty, price)) is not None:
            raise InvalidFill(error)
        self.seen_exec_ids.add(exec_id)
        self.cum_filled_qty += qty
        self.cum_filled_value += qty * price
        self.avg_fill_price = self.cum_filled_value / self.cum_filled_qty
        self.fees += fee
        if not self.is_terminal:
            done = self.cum_filled_qty == self.qty
            self.apply_status(S.FILLED if done else S.PARTIALLY_FILLED)
        self._changed()
        return True

    def resize(self, qty: Decimal, limit_price: Decimal | None) -> None:
        """An amend the venue took: the order's new qty and price."""
        self.qty, self.limit_price = qty, limit_price
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def fill_error(self, exec_id: str, qty: Decimal, price: Decimal) -> str | None:
        """Why this order cannot take the fill (apply_fill would raise InvalidFill), or None."""
        if self.status not in _LIVE_AT_VENUE:
            return f"{self.client_order_id}: fill {exec_id} on a {self.status} order"
        if qty <= 0 or price <= 0:
            return f"{self.client_order_id}: fill {exec_id} qty={qty} price={price}"
        if self.cum_filled_qty + qty > self.qty:
            return (
                f"{self.client_order_id}: fill {exec_id} of {qty} after {self.cum_filled_qty}"
                f" exceeds qty {self.qty}"
            )
        return None

    def correct(self, venue: VenueOrderState) -> None:
        """Take the venue's view of this order as it is (reconciliation: the venue wins).

        Bypasses the transition table. Raises InvalidFill if the venue's filled qty is
        negative or beyond its qty.
        """
        if not Decimal(0) <= venue.cum_filled_qty <= venue.qty:
            raise InvalidFill(f"{self.client_order_id}: venue cum {venue.cum_filled_qty}")
        self.venue_order_id = venue.venue_order_id
        self.status = venue.status
        self.qty = venue.qty
        self.limit_price = venue.limit_price
        self.cum_filled_qty = venue.cum_filled_qty
        self.cum_filled_value = venue.cum_filled_value
        filled = venue.cum_filled_qty
        self.avg_fill_price = venue.cum_filled_value / filled if filled else None
        self._changed()

    def to_open_order(self) -> OpenOrder:
        """Return the record as it appears in an ExecutionSnapshot."""
        return OpenOrder(
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id or VenueOrderId(""),
            strategy_id=self.strategy_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            qty=self.qty,
            limit_price=self.limit_price,
            cum_filled_qty=self.cum_filled_qty,
            status=self.status,
            reduce_only=self.reduce_only,
        )

    def _set_venue_order_id(self, venue_order_id: VenueOrderId) -> None:
        if self.venue_order_id and self.venue_order_id != venue_order_id:
            raise InvalidTransition(
                f"{self.client_order_id}: venue order id {venue_order_id}"
                f" differs from {self.venue_order_id}"
            )
        self.venue_order_id = venue_order_id
