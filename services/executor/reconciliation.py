"""Reconciliation: the journal's view against the venue's, as one pure function.

Run on start and after every private-stream reconnect; until the executor has applied
the result, only position-reducing orders pass (risk.check_order with reconciled=False).
The venue is the source of truth: every mismatch becomes an Alert and the venue's view
wins. The caller applies a ReconcileResult in this order: `adopted` (new records), then
`fills` (each through OrderRecord.apply_fill and the journal), then `corrections`
(OrderRecord.correct), then `positions`; and asks the venue, by orderLinkId, for the
final status of every order in `to_query`. After a restart, mark INTENDED records
IN_DOUBT first: their request may have left, and a fill on an INTENDED record raises.

The journal's view may be newer than the venue's: the private stream keeps reporting while
the REST answers travel. An order the venue lists as open that the journal saw end (pass
finished records in `JournalView.open_orders` too) is in `to_recheck`: ask the venue again
and adopt it with `adopt()` only if it is still open.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Protocol

from services.executor.order_state import TERMINAL_STATUSES, OrderRecord, VenueOrderState
from services.executor.venue_reports import VenueFill, VenueOrder, VenuePosition
from shared.order_ids import parse_client_order_id
from shared.schema import (
    Alert,
    AlertSeverity,
    ClientOrderId,
    OrderSide,
    OrderStatus,
    OrderType,
    Symbol,
    TimeInForce,
    VenueOrderId,
)

SOURCE: Final = "executor"
EXTERNAL_STRATEGY_ID: Final = "external"  # owner of an adopted order whose id is not ours


class OrderView(Protocol):
    """What reconciliation reads of a journaled order (OrderRecord and OpenOrder fit)."""

    @property
    def client_order_id(self) -> ClientOrderId: ...
    @property
    def venue_order_id(self) -> VenueOrderId | None: ...
    @property
    def symbol(self) -> Symbol: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def limit_price(self) -> Decimal | None: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def cum_filled_qty(self) -> Decimal: ...


@dataclass(frozen=True)
class JournalView:
    """Our side: open orders, the exec ids already applied, signed positions by symbol."""

    open_orders: Sequence[OrderView]
    exec_ids: AbstractSet[str]
    positions: Mapping[str, Decimal]


@dataclass(frozen=True)
class VenueView:
    """The venue's side: /v5/order/realtime, /v5/execution/list, /v5/position/list,
    translated at the edge (venue_reports.py)."""

    open_orders: Sequence[VenueOrder]
    executions: Sequence[VenueFill]
    positions: Sequence[VenuePosition]


@dataclass(frozen=True)
class OrderCorrection:
    client_order_id: ClientOrderId
    venue: VenueOrderState


@dataclass
class ReconcileResult:
    ts_event_ns: int  # when the reconciliation ran: the time of its alerts
    adopted: list[OrderRecord] = field(default_factory=list)  # on the venue, not in the journal
    to_query: list[ClientOrderId] = field(default_factory=list)  # journal-open, venue-unlisted
    to_recheck: list[VenueOrder] = field(default_factory=list)  # venue-open, journal-finished
    corrections: list[OrderCorrection] = field(default_factory=list)
    fills: list[VenueFill] = field(default_factory=list)  # of orders open or adopted
    other_fills: list[VenueFill] = field(default_factory=list)  # of any other order
    positions: dict[Symbol, Decimal] = field(default_factory=dict)  # the venue's, signed
    alerts: list[Alert] = field(default_factory=list)
    ignored_executions: int = 0  # funding, ADL, delivery ...: not fills
    duplicate_executions: int = 0  # already applied, or listed twice

    def _alert(self, severity: AlertSeverity, code: str, detail: str) -> None:
        alert = Alert(
            source=SOURCE, severity=severity, code=code, detail=detail, ts_event_ns=self.ts_event_ns
        )
        self.alerts.append(alert)


def reconcile(journal: JournalView, venue: VenueView, now_ns: int) -> ReconcileResult:
    """Return what must change for the journal to agree with the venue, and the alerts."""
    result = ReconcileResult(ts_event_ns=now_ns)
    _collect_fills(journal, venue, result)
    _reconcile_orders(journal, venue, result)
    _reconcile_positions(journal, venue, result)
    return result


def adopt(order: VenueOrder, now_ns: int) -> ReconcileResult:
    """Return the adoption of one venue order found open on a second look (see to_recheck)."""
    result = ReconcileResult(ts_event_ns=now_ns)
    _adopt(order, {}, result)
    return result


def _collect_fills(journal: JournalView, venue: VenueView, result: ReconcileResult) -> None:
    open_views = _open(journal.open_orders)
    link_ids: set[str] = {v.client_order_id for v in open_views}
    link_ids.update(o.order_link_id for o in venue.open_orders if o.order_link_id)
    venue_ids: set[str] = {v.venue_order_id for v in open_views if v.venue_order_id}
    venue_ids.update(o.order_id for o in venue.open_orders)
    seen = set(journal.exec_ids)
    for execution in sorted(venue.executions, key=lambda e: (e.ts_ns, e.seq)):
        if not execution.is_trade:
            result.ignored_executions += 1
            continue
        if execution.exec_id in seen:
            result.duplicate_executions += 1
            continue
        seen.add(execution.exec_id)
        ours = execution.order_link_id in link_ids or execution.order_id in venue_ids
        (result.fills if ours else result.other_fills).append(execution)
        result._alert(
            AlertSeverity.WARNING,
            "missed_fill",
            f"exec_id={execution.exec_id} order_link_id={execution.order_link_id}"
            f" order_id={execution.order_id} qty={execution.qty}"
            f" price={execution.price} open_order={ours}",
        )


def _reconcile_orders(journal: JournalView, venue: VenueView, result: ReconcileResult) -> None:
    pending = _pending_by_order(result.fills)
    listed: set[str] = set()
    for order in venue.open_orders:
        view = _find(journal.open_orders, order)
        if view is None:
            _adopt(order, pending, result)
            continue
        if view.status in TERMINAL_STATUSES:
            result.to_recheck.append(order)  # most likely the venue's answer is the older
            continue
        listed.add(view.client_order_id)
        _compare(view, order, pending, result)
    for view in _open(journal.open_orders):
        if view.client_order_id not in listed:
            result.to_query.append(view.client_order_id)
            result._alert(
                AlertSeverity.WARNING,
                "unknown_final_status",
                f"client_order_id={view.client_order_id} venue_order_id={view.venue_order_id}"
                f" status={view.status}: not among the venue's open orders",
            )


def _compare(
    view: OrderView,
    order: VenueOrder,
    pending: Mapping[str, list[VenueFill]],
    result: ReconcileResult,
) -> None:
    state = _venue_state(order)
    unapplied = _pending_for(order, pending)
    expected_cum = view.cum_filled_qty + sum((e.qty for e in unapplied), Decimal(0))
    expected_status = view.status  # what OrderRecord.apply_fill will have made of it
    if unapplied and view.status not in TERMINAL_STATUSES:
        done = expected_cum == view.qty
        expected_status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
    differences = [
        f"{name} {ours} -> {theirs}"
        for name, ours, theirs in (
            ("status", expected_status, state.status),
            ("cum_filled_qty", expected_cum, state.cum_filled_qty),
            ("qty", view.qty, state.qty),
            ("limit_price", view.limit_price, state.limit_price),
            ("venue_order_id", view.venue_order_id or state.venue_order_id, state.venue_order_id),
        )
        if ours != theirs
    ]
    if differences:
        result.corrections.append(OrderCorrection(view.client_order_id, state))
        result._alert(
            AlertSeverity.WARNING,
            "order_mismatch",
            f"client_order_id={view.client_order_id} venue_order_id={order.order_id}: "
            + ", ".join(differences),
        )


def _adopt(
    order: VenueOrder,
    pending: Mapping[str, list[VenueFill]],
    result: ReconcileResult,
) -> None:
    state = _venue_state(order)
    if state.status in TERMINAL_STATUSES:
        return  # closed: nothing to adopt; its fills, if new, are in the result already
    record = _record_from_venue(order, state)
    # The fills still to apply are part of the venue's totals: start below them, so that
    # applying them lands exactly on the venue's figures.
    unapplied = _pending_for(order, pending)
    record.cum_filled_qty = max(
        state.cum_filled_qty - sum((e.qty for e in unapplied), Decimal(0)), Decimal(0)
    )
    record.cum_filled_value = max(
        state.cum_filled_value - sum((e.value for e in unapplied), Decimal(0)), Decimal(0)
    )
    if record.cum_filled_qty:
        record.avg_fill_price = record.cum_filled_value / record.cum_filled_qty
    record.fees = order.cum_fee - sum((e.fee for e in unapplied), Decimal(0))
    result.adopted.append(record)
    result._alert(
        AlertSeverity.WARNING,
        "orphan_order",
        f"order_link_id={order.order_link_id} venue_order_id={order.order_id}"
        f" symbol={order.symbol} side={order.side} qty={order.qty} price={order.limit_price}"
        f" status={order.venue_status}: on the venue, not in the journal; adopted",
    )


def _record_from_venue(order: VenueOrder, state: VenueOrderState) -> OrderRecord:
    # An order placed outside this system may have no orderLinkId: its orderId keys it
    # (ours always have two dashes and a strategy part, so the two cannot collide).
    parts = parse_client_order_id(order.order_link_id)
    return OrderRecord(
        client_order_id=ClientOrderId(order.order_link_id or order.order_id),
        strategy_id=parts.strategy_id if parts else EXTERNAL_STRATEGY_ID,
        symbol=Symbol(order.symbol),
        side=OrderSide(order.side),
        order_type=OrderType(order.order_type),
        time_in_force=TimeInForce(order.time_in_force),
        qty=state.qty,
        limit_price=state.limit_price,
        reduce_only=order.reduce_only,
        venue_order_id=state.venue_order_id,
        status=state.status,
    )


def _reconcile_positions(journal: JournalView, venue: VenueView, result: ReconcileResult) -> None:
    theirs: dict[Symbol, Decimal] = defaultdict(Decimal)
    for listed in venue.positions:
        theirs[listed.symbol] += listed.position.qty  # hedge mode: the net
    for symbol in sorted(set(theirs) | {Symbol(s) for s in journal.positions}):
        venue_qty = theirs.get(symbol, Decimal(0))
        ours = journal.positions.get(symbol, Decimal(0))
        result.positions[symbol] = venue_qty
        if ours != venue_qty:
            result._alert(
                AlertSeverity.CRITICAL,
                "position_mismatch",
                f"symbol={symbol} journal={ours} venue={venue_qty}: the venue's qty wins",
            )


def _venue_state(order: VenueOrder) -> VenueOrderState:
    return VenueOrderState(
        venue_order_id=order.order_id,
        status=order.status,
        qty=order.qty,
        limit_price=order.limit_price,
        cum_filled_qty=order.cum_qty,
        cum_filled_value=order.cum_value,
    )


def _open(views: Iterable[OrderView]) -> list[OrderView]:
    return [view for view in views if view.status not in TERMINAL_STATUSES]


def _find(views: Sequence[OrderView], order: VenueOrder) -> OrderView | None:
    """Return the view of a venue order: an open one first, else a finished one."""
    found = None
    for view in views:
        if (order.order_link_id and view.client_order_id == order.order_link_id) or (
            view.venue_order_id and view.venue_order_id == order.order_id
        ):
            if view.status not in TERMINAL_STATUSES:
                return view
            found = view
    return found


def _pending_by_order(fills: Iterable[VenueFill]) -> dict[str, list[VenueFill]]:
    by_order: dict[str, list[VenueFill]] = defaultdict(list)
    for execution in fills:
        by_order[execution.order_id].append(execution)
    return by_order


def _pending_for(order: VenueOrder, pending: Mapping[str, list[VenueFill]]) -> list[VenueFill]:
    return pending.get(order.order_id, [])
