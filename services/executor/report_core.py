"""What a venue report means for the executor, decided purely: a report in, effects out.

The shell (venue_events.VenueEvents) translates the venue's answers at the edge
(venue_reports.py), finds the order a report names, asks here with `now_ns`, and carries
out the effects in order: journal first, then the record and the registry, then publish.
Nothing here reads a clock, the journal or the bus, so every decision is unit-tested on a
bare OrderRecord: which status applies (order_state.classify), which event is published,
what is counted and alerted, when reconciliation is asked for, which position is stale.

The journal's own answer is fed back: a JournalFill it refuses (it already had that
execId, its uniqueness the last word) ends that report's effects, and the shell carries
out `fill_already_journaled` instead.

Effects name a record (the registry owns it); they are carried out at once, in the turn
of the report, before any other report can change it.
"""

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import msgspec

from services.executor.effects import Count, Effect, Publish, RaiseAlert, Reconcile
from services.executor.fill_core import FillVerdict, judge_fill
from services.executor.journal_records import Fill
from services.executor.order_state import InvalidTransition, OrderRecord, Transition, classify
from services.executor.registry import canceled_event, position_changed, to_fill
from services.executor.venue_reports import VenueFill, VenueOrder, VenuePosition
from shared.schema import (
    AlertSeverity,
    ClientOrderId,
    OrderCanceled,
    OrderRejected,
    OrderStatus,
    Position,
    Symbol,
    VenueOrderId,
)

S = OrderStatus
_REPEATS: Final = {Transition.DUPLICATE: "duplicate_reports", Transition.STALE: "stale_reports"}


# ---------------------------------------------------------------- the core's own effects


@dataclass(frozen=True, slots=True)
class AckOrder:
    """The order learns its venue id (OrderRecord.record_ack: no status change), and the
    registry indexes it by that id."""

    record: OrderRecord
    venue_order_id: VenueOrderId
    ts_ns: int


@dataclass(frozen=True, slots=True)
class ApplyStatus:
    """The record takes a status classify() judged legal: it moves (APPLY), or counts the
    repeat or the stale report on itself (OrderRecord.apply_status)."""

    record: OrderRecord
    status: OrderStatus


@dataclass(frozen=True, slots=True)
class JournalStatus:
    client_order_id: ClientOrderId
    status: OrderStatus
    ts_ns: int


@dataclass(frozen=True, slots=True)
class JournalFill:
    """Write the fill once by execId, with the order's status after it (None: unchanged)
    and `detail`. If the journal had it already, the effects after this one are dropped
    and `fill_already_journaled`'s are carried out instead."""

    fill: Fill
    ts_ns: int
    status: OrderStatus | None = None
    detail: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RememberExecId:
    """The execId is booked (the registry's recent ids): a repeat of it is a duplicate."""

    exec_id: str


@dataclass(frozen=True, slots=True)
class ApplyFill:
    """The record takes the fill (OrderRecord.apply_fill: totals, fees, status)."""

    record: OrderRecord
    fill: Fill


@dataclass(frozen=True, slots=True)
class PublishFill:
    """Publish the fill's event (registry.fill_event) from the record as ApplyFill left it:
    OrderFilled or OrderPartiallyFilled, with the totals after the fill."""

    record: OrderRecord
    fill: Fill


@dataclass(frozen=True, slots=True)
class SetPosition:
    """The registry's position of the symbol, the venue's seq of it, and when the private
    stream told it (None: a REST answer, the stream's time left as it was)."""

    position: Position
    seq: int
    streamed_ns: int | None


@dataclass(frozen=True, slots=True)
class MarkUnprotected:
    """A position without a venue-side stop-loss: the guard puts one on."""

    symbol: Symbol


@dataclass(frozen=True, slots=True)
class MarkProtected:
    """The symbol needs no stop from the guard: its position has one, or is flat."""

    symbol: Symbol


ReportEffect = (
    Effect
    | AckOrder
    | ApplyStatus
    | JournalStatus
    | JournalFill
    | RememberExecId
    | ApplyFill
    | PublishFill
    | SetPosition
    | MarkUnprotected
    | MarkProtected
)


# ---------------------------------------------------------------- orders


def order_reported(
    order: VenueOrder, record: OrderRecord | None, now_ns: int
) -> list[ReportEffect]:
    """An order report (checked, translated): its status; a fill's status is left to its
    execution, which brings it exactly once. `record`: the order it names, if known."""
    if record is None:
        return [Count("unknown_order_reports")]
    status = order.status
    if status is S.PARTIALLY_FILLED or status is S.FILLED:
        return []
    effects: list[ReportEffect] = []
    acked_as = None
    if not record.venue_order_id:
        acked_as = order.order_id
        effects.append(AckOrder(record, order.order_id, now_ns))
    if order.cum_qty > record.cum_filled_qty:  # its executions are still on their way
        effects.append(Count("order_report_before_fills"))
    effects += _status(record, status, order.end_reason, order.cum_qty, now_ns, acked_as)
    return effects


def status_reported(
    record: OrderRecord,
    status: OrderStatus,
    reason: str,
    venue_cum_qty: Decimal,
    now_ns: int,
) -> list[ReportEffect]:
    """A status the venue gives an order (a report, or a REST answer about it);
    `venue_cum_qty`: the filled qty it reports with it (see registry.canceled_event)."""
    return _status(record, status, reason, venue_cum_qty, now_ns, None)


