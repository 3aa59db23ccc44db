"""What the executor's pure cores ask the shell to do: the effects.

A core (order_core, report_core, guard_core) takes a command, a venue report or a timer tick
with `now_ns` and returns a list of these; it does no I/O and reads no clock. The shell
carries them out in order (`EffectShell.run`), and feeds what comes back (a journal that
already knew an execId, a venue's answer) to the core again as a report.

The generic ones are here; a core may add its own (a venue call to make) beside them.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from shared.schema import AlertSeverity, BusMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Publish:
    """Publish one event on the bus (held until the end of the turn: ports.Outbox)."""

    message: BusMessage


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    severity: AlertSeverity
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Count:
    """Add `n` to a counter of the executor's metrics."""

    counter: str
    n: int = 1


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Ask for a reconciliation with the venue (its view wins); `why` is for the log."""

    why: str


Effect = Publish | RaiseAlert | Count | Reconcile


class Outlet(Protocol):
    """Where published events and alerts go: ports.Outbox."""

    def publish(self, message: BusMessage) -> None: ...

    def alert(self, severity: AlertSeverity, code: str, detail: str) -> None: ...


class Wanted(Protocol):
    """The reconciliation's asyncio.Event."""

    def set(self) -> None: ...


class EffectShell:
    """Carries out the generic effects; a core's own effects are its shell's to handle."""

    def __init__(self, outlet: Outlet, counters: Counter[str], reconcile: Wanted) -> None:
        self._outlet = outlet
        self._counters = counters
        self._reconcile = reconcile

    def run(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Publish):
                self._outlet.publish(effect.message)
            elif isinstance(effect, RaiseAlert):
                self._outlet.alert(effect.severity, effect.code, effect.detail)
            elif isinstance(effect, Count):
                self._counters[effect.counter] += effect.n
            else:
                log.info("reconciliation asked for: %s", effect.why)
                self._reconcile.set()
