"""The order path: checks, intent before send, create, and in-doubt resolution by orderLinkId."""

import asyncio
import logging
from decimal import Decimal

from services.executor.journal_records import EventKind
from services.executor.order_state import OrderRecord
from services.executor.ports import Parts
from services.executor.registry import create_request
from services.executor.risk import RiskLimits, check_order, quantize_order
from services.executor.settings import ExecutorSettings
from services.executor.venue_events import VenueEvents
from shared.bybit import wire
from shared.bybit.errors import BybitError
from shared.bybit.translate import InstrumentRules
from shared.bybit.translate import order_status as venue_status
from shared.order_ids import parse_client_order_id
from shared.schema import (
    AlertSeverity,
    OrderAccepted,
    OrderRejected,
    OrderStatus,
    SubmitOrder,
    TradingState,
    VenueOrderId,
)

log = logging.getLogger(__name__)
S = OrderStatus


class OrderFlow:
    """Takes a SubmitOrder to a venue order: accepted, rejected, or resolved after doubt."""

    def __init__(
        self, parts: Parts, settings: ExecutorSettings, limits: RiskLimits, events: VenueEvents
    ) -> None:
        self._parts = parts
        self._settings = settings
        self._limits = limits
        self._events = events
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._counters = parts.counters
        self._outbox = parts.outbox
        self.rules: dict[str, InstrumentRules] = {}
        self._price_max_age_ns = int(settings.price_max_age_s * 1e9)

    async def submit(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        now = self._clock.now_ns()
        parts = parse_client_order_id(command.client_order_id)
        if parts is None or parts.strategy_id != command.strategy_id:
            self._outbox.deny(
                command, f"client_order_id {command.client_order_id} is not this strategy's id"
            )
            return
        known = self._registry.get(command.client_order_id)  # older ones: record_intent refuses
        if known is not None:
            self._outbox.deny(
                command, f"duplicate client_order_id {command.client_order_id} ({known.status})"
            )
            return
        rules = self.rules.get(command.symbol)
        if rules is None:
            self._outbox.deny(
                command, f"symbol {command.symbol} not in allowed_symbols or not trading"
            )
            return
        await self._check_and_send(command, rules, ts_recv_ns, now)

    async def _check_and_send(
        self, command: SubmitOrder, rules: InstrumentRules, ts_recv_ns: int, now: int
    ) -> None:
        price = await self.last_price(command.symbol)
        quantized = quantize_order(command, rules, price)
        if isinstance(quantized, str):
            self._outbox.deny(command, quantized)
            return
        status = self._parts.status
        exposure = self._registry.exposure(now)
        reason = check_order(
            quantized, self._limits, exposure, status.state, status.reconciled, now
        )
        if reason:
            self._outbox.deny(command, reason)
            return
        self._registry.note_order(now)
        await self.send_intent(quantized, ts_recv_ns)

    async def send_intent(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        """Intent before send; then create; an unknown outcome is resolved by orderLinkId."""
        coid, now = command.client_order_id, self._clock.now_ns()
        # One commit (one fsync) holds the intent and its "sent" mark: after a crash either
        # way the order is in doubt and is looked up by orderLinkId before anything else.
        if not self._journal.record_intent(command, now, sent_ns=now):
            self._outbox.deny(command, f"duplicate client_order_id {coid} (journal)")
            return
        record = OrderRecord.from_command(command)
        record.ts_trigger_recv_ns = command.ts_trigger_recv_ns or ts_recv_ns
        self._registry.add(record)
        record.ts_request_sent_ns = now
        record.apply_status(S.SUBMITTED)
        await self._create(record, command)

    async def _create(self, record: OrderRecord, command: SubmitOrder, resends: int = 0) -> None:
        try:
            ids = await self._rest.create_order(create_request(command), retry=False)
            timing = self._rest.last_timing  # no await since the call: ours
        except BybitError as e:
            if e.outcome_unknown:
                await self._in_doubt(record, command, e, resends)
            else:
                self.rejected(record, str(getattr(e, "ret_msg", e)), getattr(e, "ret_code", 0))
            return
        if timing is not None:
            record.ts_request_sent_ns = timing.sent_ns
        self.accepted(record, VenueOrderId(ids.order_id), timing.received_ns if timing else 0)

    def accepted(self, record: OrderRecord, venue_order_id: VenueOrderId, ts_ack_ns: int) -> None:
        ts_ack_ns = ts_ack_ns or self._clock.now_ns()
        record.record_ack(venue_order_id, ts_ack_ns)
        self._registry.index(record)
        self._journal.record_ack(
            record.client_order_id, ts_ack_ns, venue_order_id, record.ts_request_sent_ns
        )
        self._counters["accepted"] += 1
        sent, latency = record.ts_request_sent_ns, self._parts.latency
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
            )
        )

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
        self._outbox.publish(
            OrderRejected(
                client_order_id=record.client_order_id,
                strategy_id=record.strategy_id,
                symbol=record.symbol,
                reason=reason,
                venue_code=code,
                ts_event_ns=now,
            )
        )

    async def _in_doubt(
        self, record: OrderRecord, command: SubmitOrder, error: BybitError, resends: int
    ) -> None:
        """Ask the venue by orderLinkId; resend with the same id only if it does not know it."""
        coid = record.client_order_id
        self._counters["in_doubt"] += 1
        log.warning("order in doubt client_order_id=%s error=%s", coid, error)
        status = S.IN_DOUBT if record.apply_status(S.IN_DOUBT).value == "apply" else None
        self._journal.record_event(
            coid,
            EventKind.IN_DOUBT,
            self._clock.now_ns(),
            status=status,
            payload={"error": str(error)},
        )
        if await self._resolve_by_link_id(record, command.symbol):
            return
        if resends >= self._settings.in_doubt_resends:
            self._outbox.alert(
                AlertSeverity.CRITICAL,
                "order_in_doubt",
                f"client_order_id={coid}: unknown to the venue after {resends} resends; left in"
                " doubt until the next reconciliation",
            )
            return
        self._counters["in_doubt_resends"] += 1
        record.apply_status(S.SUBMITTED)
        record.ts_request_sent_ns = self._clock.now_ns()
        self._journal.record_event(
            coid, EventKind.RESEND, record.ts_request_sent_ns, status=S.SUBMITTED
        )
        await self._create(record, command, resends + 1)

    async def resend_unknown(self, record: OrderRecord) -> None:
        """An order the venue does not know (asked by orderLinkId): it never got there.

        Sent again under the same orderLinkId while its command has not expired (a copy
        that did arrive meanwhile is refused as a duplicate id, and then found); after
        that it is rejected, so that every intent ends with an answer.
        """
        journaled = self._journal.find(record.client_order_id)
        if journaled is None or self._clock.now_ns() > journaled.command.expires_at_ns:
            self.rejected(record, "expired before the venue knew it: never placed", 0)
            return
        if self._parts.status.state is TradingState.HALTED and not record.reduce_only:
            self.rejected(record, "halted before the venue knew it: never placed", 0)
            return
        self._counters["in_doubt_resends"] += 1
        record.apply_status(S.SUBMITTED)
        record.ts_request_sent_ns = self._clock.now_ns()
        self._journal.record_event(
            record.client_order_id, EventKind.RESEND, record.ts_request_sent_ns, status=S.SUBMITTED
        )
        await self._create(record, journaled.command, self._settings.in_doubt_resends)

    async def _resolve_by_link_id(self, record: OrderRecord, symbol: str) -> bool:
        """Query the venue a few times; True once it knows the order (and it is adopted)."""
        coid = record.client_order_id
        for attempt in range(self._settings.in_doubt_queries):
            if attempt:
                await asyncio.sleep(self._settings.in_doubt_query_interval_s)
            try:
                found = await self.query(symbol, coid)
            except BybitError as e:
                log.warning("in-doubt query failed client_order_id=%s error=%s", coid, e)
                continue
            if found is not None:
                self._counters["in_doubt_resolved"] += 1
                self._adopt_venue_order(record, found)
                return True
        return False

    async def query(self, symbol: str, coid: str) -> wire.Order | None:
        for call in (self._rest.open_orders, self._rest.order_history):
            orders = await call(symbol=symbol, order_link_id=coid)
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

    async def last_price(self, symbol: str) -> Decimal | None:
        price = self._registry.price(symbol, self._clock.now_ns(), self._price_max_age_ns)
        if price is None:
            for ticker in await self._rest.tickers(symbol):
                if ticker.symbol == symbol and self._events.checks.ticker_ok(ticker):
                    price = ticker.last_price
                    self._registry.set_price(symbol, price, self._clock.now_ns())
        return price
