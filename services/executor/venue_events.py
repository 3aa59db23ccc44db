"""The private stream's reports applied to the registry: orders, executions, positions, wallet."""

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from services.executor.fill_core import FillVerdict, judge_fill
from services.executor.journal_records import EventKind, Fill
from services.executor.order_state import InvalidTransition, OrderRecord
from services.executor.ports import Parts
from services.executor.registry import (
    balance_events,
    canceled_event,
    fill_event,
    position_changed,
    to_fill,
)
from services.executor.report_checks import ReportChecks
from services.executor.venue_reports import VenueFill, VenueOrder, fill_of, order_of
from shared.bybit import wire
from shared.bybit.drops import VenueDropReason
from shared.bybit.stream import BybitStream, StreamConnected, StreamDisconnected, StreamFrame
from shared.bybit.translate import decimal_or_none, is_trade_execution, to_position
from shared.bybit.ws_frames import (
    ExecutionFrame,
    FrameDrop,
    OrderFrame,
    PositionFrame,
    PrivateFrame,
    decode_private,
)
from shared.schema import AlertSeverity, ClientOrderId, OrderRejected, OrderStatus

log = logging.getLogger(__name__)

PRIVATE_TOPICS: Final = ["order", "execution", "position", "wallet"]
S = OrderStatus


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
        if record is None:
            self._counters["unknown_order_reports"] += 1
            return
        status = order.status
        if status in (S.PARTIALLY_FILLED, S.FILLED):
            return  # a fill's status is applied with its execution (exactly once)
        if not record.venue_order_id:
            record.record_ack(order.order_id, self._clock.now_ns())
            self._registry.index(record)
        reason = order.reject_reason if status is S.REJECTED else order.cancel_type
        if order.cum_qty > record.cum_filled_qty:
            self._counters["order_report_before_fills"] += 1
        self.apply_status(record, status, reason, order.cum_qty)

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
        try:
            transition = record.apply_status(status)
        except InvalidTransition as e:
            self._outbox.alert(AlertSeverity.WARNING, "invalid_transition", str(e))
            self._parts.reconcile_wanted.set()
            return
        if transition.value != "apply":
            self._counters[f"{transition.value}_reports"] += 1
            return
        now = self._clock.now_ns()
        self._journal.record_event(record.client_order_id, EventKind.STATUS, now, status=status)
        if status is S.CANCELED:
            self._outbox.publish(canceled_event(record, reason, now, venue_cum_qty))
        elif status is S.REJECTED:
            self._outbox.publish(
                OrderRejected(
                    client_order_id=record.client_order_id,
                    strategy_id=record.strategy_id,
                    symbol=record.symbol,
                    reason=reason,
                    venue_code=0,
                    ts_event_ns=now,
                    trace_id=record.trace_id,
                )
            )

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
        per exec id (fill_core.judge_fill decides)."""
        record = self._find(execution.order_link_id, execution.order_id)
        decision = judge_fill(execution, record, self._registry.exec_ids, self._external_since_ns)
        verdict = decision.verdict
        if verdict is FillVerdict.EXTERNAL:
            self._external_fill(execution)
        elif verdict is FillVerdict.IMPOSSIBLE:
            self._impossible_fill(decision.error)
        elif verdict is FillVerdict.BOOK and record is not None:
            self._book(record, to_fill(record.client_order_id, execution), decision.status_after)
        else:
            self._counters[verdict.value] += 1

    def _book(self, record: OrderRecord, fill: Fill, status: OrderStatus | None) -> None:
        if not self._journal.record_fill(fill, self._clock.now_ns(), status):
            self._counters["duplicate_fills"] += 1  # the journal knew it: the last word
            self._registry.exec_ids.add(fill.exec_id)
            return
        self._registry.exec_ids.add(fill.exec_id)
        if not record.venue_order_id:
            record.record_ack(fill.venue_order_id, self._clock.now_ns())
            self._registry.index(record)
        record.apply_fill(fill.exec_id, fill.qty, fill.price, fill.fee)
        self._counters["fills"] += 1
        log.info(
            "fill order=%s exec_id=%s qty=%s price=%s trace=%s",
            record.client_order_id,
            fill.exec_id,
            fill.qty,
            fill.price,
            record.trace_id or "-",
        )
        self._outbox.publish(fill_event(record, fill))

    def _impossible_fill(self, error: str) -> None:
        """A fill our order cannot take (beyond its qty, or on an order the venue never had):
        our view and the venue's disagree. Not journaled (a replay at start would fail on it
        too): counted, alerted, and reconciliation takes the venue's view."""
        self._counters["invalid_fills"] += 1
        self._outbox.alert(
            AlertSeverity.CRITICAL, "invalid_fill", f"{error}; not journaled, reconciling"
        )
        self._parts.reconcile_wanted.set()

    def _external_fill(self, execution: VenueFill) -> None:
        """A fill of an order we never sent (a venue-side stop-loss, a manual trade):
        journaled once by execId like ours, with an alert; positions follow from the venue.
        """
        owner = ClientOrderId(execution.order_link_id or f"venue-{execution.order_id}")
        fill = to_fill(owner, execution)
        self._registry.exec_ids.add(fill.exec_id)
        detail = {"external": "1", "symbol": execution.symbol, "side": execution.side}
        if not self._journal.record_fill(fill, self._clock.now_ns(), detail=detail):
            self._counters["duplicate_fills"] += 1
            return
        self._counters["external_fills"] += 1
        self._outbox.alert(
            AlertSeverity.WARNING,
            "external_fill",
            f"{execution.symbol} {execution.side} {execution.qty} @ {execution.price}"
            f" order_id={execution.order_id} stop_order_type={execution.stop_order_type}:"
            " an order we did not send (e.g. the venue-side stop-loss); journaled",
        )

    def on_position(self, info: wire.PositionInfo | wire.PositionEvent, ts_ns: int) -> None:
        if not self.checks.position_ok(info):
            return  # the position stays as it was: unknown is not flat
        position = to_position(info)
        seen = self._registry.position_seq.get(position.symbol, -1)
        if isinstance(info, wire.PositionInfo) and 0 <= info.seq < seen:
            # A REST answer read before a fill the stream has reported since: publishing it
            # would tell the strategy a position it no longer holds (e.g. flat while long).
            self._counters["stale_positions"] += 1
            return
        self._registry.position_seq[position.symbol] = info.seq
        if isinstance(info, wire.PositionEvent):
            self._registry.position_streamed_ns[position.symbol] = self._clock.now_ns()
        self._registry.positions[position.symbol] = position
        if position.qty != 0 and not decimal_or_none(info.stop_loss):
            self._parts.unprotected.add(position.symbol)
        else:
            self._parts.unprotected.discard(position.symbol)
        self._outbox.publish(position_changed(info, ts_ns))
