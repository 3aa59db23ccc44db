"""What the executor's parts share: the outbox they publish through and the state they read."""

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from services.executor.journal import Journal
from services.executor.registry import OrderRegistry
from shared.bus import Publisher
from shared.bybit.rest import BybitRest
from shared.runtime.clock import Clock
from shared.runtime.metrics import LatencyWindow
from shared.schema import (
    Alert,
    AlertSeverity,
    BusMessage,
    ClientOrderId,
    OrderDenied,
    Symbol,
    TradingState,
    TradingStateChanged,
)

log = logging.getLogger(__name__)
SOURCE: Final = "executor"


@dataclass
class TradingStatus:
    """The trading state and whether the registry agrees with the venue; owned by the service."""

    state: TradingState = TradingState.REDUCING
    reason: str = "starting: not reconciled with the venue yet"
    reconciled: bool = False
    halted_by_journal: bool = False
    stream_up: bool = False  # the private websocket; while down, REST polling takes over
    rebase_daily_loss: bool = False  # an operator reset a halt: today's loss starts afresh


class Outbox:
    """Everything the executor publishes on exec.*: events, alerts, denials, state changes.

    While the journal holds writes of this turn not yet committed (group commits), what is
    published waits, in order, for that commit (`end_turn`): nothing goes out that is not
    journaled, and the order of events is the order of their writes.
    """

    def __init__(
        self,
        publisher: Publisher,
        clock: Clock,
        counters: Counter[str],
        status: TradingStatus,
        journal: Journal,
    ) -> None:
        self._publisher = publisher
        self._clock = clock
        self._counters = counters
        self._status = status
        self._journal = journal
        self._held: list[BusMessage] = []
        self._turn_scheduled = False

    def publish(self, message: BusMessage) -> None:
        if self._journal.pending or self._held:
            self._held.append(message)
            self.schedule_end_of_turn()
        else:
            self._publisher.send(message)

    def end_turn(self) -> None:
        """Commit the turn's journal writes, then publish what waited for them."""
        self._turn_scheduled = False
        self._journal.flush()
        held, self._held = self._held, []
        for message in held:
            self._publisher.send(message)

    def schedule_end_of_turn(self) -> None:
        """Once per turn: end_turn() after the callbacks already due (asyncio's call_soon)."""
        if not self._turn_scheduled:
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self.end_turn)

    def alert(self, severity: AlertSeverity, code: str, detail: str) -> None:
        self._counters[f"alert_{code}"] += 1
        log.warning("alert code=%s %s", code, detail)
        now = self._clock.now_ns()
        self.publish(
            Alert(source=SOURCE, severity=severity, code=code, detail=detail, ts_event_ns=now)
        )

    def set_state(self, state: TradingState, reason: str) -> None:
        """Change the trading state: logged with its reason, journaled (it survives a
        restart), then published."""
        previous = self._status.state
        self._status.state, self._status.reason = state, reason
        level = logging.WARNING if state is TradingState.HALTED else logging.INFO
        log.log(level, "trading state %s -> %s reason=%s", previous, state, reason)
        now = self._clock.now_ns()
        self._journal.record_trading_state(state, reason, now)
        self.publish(TradingStateChanged(state=state, reason=reason, ts_event_ns=now))

    def deny(self, command: BusMessage, reason: str) -> None:
        self._counters["denied"] += 1
        trace_id = getattr(command, "trace_id", "")
        log.info(
            "denied kind=%s order=%s reason=%s trace=%s",
            type(command).__name__,
            getattr(command, "client_order_id", "-"),
            reason,
            trace_id or "-",
        )
        self.publish(
            OrderDenied(
                client_order_id=ClientOrderId(getattr(command, "client_order_id", "")),
                strategy_id=getattr(command, "strategy_id", ""),
                command_kind=type(command).__name__,
                reason=reason,
                ts_event_ns=self._clock.now_ns(),
                trace_id=trace_id,
            )
        )


@dataclass(frozen=True)
class Parts:
    """The pieces of state the order flow, venue events and reconciliation share by reference.

    No lock: the workers run on one event loop and change this state only between awaits;
    an order with a request in flight (OrderRecord.in_flight) is left to that request's answer.
    """

    clock: Clock
    registry: OrderRegistry
    journal: Journal
    rest: BybitRest
    counters: Counter[str]
    status: TradingStatus
    outbox: Outbox
    reconcile_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    unprotected: set[Symbol] = field(default_factory=set)  # positions without a venue stop
    latency: LatencyWindow = field(default_factory=LatencyWindow)
