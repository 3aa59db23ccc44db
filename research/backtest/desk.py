"""The executor's part in a backtest: decide a command, call the venue, answer the strategy.

A thin stand-in built from the live executor's pure pieces: `order_core.decide_submit` on a
`Desk` (the instrument's grid through `risk.quantize_order`, the last-line `risk.check_order`,
the per-strategy rate limit of `order_budget`), `decide_cancel`, the `OrderRegistry` that
keeps records, exposure and positions, `registry.create_request` for the venue request with
the client order id as orderLinkId, and the report core (reports.py) for what the venue says
later. What it leaves out, having no network: the journal, in-doubt outcomes and resends,
the breakers, the guard's venue stop, the dead-man's switch, reconciliation runs.

Amends as live (`decide_amend` on the registry's record); a batch checked as a whole
(`batch_refusal`), then each order decided, denied and sent as its own venue call.

Three steps, each at its own time (the engine schedules them): `command` when the strategy
emits it (a denial is answered at once, an accepted order becomes a `VenueCall`); `perform`
when the call reaches the venue; `answered` when the venue's answer is back (the ack, a
rejection, a refused cancel), followed by the reports that call caused.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from research.backtest.desk_parts import amended_event, batch_items
from services.executor.amends import amend_request
from services.executor.order_core import (
    AmendPlan,
    Denied,
    Desk,
    awaiting_ack,
    batch_refusal,
    decide_amend,
    decide_cancel,
    decide_submit,
)
from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from services.executor.registry import OrderRegistry, accepted_event, create_request
from services.executor.settings import ExecutorSettings
from services.simulator.venue import Venue, VenueError
from services.strategy.api import Command
from shared.bybit import wire
from shared.bybit.translate import InstrumentRules
from shared.schema import (
    AmendOrder,
    AmendOrders,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    ExecutionSnapshot,
    OrderDenied,
    OrderRejected,
    OrderStatus,
    SubmitOrder,
    SubmitOrders,
    Trade,
    TradingState,
    VenueOrderId,
)

ACCOUNT = "backtest"  # the venue account every order of the run goes to
S = OrderStatus
Single = SubmitOrder | CancelOrder | AmendOrder | CancelAllOrders  # a command of one order


@dataclass(frozen=True, slots=True)
class VenueCall:
    """A call on its way to the venue; `command` the strategy's, if any; `plan` an amend's."""

    kind: Literal["create", "amend", "cancel"]
    record: OrderRecord
    command: Command | None
    plan: AmendPlan | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The venue's answer to a call: its order id, or the refusal's code and message."""

    call: VenueCall
    venue_order_id: str = ""
    code: int = 0
    message: str = ""


Step = tuple[list[BusMessage], list[VenueCall]]


