"""The private stream's reports applied to the registry: orders, executions, positions, wallet.

The I/O shell of report_core: it checks and translates each report at the edge
(report_checks, venue_reports), finds the order it names (recalled from the journal if the
registry has let it go), asks the core with the time, and carries out the effects in
order: the journal, the record and the registry, then the bus.
"""

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Final, assert_never

from services.executor.effects import Count, EffectShell, Publish, RaiseAlert, Reconcile
from services.executor.journal_records import EventKind
from services.executor.order_state import OrderRecord
from services.executor.ports import Parts
from services.executor.registry import balance_events, fill_event
from services.executor.report_apply import apply_to_registry
from services.executor.report_checks import ReportChecks
from services.executor.report_core import (
    AckOrder,
    ApplyFill,
    ApplyStatus,
    JournalFill,
    JournalStatus,
    MarkProtected,
    MarkUnprotected,
    PublishFill,
    RememberExecId,
    ReportEffect,
    SetPosition,
    fill_already_journaled,
    fill_reported,
    order_reported,
    position_reported,
    status_reported,
)
from services.executor.venue_reports import (
    VenueFill,
    VenueOrder,
    VenuePosition,
    fill_of,
    order_of,
    position_of,
)
from shared.bybit import wire
from shared.bybit.drops import VenueDropReason
from shared.bybit.stream import BybitStream, StreamConnected, StreamDisconnected, StreamFrame
from shared.bybit.translate import is_trade_execution
from shared.bybit.ws_frames import (
    ExecutionFrame,
    FrameDrop,
    OrderFrame,
    PositionFrame,
    PrivateFrame,
    decode_private,
)
from shared.schema import ClientOrderId, OrderStatus

log = logging.getLogger(__name__)

PRIVATE_TOPICS: Final = ["order", "execution", "position", "wallet"]


