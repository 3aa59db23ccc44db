"""Amends of working limit orders, one or a batch (Bybit's amend and amend-batch).

Each amend is decided on its own (order_core.decide_amend: the order as the registry holds
it, checked as a new order of that size) and the ones that pass go in one request, written
without an await where a connection is idle. Each accepted amend is journaled and published
(OrderAmended, with its command's receive, request and answer times); a refused one is an
OrderDenied with the venue's reason. A qty decrease keeps the order's queue place at the
venue; a new price or a larger qty is a new place.
"""

from collections.abc import Awaitable, Sequence
from decimal import Decimal

from services.executor.journal_records import EventKind
from services.executor.order_core import AmendPlan, Denied, Desk, batch_refusal, decide_amend
from services.executor.order_flow import OrderFlow
from services.executor.ports import Parts
from services.executor.venue_calls import VenueCalls
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.bybit.rest import Timed, Timing
from shared.bybit.wire_more import BatchItemResult
from shared.schema import AmendOrder, AmendOrders, OrderAmended, VenueOrderId


class Amends:
    """Amends working limit orders; answers each amend on its own."""

    def __init__(self, parts: Parts, flow: OrderFlow, calls: VenueCalls) -> None:
        self._parts = parts
        self._flow = flow
        self._calls = calls
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._outbox = parts.outbox

    def amend(self, command: AmendOrder, ts_recv_ns: int) -> None:
        """Change a working limit order's qty and/or price, after the same last-line checks."""
        plan = self._decide_amend(command, self._flow.desk(self._clock.now_ns()))
        if isinstance(plan, Denied):
            self._outbox.deny(command, plan.reason)
            return
        request = amend_request(plan)
        pending = self._rest.start_amend_order(request, retry=True)
        answer = pending.result() if pending else self._rest.amend_order_timed(request, True)
        plan.record.in_flight += 1
        self._calls.spawn(self._finish_amends([(plan, command)], answer, ts_recv_ns))

    def amend_batch(self, command: AmendOrders, ts_recv_ns: int) -> None:
        """Each amend decided and answered on its own; the ones that pass in one request."""
        strategies = {a.strategy_id for a in command.amends}
        size, strategy_id = len(command.amends), command.strategy_id
        refusal = batch_refusal("AmendOrders", size, strategies, strategy_id)
        plans: list[tuple[AmendPlan, AmendOrder]] = []
        desk = self._flow.desk(self._clock.now_ns())  # one view for the batch: amends move
        for amend in command.amends:  # no order in or out, so the open orders stay as they are
            plan = Denied(refusal) if refusal else self._decide_amend(amend, desk)
            if isinstance(plan, Denied):
                self._outbox.deny(amend, plan.reason)
            else:
                plans.append((plan, amend))
        if not plans:
            return
        requests = [amend_request(plan) for plan, _ in plans]
        pending = self._rest.start_amend_batch(requests, retry=True)
        answer = pending.result() if pending else self._rest.amend_batch(requests, retry=True)
        for plan, _ in plans:
            plan.record.in_flight += 1
        self._calls.spawn(self._finish_amends(plans, answer, ts_recv_ns))

    def _decide_amend(self, command: AmendOrder, desk: Desk) -> AmendPlan | Denied:
        """The registry's record is the order as it stands (amends applied): no journal read."""
        record = self._registry.get(command.client_order_id)
        original = None if record is None else record.as_command(desk.now_ns)
        return decide_amend(command, record, original, desk)

    async def _finish_amends(
        self,
        plans: Sequence[tuple[AmendPlan, AmendOrder]],
        answer: Awaitable[Timed[wire.OrderIds] | Timed[list[BatchItemResult]]],
        ts_recv_ns: int,
    ) -> None:
        """Each amend's own outcome: its new qty and price kept, journaled and published
        (OrderAmended), or denied with the venue's reason."""
        try:
            timed = await answer
        except BybitError as e:
            for plan, command in plans:
                plan.record.in_flight -= 1
                why = e.ret_msg if isinstance(e, VenueError) else f"outcome unknown: {e}"
                self._outbox.deny(command, f"amend of {plan.record.client_order_id}: {why}")
            return
        refusals: dict[str, str] = {}
        if isinstance(timed.value, list):  # a batch: each order's own answer
            items = {item.order_link_id: item for item in timed.value}
            for plan, _ in plans:
                item = items.get(plan.record.client_order_id)
                if item is None or item.code != 0:
                    reason = "missing from the batch answer" if item is None else item.message
                    refusals[plan.record.client_order_id] = reason
        for plan, command in plans:
            plan.record.in_flight -= 1
            refused = refusals.get(plan.record.client_order_id)
            if refused is not None:
                coid = plan.record.client_order_id
                self._outbox.deny(command, f"amend of {coid} refused: {refused}")
            else:
                self._amended(plan, command, timed.timing, ts_recv_ns)

    def _amended(
        self, plan: AmendPlan, command: AmendOrder, timing: Timing, ts_recv_ns: int
    ) -> None:
        record = plan.record
        record.resize(plan.qty, plan.limit_price)
        payload = {"qty": str(plan.qty), "limit_price": str(plan.limit_price)}
        now = self._clock.now_ns()
        self._journal.record_event(record.client_order_id, EventKind.AMEND, now, payload=payload)
        self._parts.counters["amended"] += 1
        if 0 < ts_recv_ns <= timing.sent_ns:
            self._parts.latency.add("amend_to_send", timing.sent_ns - ts_recv_ns)
        self._outbox.publish(
            OrderAmended(
                client_order_id=record.client_order_id,
                venue_order_id=record.venue_order_id or VenueOrderId(""),
                strategy_id=record.strategy_id,
                symbol=record.symbol,
                qty=plan.qty,
                limit_price=plan.limit_price,
                ts_event_ns=now,
                ts_command_recv_ns=ts_recv_ns,
                ts_request_sent_ns=timing.sent_ns,
                ts_ack_ns=timing.received_ns,
                trace_id=command.trace_id,
            )
        )


def amend_request(plan: AmendPlan) -> wire.OrderAmendRequest:
    """The venue request of an amend (only what changes); the backtest's desk writes it too."""
    return wire.OrderAmendRequest(
        symbol=plan.record.symbol,
        order_link_id=plan.record.client_order_id,
        qty=_text(plan.qty) if plan.qty_changed else None,
        price=_text(plan.limit_price) if plan.price_changed else None,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
