"""The order path's shell: a SubmitOrder (or a batch of them) to venue orders.

Synchronous from the command to the request's bytes: the decision (order_core), the
intent in the journal, and the request written to an idle venue connection, with no await
on the way (an asyncio wake-up costs 100 µs or more here). The answer is read by a task of
its own, so the next command does not wait for it; several orders are in flight at once,
up to `max_requests_in_flight` (further ones wait in a queue, in order). An unknown outcome
is resolved by orderLinkId; the same orderLinkId is sent again only if the venue never
heard of it.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

from services.executor.journal_records import EventKind
from services.executor.order_core import (
    Denied,
    Desk,
    Doubt,
    after_lookup,
    batch_refusal,
    cancel_on_ack,
    decide_submit,
)
from services.executor.order_state import OrderRecord
from services.executor.ports import Parts
from services.executor.registry import create_request
from services.executor.risk import RiskLimits
from services.executor.settings import ExecutorSettings
from services.executor.venue_calls import VenueCalls
from services.executor.venue_events import VenueEvents
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.bybit.rest import Timed
from shared.bybit.translate import InstrumentRules
from shared.bybit.translate import order_status as venue_status
from shared.bybit.wire_more import BatchItemResult
from shared.schema import (
    AlertSeverity,
    OrderAccepted,
    OrderRejected,
    OrderStatus,
    SubmitOrder,
    SubmitOrders,
    TradingState,
    VenueOrderId,
)

log = logging.getLogger(__name__)
S = OrderStatus
DUPLICATE_ORDER_LINK_ID: Final = 110072  # the venue has an order with this orderLinkId
Send = tuple[OrderRecord, SubmitOrder]


class OrderFlow:
    """Takes a SubmitOrder to a venue order: accepted, rejected, or resolved after doubt."""

    def __init__(
        self,
        parts: Parts,
        settings: ExecutorSettings,
        limits: RiskLimits,
        events: VenueEvents,
        calls: VenueCalls,
    ) -> None:
        self._parts = parts
        self._settings = settings
        self._limits = limits
        self._events = events
        self._calls = calls
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._counters = parts.counters
        self._outbox = parts.outbox
        self.rules: dict[str, InstrumentRules] = {}
        self._price_max_age_ns = int(settings.price_max_age_s * 1e9)
        # Sends beyond the in-flight cap, in order, with their resend count.
        self._waiting: deque[tuple[list[Send], int]] = deque()
        # Set by Workers.build: OrderControl's cancel (it builds on this flow).
        self.cancel_after_ack: Callable[[OrderRecord], None] = lambda record: None

    # ------------------------------------------------------------ decisions

    def desk(self, now_ns: int) -> Desk:
        """What the decisions read now (order_core.Desk)."""
        status, registry = self._parts.status, self._registry
        return Desk(
            now_ns=now_ns,
            state=status.state,
            reconciled=status.reconciled,
            limits=self._limits,
            rules=self.rules,
            exposure=registry.exposure(now_ns),
            fresh_price=lambda symbol: registry.price(symbol, now_ns, self._price_max_age_ns),
            known=registry.get,
            orders_refusal=lambda command, reduce_only: self._calls.orders_refusal(
                command.strategy_id, now_ns, reduce_only=reduce_only
            ),
        )

    def submit(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        """Decide, journal and send one order; no await (the answer is read by a task)."""
        now = self._clock.now_ns()
        verdict = decide_submit(command, self.desk(now))
        if isinstance(verdict, Denied):
            self._outbox.deny(command, verdict.reason)
            return
        self._registry.note_order(now)
        if (record := self._intend(verdict, ts_recv_ns)) is not None:
            self._dispatch([(record, verdict)])

    def submit_batch(self, command: SubmitOrders, ts_recv_ns: int) -> None:
        """Each order decided, journaled and answered on its own; the ones that pass go in
        one create-batch request (a single one alone goes as a plain create)."""
        strategies = {order.strategy_id for order in command.orders}
        size, strategy_id = len(command.orders), command.strategy_id
        refusal = batch_refusal("SubmitOrders", size, strategies, strategy_id)
        if refusal:
            for order in command.orders or (command,):
                self._outbox.deny(order, refusal)
            return
        sends: list[Send] = []
        for order in command.orders:
            now = self._clock.now_ns()
            verdict = decide_submit(order, self.desk(now))
            if isinstance(verdict, Denied):
                self._outbox.deny(order, verdict.reason)
                continue
            self._registry.note_order(now)
            if (record := self._intend(verdict, ts_recv_ns)) is not None:
                sends.append((record, verdict))
        if sends:
            self._dispatch(sends)

    def send_intent(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        """The executor's own orders (flatten): journaled and sent without the decision."""
        if (record := self._intend(command, ts_recv_ns)) is not None:
            self._dispatch([(record, command)])

    def _intend(self, command: SubmitOrder, ts_recv_ns: int) -> OrderRecord | None:
        """Intent before send, one commit holding the "sent" mark: after a crash either way
        the order is in doubt and is looked up by orderLinkId before anything else."""
        now = self._clock.now_ns()
        if not self._journal.record_intent(command, now, sent_ns=now):
            self._outbox.deny(command, f"duplicate client_order_id {command.client_order_id}")
            return None
        record = OrderRecord.from_command(command)
        record.ts_trigger_recv_ns = command.ts_trigger_recv_ns or ts_recv_ns
        record.ts_request_sent_ns = now
        record.apply_status(S.SUBMITTED)
        self._registry.add(record)
        return record

    # ------------------------------------------------------------ sending

    def _dispatch(self, sends: list[Send], resends: int = 0) -> None:
        """Send now if a slot is free, else queue behind the orders already waiting.

        From here the orders are in flight: a queued one is spoken for (reconciliation
        must not resend it), and a cancel of it waits for its ack.
        """
        for record, _ in sends:
            record.in_flight += 1
        if self._waiting or not self._calls.slot_free():
            self._counters["sends_queued"] += 1
            self._waiting.append((sends, resends))
            return
        self._send(sends, resends)

    def _send(self, sends: list[Send], resends: int) -> None:
        self._calls.creates_in_flight += 1
        try:
            self._start(sends, resends)
        except (BybitError, ValueError) as e:  # refused before anything was written
            self._answered([record for record, _ in sends])
            for record, _ in sends:
                self.rejected(record, f"not sent: {e}", 0)

    def _start(self, sends: list[Send], resends: int) -> None:
        if len(sends) == 1:
            record, command = sends[0]
            request = create_request(command)
            pending = self._rest.start_create_order(request)
            if pending is not None:
                record.ts_request_sent_ns = pending.sent_ns
            else:  # no idle connection, or the rate budget says wait: the async way
                self._counters["creates_not_at_once"] += 1
            answer = pending.result() if pending else self._rest.create_order_timed(request)
            self._calls.spawn(self._finish_one(record, command, answer, resends))
            return
        requests = [create_request(command) for _, command in sends]
        batch = self._rest.start_create_batch(requests)
        if batch is not None:
            for record, _ in sends:
                record.ts_request_sent_ns = batch.sent_ns
        else:
            self._counters["creates_not_at_once"] += 1
        answers = batch.result() if batch else self._rest.create_batch(requests)
        self._calls.spawn(self._finish_batch(sends, answers))

    def _next_waiting(self) -> None:
        """A request ended: send what waits, while slots are free."""
        while self._waiting and self._calls.slot_free():
            self._send(*self._waiting.popleft())

    async def _finish_one(
        self,
        record: OrderRecord,
        command: SubmitOrder,
        answer: Awaitable[Timed[wire.OrderIds]],
        resends: int,
    ) -> None:
        try:
            timed = await self._calls.orders_call(answer)
        except BybitError as e:
            self._answered([record])
            if e.outcome_unknown or _is_duplicate_id(e):  # a duplicate: an earlier copy got there
                await self._in_doubt(record, command, str(e), resends)
            else:
                self.rejected(record, str(getattr(e, "ret_msg", e)), getattr(e, "ret_code", 0))
            return
        self._answered([record])
        record.ts_request_sent_ns = timed.timing.sent_ns
        self.accepted(record, VenueOrderId(timed.value.order_id), timed.timing.received_ns)

    async def _finish_batch(
        self, sends: list[Send], answer: Awaitable[Timed[list[BatchItemResult]]]
    ) -> None:
        """Each order's own outcome; an unanswered batch is resolved order by order."""
        records = [record for record, _ in sends]
        try:
            timed = await self._calls.orders_call(answer)
        except BybitError as e:
            self._answered(records)
            for record, command in sends:
                if e.outcome_unknown or _is_duplicate_id(e):
                    await self._in_doubt(record, command, str(e), 0)
                else:
                    self.rejected(record, str(getattr(e, "ret_msg", e)), getattr(e, "ret_code", 0))
            return
        self._answered(records)
        self._counters["batches"] += 1
        items = {item.order_link_id: item for item in timed.value}
        for record, command in sends:
            record.ts_request_sent_ns = timed.timing.sent_ns
            item = items.get(record.client_order_id)
            if item is None:  # the answer left it out: ask the venue
                await self._in_doubt(record, command, "missing from the batch answer", 0)
            elif item.code == DUPLICATE_ORDER_LINK_ID:
                await self._in_doubt(record, command, item.message, 0)
            elif item.code == 0:
                self.accepted(record, VenueOrderId(item.order_id), timed.timing.received_ns)
            else:
                self.rejected(record, item.message, item.code)

    def _answered(self, records: list[OrderRecord]) -> None:
        """A create request ended: its slot is free for what waits."""
        for record in records:
            record.in_flight -= 1
        self._calls.creates_in_flight -= 1
        self._next_waiting()

    # ------------------------------------------------------------ outcomes

    def accepted(self, record: OrderRecord, venue_order_id: VenueOrderId, ts_ack_ns: int) -> None:
        ts_ack_ns = ts_ack_ns or self._clock.now_ns()
        record.record_ack(venue_order_id, ts_ack_ns)
        # The venue took it: it works there (and can be cancelled) even if the stream's
        # "New" is lost; a stream that told more already (a fill) is left as it is.
        took = record.status in (S.SUBMITTED, S.IN_DOUBT)
        if took:
            record.apply_status(S.ACCEPTED)
        self._registry.index(record)
        self._journal.record_ack(
            record.client_order_id,
            ts_ack_ns,
            venue_order_id,
            record.ts_request_sent_ns,
            S.ACCEPTED if took else None,
        )
        self._counters["accepted"] += 1
        sent, latency = record.ts_request_sent_ns, self._parts.latency
        log.info(
            "order accepted order=%s venue_order_id=%s sent_to_ack_us=%d trace=%s",
            record.client_order_id,
            venue_order_id,
            (ts_ack_ns - sent) // 1000 if 0 < sent <= ts_ack_ns else -1,
            record.trace_id or "-",
        )
        if 0 < record.ts_trigger_recv_ns <= sent:
            latency.add("tick_to_order", sent - record.ts_trigger_recv_ns)  # feed recv -> sent
        if 0 < sent <= ts_ack_ns:
            latency.add("order_to_ack", ts_ack_ns - sent)
        self._outbox.publish(
            OrderAccepted(
                client_order_id=record.client_order_id,
                venue_order_id=venue_order_id,
                strategy_id=record.strategy_id,
                symbol=record.symbol,
                ts_event_ns=ts_ack_ns,
                ts_trigger_recv_ns=record.ts_trigger_recv_ns,
                ts_request_sent_ns=record.ts_request_sent_ns,
                ts_ack_ns=record.ts_ack_ns,
                trace_id=record.trace_id,
            )
        )
        if cancel_on_ack(record, self._parts.status.state):
            self._counters["canceled_on_ack"] += 1
            self.cancel_after_ack(record)

    def rejected(self, record: OrderRecord, reason: str, code: int) -> None:
        now = self._clock.now_ns()
        if record.apply_status(S.REJECTED).value == "apply":
            self._journal.record_event(
                record.client_order_id,
                EventKind.STATUS,
                now,
                status=S.REJECTED,
                payload={"reason": reason, "venue_code": code},
            )
        self._counters["rejected"] += 1
        log.info(
            "order rejected order=%s code=%s reason=%s trace=%s",
            record.client_order_id,
            code,
            reason,
            record.trace_id or "-",
        )
        self._outbox.publish(
            OrderRejected(
                client_order_id=record.client_order_id,
                strategy_id=record.strategy_id,
                symbol=record.symbol,
                reason=reason,
                venue_code=code,
                ts_event_ns=now,
                trace_id=record.trace_id,
            )
        )

    async def _in_doubt(
        self, record: OrderRecord, command: SubmitOrder, error: str, resends: int
    ) -> None:
        """Ask the venue by orderLinkId; resend with the same id only if it does not know it."""
        coid = record.client_order_id
        self._counters["in_doubt"] += 1
        log.warning(
            "order in doubt order=%s error=%s trace=%s", coid, error, record.trace_id or "-"
        )
        status = S.IN_DOUBT if record.apply_status(S.IN_DOUBT).value == "apply" else None
        self._journal.record_event(
            coid, EventKind.IN_DOUBT, self._clock.now_ns(), status=status, payload={"error": error}
        )
        record.in_flight += 1  # the lookup speaks for it: reconciliation leaves it alone
        try:
            found = await self._lookup(record, command.symbol)
        finally:
            record.in_flight -= 1
        if found is not None:
            self._counters["in_doubt_resolved"] += 1
            self._adopt_venue_order(record, found)
            return
        self._after_unknown(record, command, resends)

    def _after_unknown(self, record: OrderRecord, command: SubmitOrder, resends: int) -> None:
        """The venue does not know the order: resend, reject, or leave it for later."""
        now = self._clock.now_ns()
        next_step = after_lookup(
            found=False,
            resends=resends,
            max_resends=self._settings.in_doubt_resends,
            expired=now > command.expires_at_ns,
            halted=self._parts.status.state is TradingState.HALTED,
            reduce_only=record.reduce_only,
        )
        if next_step is Doubt.REJECT_EXPIRED:
            self.rejected(record, "expired before the venue knew it: never placed", 0)
        elif next_step is Doubt.REJECT_HALTED:
            self.rejected(record, "halted before the venue knew it: never placed", 0)
        elif next_step is Doubt.GIVE_UP:
            self._outbox.alert(
                AlertSeverity.CRITICAL,
                "order_in_doubt",
                f"client_order_id={record.client_order_id}: unknown to the venue after"
                f" {resends} resends; left in doubt until the next reconciliation",
            )
        else:
            self._counters["in_doubt_resends"] += 1
            record.apply_status(S.SUBMITTED)
            record.ts_request_sent_ns = now
            self._journal.record_event(
                record.client_order_id, EventKind.RESEND, now, status=S.SUBMITTED
            )
            self._dispatch([(record, command)], resends + 1)

    def resend_unknown(self, record: OrderRecord) -> None:
        """An order the venue does not know (asked by orderLinkId by reconciliation): sent
        again under the same orderLinkId while its command has not expired (a copy that did
        arrive meanwhile is refused as a duplicate id, and then found); after that it is
        rejected, so that every intent ends with an answer."""
        journaled = self._journal.find(record.client_order_id)
        if journaled is None:
            self.rejected(record, "not in the journal and unknown to the venue: never placed", 0)
            return
        self._after_unknown(record, journaled.command, 0)

    async def _lookup(self, record: OrderRecord, symbol: str) -> wire.Order | None:
        """Query the venue a few times, paced; the order once it knows it."""
        coid = record.client_order_id
        for attempt in range(self._settings.in_doubt_queries):
            if attempt:
                await asyncio.sleep(self._settings.in_doubt_query_interval_s)  # pacing
            try:
                found = await self.query(symbol, coid)
            except BybitError as e:
                log.warning(
                    "in-doubt query failed order=%s error=%s trace=%s",
                    coid,
                    e,
                    record.trace_id or "-",
                )
                continue
            if found is not None:
                return found
        return None

    async def query(self, symbol: str, coid: str) -> wire.Order | None:
        for call in (self._rest.open_orders, self._rest.order_history):
            orders = await self._calls.queries_call(call(symbol=symbol, order_link_id=coid))
            for order in orders:
                if order.order_link_id == coid:
                    return order
        return None

    def _adopt_venue_order(self, record: OrderRecord, order: wire.Order) -> None:
        """An in-doubt order the venue knows: take its id and status (fills come as executions)."""
        status = venue_status(order.order_status, order.cum_exec_qty, order.qty)
        if status is S.REJECTED:
            self.rejected(record, order.reject_reason, 0)
            return
        self.accepted(record, VenueOrderId(order.order_id), self._clock.now_ns())
        if status not in (S.PARTIALLY_FILLED, S.FILLED):  # those come with their executions
            self._events.apply_status(record, status, "venue")


def _is_duplicate_id(error: BybitError) -> bool:
    """A resent create refused because a copy sent earlier did reach the venue: the order
    exists, and is looked up by orderLinkId (never rejected: it may fill)."""
    return isinstance(error, VenueError) and error.ret_code == DUPLICATE_ORDER_LINK_ID