class VenueEvents:
    """Applies what the venue reports, exactly once, and publishes the resulting exec.* events."""

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        # Told of each connect (True) and drop (False): the private stream's breaker.
        self.on_stream: Callable[[bool], None] = lambda up: None
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._counters = parts.counters
        self._outbox = parts.outbox
        self.checks = ReportChecks(parts.counters, parts.outbox, parts.clock)  # before use
        self._effects = EffectShell(parts.outbox, parts.counters, parts.reconcile_wanted)
        # Fills of orders we did not send count from the journal's first intent (or from now):
        # older account history is not ours to book.
        self._external_since_ns = parts.journal.first_intent_ns() or parts.clock.now_ns()

    async def follow(self, stream: BybitStream) -> None:
        """Read the private stream; ask for a reconciliation after every (re)connect."""
        async for event in stream.run():
            if isinstance(event, StreamFrame):
                if (drop := self.on_frame(event)) is not None:
                    stream.stats.drop(drop.reason)
            elif isinstance(event, StreamConnected):
                self._counters["stream_connects"] += 1
                self._parts.status.stream_up = True
                self.on_stream(True)
                self._parts.reconcile_wanted.set()  # after every (re)connect: reconcile
            elif isinstance(event, StreamDisconnected):
                self._counters["stream_disconnects"] += 1
                self._parts.status.stream_up = False
                self.on_stream(False)
                log.warning("private stream down reason=%s", event.reason)

    def on_frame(self, frame: StreamFrame) -> FrameDrop | None:
        """Apply one frame; return the drop (counted here, and by the caller on the stream)."""
        decoded = decode_private(frame.data)  # the boundary: a wire type or a drop
        if isinstance(decoded, FrameDrop):
            unknown = decoded.reason is VenueDropReason.UNKNOWN_TOPIC
            self._counters["unknown_frames" if unknown else "bad_frames"] += 1
            if not unknown:
                log.error(
                    "dropped private frame reason=%s error=%s head=%r",
                    decoded.reason,
                    decoded.detail,
                    frame.data[:120],
                )
            return decoded
        try:
            self._route(decoded, frame.ts_recv_ns)
        except (ArithmeticError, ValueError) as e:  # applying it failed (e.g. a NaN compared)
            self._counters["bad_frames"] += 1
            log.error("dropped private frame error=%r head=%r", e, frame.data[:120])
        return None

    def _route(self, frame: PrivateFrame, ts: int) -> None:
        if isinstance(frame, OrderFrame):
            for order in frame.data:
                self._on_order(order)
        elif isinstance(frame, ExecutionFrame):
            for execution in frame.data:
                self.apply_execution(execution)
        elif isinstance(frame, PositionFrame):
            for position in frame.data:
                self.on_position(position, ts)
        else:
            messages = [
                m for w in frame.data if self.checks.wallet_ok(w) for m in balance_events(w, ts)
            ]
            for message in messages:
                self._outbox.publish(message)

    def _on_order(self, report: wire.Order) -> None:
        """The edge: an order report as streamed, checked, then applied."""
        if self.checks.order_ok(report):
            self.apply_order(order_of(report))

    def apply_order(self, order: VenueOrder) -> None:
        """A checked order report: its status (a fill's comes with its execution)."""
        record = self._find(order.order_link_id, order.order_id)
        self._carry_out(order_reported(order, record, self._clock.now_ns()))

    def _find(self, order_link_id: str, order_id: str) -> OrderRecord | None:
        """The order a report is about: in the registry, else (finished before the registry's
        last few hundred) in the journal, which keeps every order we sent."""
        record = self._registry.find(order_link_id, order_id)
        if record is not None:
            return record
        journaled = self._journal.find(ClientOrderId(order_link_id or order_id))
        if journaled is None:
            return None
        record, impossible = journaled.to_record()
        self._registry.recall(record)
        self._counters["orders_recalled"] += 1
        if impossible:  # quarantined at the start that loaded them; not replayed here
            self._counters["recalled_impossible_fills"] += len(impossible)
        return record

    def apply_status(
        self,
        record: OrderRecord,
        status: OrderStatus,
        reason: str,
        venue_cum_qty: Decimal = Decimal(0),
    ) -> None:
        """`venue_cum_qty`: the filled qty the venue reports with `status` (see canceled_event)."""
        now = self._clock.now_ns()
        self._carry_out(status_reported(record, status, reason, venue_cum_qty, now))

    def apply_execution(self, execution: wire.Execution) -> None:
        """The edge: a venue execution as reported, checked, then booked as a fill."""
        if not is_trade_execution(execution):
            self._counters["non_trade_executions"] += 1
            return
        if not self.checks.execution_ok(execution):
            return  # refused: counted and alerted; never journaled nor published
        self.apply_fill(fill_of(execution))

    def apply_fill(self, execution: VenueFill) -> None:
        """A checked venue fill, from the stream or REST: journaled, then published, once
        per exec id (report_core.fill_reported decides)."""
        booked, since = self._registry.exec_ids, self._external_since_ns
        # A fill booked before needs no order (judge_fill: a duplicate whatever the order):
        # a REST listing of old fills must not read the journal for each of their orders.
        known = execution.is_trade and execution.exec_id in booked
        record = None if known else self._find(execution.order_link_id, execution.order_id)
        self._carry_out(fill_reported(execution, record, booked, since, self._clock.now_ns()))

    def on_position(self, info: wire.PositionInfo | wire.PositionEvent, ts_ns: int) -> None:
        """The edge: a position as streamed or listed, checked, then applied."""
        if not self.checks.position_ok(info):
            return  # the position stays as it was: unknown is not flat
        self.apply_position(position_of(info), ts_ns)

    def apply_position(self, report: VenuePosition, ts_ns: int) -> None:
        """A checked position; one older than the stream's is dropped (report_core)."""
        seen = self._registry.position_seq.get(report.symbol, -1)
        self._carry_out(position_reported(report, seen, self._clock.now_ns(), ts_ns))

    def _carry_out(self, effects: list[ReportEffect]) -> None:
        """The core's effects, in order. The journal's answer to a fill is fed back: if it
        had the execId, the rest was for a new fill and fill_already_journaled's follow."""
        for effect in effects:
            match effect:
                case JournalFill(fill=fill, ts_ns=ts_ns, status=status, detail=detail):
                    if not self._journal.record_fill(fill, ts_ns, status, detail):
                        self._carry_out(fill_already_journaled(fill.exec_id))
                        return
                case JournalStatus(client_order_id=coid, status=status, ts_ns=ts_ns):
                    self._journal.record_event(coid, EventKind.STATUS, ts_ns, status=status)
                case ApplyFill(record=record, fill=fill):
                    apply_to_registry(effect, self._registry)
                    log.info(
                        "fill order=%s exec_id=%s qty=%s price=%s trace=%s",
                        record.client_order_id,
                        fill.exec_id,
                        fill.qty,
                        fill.price,
                        record.trace_id or "-",
                    )
                case RememberExecId() | AckOrder() | ApplyStatus() | SetPosition():
                    apply_to_registry(effect, self._registry)
                case PublishFill(record=record, fill=fill):
                    self._outbox.publish(fill_event(record, fill))
                case MarkUnprotected() | MarkProtected():
                    self._mark(effect)
                case Publish() | RaiseAlert() | Count() | Reconcile():
                    self._effects.run((effect,))
                case _:
                    assert_never(effect)

    def _mark(self, effect: MarkUnprotected | MarkProtected) -> None:
        """A position the guard must put a venue stop on, or no longer."""
        if isinstance(effect, MarkUnprotected):
            self._parts.unprotected.add(effect.symbol)
        else:
            self._parts.unprotected.discard(effect.symbol)
