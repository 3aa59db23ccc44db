"""The order path's shell: a SubmitOrder (or a batch of them) to venue orders.

Synchronous from the command to the request's bytes: the decision (order_core), the
intent in the journal, and the request written to an idle venue connection, with no await
on the way (an asyncio wake-up costs 100 µs or more here). The answer is read by a task of
its own, so the next command does not wait for it; several orders are in flight at once,
up to `max_requests_in_flight` (further ones wait in a queue, in order). An unknown outcome
is resolved by orderLinkId (order_outcomes.py).
"""

import logging
from collections import deque
from collections.abc import Awaitable

from services.executor.order_core import (
    Denied,
    Desk,
    batch_refusal,
    decide_submit,
)
from services.executor.order_outcomes import DUPLICATE_ORDER_LINK_ID, OrderOutcomes, Send
from services.executor.order_state import OrderRecord
from services.executor.ports import Parts
from services.executor.registry import create_request
from services.executor.risk import RiskLimits
from services.executor.settings import ExecutorSettings
from services.executor.venue_calls import VenueCalls
from services.executor.venue_events import VenueEvents
from shared.bybit import wire
from shared.bybit.errors import BybitError
from shared.bybit.rest import Timed
from shared.bybit.translate import InstrumentRules
from shared.bybit.wire_more import BatchItemResult
from shared.schema import (
    OrderStatus,
    SubmitOrder,
    SubmitOrders,
    VenueOrderId,
)

log = logging.getLogger(__name__)
S = OrderStatus


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
        self.outcomes = OrderOutcomes(parts, settings, events, calls, self._dispatch)

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
                self.outcomes.rejected(record, f"not sent: {e}", 0)

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
            timed = await answer
        except BybitError as e:
            self._answered([record])
            await self.outcomes.failed(record, command, e, resends)
            return
        self._answered([record])
        record.ts_request_sent_ns = timed.timing.sent_ns
        self.outcomes.accepted(record, VenueOrderId(timed.value.order_id), timed.timing.received_ns)

    async def _finish_batch(
        self, sends: list[Send], answer: Awaitable[Timed[list[BatchItemResult]]]
    ) -> None:
        """Each order's own outcome; an unanswered batch is resolved order by order."""
        records = [record for record, _ in sends]
        try:
            timed = await answer
        except BybitError as e:
            self._answered(records)
            for record, command in sends:
                await self.outcomes.failed(record, command, e, 0)
            return
        self._answered(records)
        self._counters["batches"] += 1
        items = {item.order_link_id: item for item in timed.value}
        outcomes = self.outcomes
        for record, command in sends:
            record.ts_request_sent_ns = timed.timing.sent_ns
            item = items.get(record.client_order_id)
            if item is None:  # the answer left it out: ask the venue
                await outcomes.in_doubt(record, command, "missing from the batch answer", 0)
            elif item.code == DUPLICATE_ORDER_LINK_ID:
                await outcomes.in_doubt(record, command, item.message, 0)
            elif item.code == 0:
                outcomes.accepted(record, VenueOrderId(item.order_id), timed.timing.received_ns)
            else:
                outcomes.rejected(record, item.message, item.code)

    def _answered(self, records: list[OrderRecord]) -> None:
        """A create request ended: its slot is free for what waits."""
        for record in records:
            record.in_flight -= 1
        self._calls.creates_in_flight -= 1
        self._next_waiting()
