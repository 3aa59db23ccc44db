"""What follows a create's answer: accepted, rejected, or an unknown outcome resolved by
orderLinkId (order_core.after_lookup decides: adopt, resend the same orderLinkId only if
the venue never heard of it, or end it with a reason).
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from services.executor.journal_records import EventKind
from services.executor.order_core import Doubt, after_lookup, cancel_on_ack
from services.executor.order_state import OrderRecord
from services.executor.ports import Parts
from services.executor.registry import accepted_event
from services.executor.settings import ExecutorSettings
from services.executor.venue_calls import VenueCalls
from services.executor.venue_events import VenueEvents
from services.executor.venue_reports import VenueOrder, order_of
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.schema import (
    AlertSeverity,
    OrderRejected,
    OrderStatus,
    SubmitOrder,
    TradingState,
    VenueOrderId,
)

log = logging.getLogger(__name__)
S = OrderStatus
DUPLICATE_ORDER_LINK_ID: Final = 110072  # the venue has an order with this orderLinkId
Send = tuple[OrderRecord, SubmitOrder]


class OrderOutcomes:
    """Books a create's outcome; resolves an unknown one by orderLinkId."""

    def __init__(
        self,
        parts: Parts,
        settings: ExecutorSettings,
        events: VenueEvents,
        calls: VenueCalls,
        resend: Callable[[list[Send], int], None],
    ) -> None:
        self._parts = parts
        self._settings = settings
        self._events = events
        self._calls = calls
        self._resend = resend  # OrderFlow's dispatch: the slot and queue rules apply
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._counters = parts.counters
        self._outbox = parts.outbox
        # Set by Workers.build: OrderControl's cancel (it builds on the order flow).
        self.cancel_after_ack: Callable[[OrderRecord], None] = lambda record: None

    async def failed(
        self, record: OrderRecord, command: SubmitOrder, error: BybitError, resends: int
    ) -> None:
        """A create that got no answer, or a refusal: in doubt when the outcome is unknown
        (or an earlier copy is there: 110072), else rejected with the venue's reason."""
        if error.outcome_unknown or is_duplicate_id(error):
            await self.in_doubt(record, command, str(error), resends)
        else:
            code = error.ret_code if isinstance(error, VenueError) else 0
            reason = error.ret_msg if isinstance(error, VenueError) else str(error)
            self.rejected(record, reason, code)

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
        self._outbox.publish(accepted_event(record, venue_order_id, ts_ack_ns))
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

    async def in_doubt(
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
            self._resend([(record, command)], resends + 1)

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

    async def _lookup(self, record: OrderRecord, symbol: str) -> VenueOrder | None:
        """Query the venue a few times, paced; the order once it knows it (a report the
        checks refuse is counted, alerted, and asked for again)."""
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
            if found is not None and self._events.checks.order_ok(found):
                return order_of(found)
        return None

    async def query(self, symbol: str, coid: str) -> wire.Order | None:
        """The venue's report of one order by orderLinkId, as it came (the caller checks it
        and translates it: the edge)."""
        for call in (self._rest.open_orders, self._rest.order_history):
            orders = await call(symbol=symbol, order_link_id=coid)
            for order in orders:
                if order.order_link_id == coid:
                    return order
        return None

    def _adopt_venue_order(self, record: OrderRecord, order: VenueOrder) -> None:
        """An in-doubt order the venue knows: take its id and status (fills come as executions)."""
        status = order.status
        if status is S.REJECTED:
            self.rejected(record, order.reject_reason, 0)
            return
        self.accepted(record, order.order_id, self._clock.now_ns())
        if status not in (S.PARTIALLY_FILLED, S.FILLED):  # those come with their executions
            self._events.apply_status(record, status, "venue")


def is_duplicate_id(error: BybitError) -> bool:
    """A resent create refused because a copy sent earlier did reach the venue: the order
    exists, and is looked up by orderLinkId (never rejected: it may fill)."""
    return isinstance(error, VenueError) and error.ret_code == DUPLICATE_ORDER_LINK_ID