def _status(
    record: OrderRecord,
    status: OrderStatus,
    reason: str,
    venue_cum_qty: Decimal,
    now_ns: int,
    acked_as: VenueOrderId | None,
) -> list[ReportEffect]:
    """Apply, or count a repeat or a stale report; an impossible one means our view and
    the venue's differ: alerted, and reconciliation takes the venue's. `acked_as`: the
    venue id an AckOrder of the same report gives the order first."""
    try:
        transition = classify(record.status, status)
    except InvalidTransition as e:
        return [
            RaiseAlert(AlertSeverity.WARNING, "invalid_transition", str(e)),
            Reconcile(f"invalid transition of {record.client_order_id}: {e}"),
        ]
    if transition is not Transition.APPLY:
        return [ApplyStatus(record, status), Count(_REPEATS[transition])]
    effects: list[ReportEffect] = [
        ApplyStatus(record, status),
        JournalStatus(record.client_order_id, status, now_ns),
    ]
    if status is S.CANCELED:
        effects.append(Publish(_canceled(record, reason, now_ns, venue_cum_qty, acked_as)))
    elif status is S.REJECTED:
        rejected = OrderRejected(
            client_order_id=record.client_order_id,
            strategy_id=record.strategy_id,
            symbol=record.symbol,
            reason=reason,
            venue_code=0,
            ts_event_ns=now_ns,
            trace_id=record.trace_id,
        )
        effects.append(Publish(rejected))
    return effects


def _canceled(
    record: OrderRecord,
    reason: str,
    now_ns: int,
    venue_cum_qty: Decimal,
    acked_as: VenueOrderId | None,
) -> OrderCanceled:
    event = canceled_event(record, reason, now_ns, venue_cum_qty)
    if acked_as and not record.venue_order_id:  # acked by the same report (AckOrder first)
        return msgspec.structs.replace(event, venue_order_id=acked_as)
    return event


# ---------------------------------------------------------------- fills


def fill_reported(
    fill: VenueFill,
    record: OrderRecord | None,
    booked: AbstractSet[str],
    external_since_ns: int,
    now_ns: int,
) -> list[ReportEffect]:
    """A checked venue fill, from the stream or REST, on the verdict of fill_core.judge_fill:
    journaled, then applied and published, once per execId. `record`: the order it names,
    if ours; `booked`: the execIds booked lately; `external_since_ns`: when the journal began.
    """
    decision = judge_fill(fill, record, booked, external_since_ns)
    verdict = decision.verdict
    if verdict is FillVerdict.BOOK and record is not None:
        return _book(record, to_fill(record.client_order_id, fill), decision.status_after, now_ns)
    if verdict is FillVerdict.EXTERNAL:
        return _external(fill, now_ns)
    if verdict is FillVerdict.IMPOSSIBLE:
        return _impossible(decision.error)
    return [Count(verdict.value)]


def fill_already_journaled(exec_id: str) -> list[ReportEffect]:
    """The journal refused a JournalFill: it had the execId (one older than the recent ids,
    listed again by REST). Its uniqueness is the last word: counted, remembered, and
    nothing applied nor published."""
    return [Count("duplicate_fills"), RememberExecId(exec_id)]


def _book(
    record: OrderRecord, fill: Fill, status_after: OrderStatus | None, now_ns: int
) -> list[ReportEffect]:
    effects: list[ReportEffect] = [
        JournalFill(fill, now_ns, status_after),
        RememberExecId(fill.exec_id),
    ]
    if not record.venue_order_id:  # the fill came before the create's answer
        effects.append(AckOrder(record, fill.venue_order_id, now_ns))
    effects += (ApplyFill(record, fill), Count("fills"), PublishFill(record, fill))
    return effects


def _external(fill: VenueFill, now_ns: int) -> list[ReportEffect]:
    """A fill of an order we never sent (a venue-side stop-loss, a manual trade): journaled
    once by execId like ours, with an alert; positions follow from the venue."""
    owner = ClientOrderId(fill.order_link_id or f"venue-{fill.order_id}")
    detail = {"external": "1", "symbol": fill.symbol, "side": fill.side}
    return [
        RememberExecId(fill.exec_id),
        JournalFill(to_fill(owner, fill), now_ns, None, detail),
        Count("external_fills"),
        RaiseAlert(
            AlertSeverity.WARNING,
            "external_fill",
            f"{fill.symbol} {fill.side} {fill.qty} @ {fill.price}"
            f" order_id={fill.order_id} stop_order_type={fill.stop_order_type}:"
            " an order we did not send (e.g. the venue-side stop-loss); journaled",
        ),
    ]


def _impossible(error: str) -> list[ReportEffect]:
    """A fill our order cannot take (beyond its qty, or on an order the venue never had):
    our view and the venue's disagree. Not journaled (a replay at start would fail on it
    too): counted, alerted, and reconciliation takes the venue's view."""
    return [
        Count("invalid_fills"),
        RaiseAlert(AlertSeverity.CRITICAL, "invalid_fill", f"{error}; not journaled, reconciling"),
        Reconcile(f"invalid fill: {error}"),
    ]


# ---------------------------------------------------------------- positions


def position_reported(
    report: VenuePosition, seen_seq: int, now_ns: int, ts_ns: int
) -> list[ReportEffect]:
    """A checked position, streamed or listed; `seen_seq`: the seq of the symbol's last
    position applied (-1: none); `ts_ns`: the report's time, told in PositionChanged.

    A REST answer with a seq below the one applied was read before a fill the stream has
    reported since: publishing it would tell the strategy a position it no longer holds
    (flat while long). The stream itself is followed even if its seq goes down."""
    if not report.streamed and 0 <= report.seq < seen_seq:
        return [Count("stale_positions")]
    symbol = report.symbol
    unprotected = report.position.qty != 0 and report.stop_loss is None
    return [
        SetPosition(report.position, report.seq, now_ns if report.streamed else None),
        MarkUnprotected(symbol) if unprotected else MarkProtected(symbol),
        Publish(position_changed(report, ts_ns)),
    ]