class BacktestDesk:
    """The executor stand-in (see the module docstring); `registry` is the executor's."""

    def __init__(
        self, settings: ExecutorSettings, rules: InstrumentRules, *more: InstrumentRules
    ) -> None:
        """`rules`: the instrument rules of the run's symbol, and of each other one."""
        self.registry = OrderRegistry()
        self.counters: Counter[str] = Counter()
        self._limits = settings.risk_limits()
        self._rates = settings.strategy_rates()
        self._rules = {each.symbol: each for each in (rules, *more)}
        self._price_age_ns = int(settings.price_max_age_s * 1e9)
        self.state = TradingState.ACTIVE

    def on_market(self, message: BusMessage) -> None:
        """The executor follows the feed's trades: the last price risk checks against."""
        if isinstance(message, Trade):
            self.registry.set_price(message.symbol, message.price, message.ts_recv_ns)

    def snapshot(self, now_ns: int) -> ExecutionSnapshot:
        """The reconciled snapshot a strategy (re)joins from."""
        return self.registry.snapshot(self.state, True, now_ns)

    # -- commands (at the strategy's time)

    def command(self, command: Command, now_ns: int) -> Step:
        """A strategy's command: a denial now, or the venue calls to make."""
        if isinstance(command, SubmitOrder):
            return self._submit(command, now_ns)
        if isinstance(command, CancelOrder):
            return self._cancel_one(command, now_ns)
        if isinstance(command, AmendOrder):
            return self._amend(command, now_ns)
        if isinstance(command, SubmitOrders | AmendOrders | CancelOrders):
            return self._batch(command, now_ns)
        return self._cancel_all(command)

    def _batch(self, command: SubmitOrders | AmendOrders | CancelOrders, now_ns: int) -> Step:
        """Checked as a whole, then each order decided and answered on its own."""
        items = batch_items(command)
        kind, strategies = type(command).__name__, {i.strategy_id for i in items}
        refusal = batch_refusal(kind, len(items), strategies, command.strategy_id)
        self.counters[f"batch_{kind}"] += 1
        messages: list[BusMessage] = []
        calls: list[VenueCall] = []
        for item in items:
            if refusal:
                messages.append(self._deny(item, refusal, now_ns))
                continue
            denials, more = self.command(item, now_ns)
            messages += denials
            calls += more
        return messages, calls

    def _cancel_one(self, command: CancelOrder, now_ns: int) -> Step:
        verdict = decide_cancel(command, self.registry.get(command.client_order_id))
        if isinstance(verdict, Denied):
            return [self._deny(command, verdict.reason, now_ns)], []
        return [], self._cancel(verdict, command)

    def _amend(self, command: AmendOrder, now_ns: int) -> Step:
        """A working limit order's new qty and/or price, decided as the executor does."""
        record = self.registry.get(command.client_order_id)
        original = None if record is None else record.as_command(now_ns)
        plan = decide_amend(command, record, original, self._desk(now_ns))
        if isinstance(plan, Denied):
            return [self._deny(command, plan.reason, now_ns)], []
        plan.record.in_flight += 1
        self.counters["amends"] += 1
        return [], [VenueCall("amend", plan.record, command, plan)]

    def _cancel_all(self, command: CancelAllOrders) -> Step:
        calls: list[VenueCall] = []
        for record in self.registry.open_records():
            mine = record.strategy_id == command.strategy_id
            if mine and command.symbol in (None, record.symbol):
                calls += self._cancel(record, command)
        return [], calls

    def _desk(self, now_ns: int) -> Desk:
        registry = self.registry
        return Desk(
            now_ns=now_ns,
            state=self.state,
            reconciled=True,
            limits=self._limits,
            rules=self._rules,
            exposure=registry.exposure(now_ns),
            fresh_price=lambda symbol: registry.price(symbol, now_ns, self._price_age_ns),
            known=registry.get,
            orders_refusal=lambda c, reduce_only: self._rates.check(c.strategy_id, now_ns),
        )

    def _submit(self, command: SubmitOrder, now_ns: int) -> Step:
        registry = self.registry
        verdict = decide_submit(command, self._desk(now_ns))
        if isinstance(verdict, Denied):
            return [self._deny(command, verdict.reason, now_ns)], []
        self._rates.note(verdict.strategy_id, now_ns)
        registry.note_order(now_ns)
        record = OrderRecord.from_command(verdict)
        registry.add(record)
        record.apply_status(S.SUBMITTED)
        record.ts_request_sent_ns = now_ns
        record.in_flight = 1
        self.counters["submitted"] += 1
        return [], [VenueCall("create", record, verdict)]

    def _cancel(self, record: OrderRecord, command: Command) -> list[VenueCall]:
        if awaiting_ack(record):  # the venue may not know it yet: cancel once acked
            record.cancel_on_ack = True
            self.counters["cancels_after_ack"] += 1
            return []
        if record.status not in CANCELABLE_STATUSES:
            return []
        return [VenueCall("cancel", record, command)]

    def _deny(self, command: Single, reason: str, now_ns: int) -> OrderDenied:
        self.counters["denied"] += 1
        return OrderDenied(
            client_order_id=getattr(command, "client_order_id", ClientOrderId("")),
            strategy_id=command.strategy_id,
            command_kind=type(command).__name__,
            reason=reason,
            ts_event_ns=now_ns,
            trace_id=command.trace_id,
        )

    # -- at the venue (at the call's arrival)

    def perform(self, call: VenueCall, venue: Venue, now_ns: int) -> Answer:
        """Make the call at the venue's time `now_ns`; the reports wait in the venue."""
        record, now_ms = call.record, now_ns // 1_000_000
        try:
            if call.kind == "create":
                assert isinstance(call.command, SubmitOrder)
                ids = venue.create_order(ACCOUNT, create_request(call.command), now_ms)
            elif call.kind == "amend":
                assert call.plan is not None
                ids = venue.amend_order(ACCOUNT, amend_request(call.plan), now_ms)
            else:
                request = wire.OrderCancelRequest(
                    symbol=record.symbol, order_link_id=record.client_order_id
                )
                ids = venue.cancel_order(ACCOUNT, request, now_ms)
        except VenueError as e:
            return Answer(call, code=e.code, message=e.msg)
        return Answer(call, venue_order_id=ids.order_id)

    # -- back at the executor (after the response latency)

    def answered(self, answer: Answer, now_ns: int) -> Step:
        """The venue's answer to a call: what the executor publishes, and any cancel that
        was waiting for the ack."""
        call, record = answer.call, answer.call.record
        if call.kind == "amend":
            return self._amend_answered(answer, now_ns), []
        if call.kind == "cancel":
            if answer.code:
                self.counters["cancels_refused"] += 1
                reason = f"cancel of {record.client_order_id} refused: {answer.message}"
                if isinstance(call.command, CancelOrder | CancelAllOrders):
                    return [self._deny(call.command, reason, now_ns)], []
                return [], []
            if record.status in CANCELABLE_STATUSES:
                record.apply_status(S.PENDING_CANCEL)
            return [], []
        record.in_flight = 0
        if answer.code:
            self.counters["rejected"] += 1
            record.apply_status(S.REJECTED)
            return [self._rejected(record, answer, now_ns)], []
        return self._accepted(record, VenueOrderId(answer.venue_order_id), now_ns)

    def _accepted(self, record: OrderRecord, venue_order_id: VenueOrderId, now_ns: int) -> Step:
        record.record_ack(venue_order_id, now_ns)
        if record.status in (S.SUBMITTED, S.IN_DOUBT):
            record.apply_status(S.ACCEPTED)
        self.registry.index(record)
        self.counters["accepted"] += 1
        accepted = accepted_event(record, venue_order_id, now_ns)
        calls: list[VenueCall] = []
        if record.cancel_on_ack and not record.is_terminal:
            self.counters["canceled_on_ack"] += 1
            calls.append(VenueCall("cancel", record, None))
        return [accepted], calls

    def _rejected(self, record: OrderRecord, answer: Answer, now_ns: int) -> OrderRejected:
        return OrderRejected(
            client_order_id=record.client_order_id,
            strategy_id=record.strategy_id,
            symbol=record.symbol,
            reason=answer.message,
            venue_code=answer.code,
            ts_event_ns=now_ns,
            trace_id=record.trace_id,
        )

    def _amend_answered(self, answer: Answer, now_ns: int) -> list[BusMessage]:
        """The venue took the amend (the record resized, OrderAmended) or refused it."""
        call, record, plan = answer.call, answer.call.record, answer.call.plan
        assert isinstance(call.command, AmendOrder)
        assert plan is not None
        record.in_flight = max(0, record.in_flight - 1)
        if answer.code:
            self.counters["amends_refused"] += 1
            reason = f"amend of {record.client_order_id} refused: {answer.message}"
            return [self._deny(call.command, reason, now_ns)]
        record.resize(plan.qty, plan.limit_price)
        self.counters["amended"] += 1
        return [amended_event(record, plan, call.command, now_ns)]
