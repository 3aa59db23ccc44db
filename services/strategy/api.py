"""What every strategy offers its service (live or replay): messages in, outputs out.

A strategy is a pure state machine: it never reads a clock or a socket. The service passes
each bus message with the time it was received (`now_ns`), calls `on_timer` periodically,
sends the commands it gets back, publishes the alerts, and logs the transitions.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias, TypeGuard

from shared.schema import (
    Alert,
    AlertSeverity,
    AmendOrder,
    AmendOrders,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    InstrumentRules,
    StrategyStatus,
    SubmitOrder,
    SubmitOrders,
)

ALERT_SOURCE = "strategy"


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, for the log and the status: from, to, and why."""

    from_state: str
    to_state: str
    reason: str
    ts_ns: int
    trace_id: str = ""  # the latest market-data frame when it happened (for the log)


@dataclass(frozen=True, slots=True)
class EntrySkipped:
    """A signal that could not become an order (sizing, rules), for the service's log.

    Emitted when the reason changes, not on every tick; every skip is also counted.
    """

    reason: str
    ts_ns: int
    trace_id: str = ""  # the frame whose signal could not become an order


@dataclass(frozen=True, slots=True)
class Resync:
    """Ask these publishers' snapshots again (the Clone pattern's join): what the strategy
    waits for may have been lost on the bus, and a lost message is no gap until the next
    one on its topic arrives. Peers: "scanner", "feed", "executor"."""

    peers: tuple[str, ...]
    reason: str
    ts_ns: int


Command: TypeAlias = (
    SubmitOrder
    | CancelOrder
    | CancelAllOrders
    | AmendOrder
    | SubmitOrders
    | AmendOrders
    | CancelOrders
)
COMMANDS: Final = (
    SubmitOrder,
    CancelOrder,
    CancelAllOrders,
    AmendOrder,
    SubmitOrders,
    AmendOrders,
    CancelOrders,
)  # Command's members, for isinstance on the hot path
Output: TypeAlias = Command | Alert | Transition | EntrySkipped | Resync


def is_command(output: object) -> TypeGuard[Command]:
    """Whether `output` is one of the executor's commands (a `Command`)."""
    return isinstance(output, COMMANDS)


class Strategy(Protocol):
    """The interface the strategy service (and a replay harness) drives."""

    @property
    def counters(self) -> Counter[str]:
        """Counted events that changed nothing: other-symbol data, duplicates, blocked entries."""
        ...

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        """Apply one bus message (market data, universe, execution event)."""
        ...

    def on_timer(self, now_ns: int) -> list[Output]:
        """Act on time alone: order timeouts, holding time, exit retries."""
        ...

    def executor_silent(self, now_ns: int) -> list[Output]:
        """The executor missed its heartbeats: stop sending, wait for a fresh snapshot."""
        ...

    def set_rules(self, rules: InstrumentRules) -> None:
        """Give the instrument rules of a symbol (the service fetches them)."""
        ...

    def status(self, now_ns: int) -> StrategyStatus:
        """Return the state, position and PnL for the status topic."""
        ...


def make_alert(code: str, detail: str, now_ns: int, *, critical: bool = False) -> Alert:
    severity = AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING
    return Alert(
        source=ALERT_SOURCE, severity=severity, code=code, detail=detail, ts_event_ns=now_ns
    )
