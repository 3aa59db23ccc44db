"""The venue's private reports as the live executor turns them into bus events.

Each report is translated as the executor's private stream does (`venue_reports.order_of`,
`fill_of`, `position_of`), decided by the executor's own pure core (`report_core`:
`order_reported`, `fill_reported`, `position_reported`) and its effects carried out here on
the executor's `OrderRegistry`: there is no journal (a backtest has no restart to survive)
and the guard's venue stop is not modelled, so those effects are left out; everything else
(status, fills once per execId, positions, the events published) is the executor's. The
venue is our own core, so the report checks of the live edge (report_checks) are skipped.
"""

from collections import Counter
from typing import assert_never

from services.executor.effects import Count, Publish, RaiseAlert, Reconcile
from services.executor.registry import OrderRegistry, balance_events, fill_event
from services.executor.report_apply import apply_to_registry
from services.executor.report_core import (
    AckOrder,
    ApplyFill,
    ApplyStatus,
    JournalFill,
    JournalStatus,
    MarkProtected,
    MarkUnprotected,
    PublishFill,
    RememberExecId,
    ReportEffect,
    SetPosition,
    fill_reported,
    order_reported,
    position_reported,
)
from services.executor.venue_reports import fill_of, order_of, position_of
from services.simulator.venue import PrivateEvent
from shared.bybit import wire
from shared.schema import BusMessage


class ReportShell:
    """Applies venue reports to the registry; returns the events the executor publishes."""

    def __init__(self, registry: OrderRegistry, counters: Counter[str]) -> None:
        self._registry = registry
        self._counters = counters
        self.alerts: Counter[str] = Counter()

    def apply(self, reports: list[PrivateEvent], now_ns: int) -> list[BusMessage]:
        """The events of `reports` (in the venue's order), all stamped `now_ns`."""
        out: list[BusMessage] = []
        registry = self._registry
        for _, topic, payload in reports:
            if isinstance(payload, wire.ExecutionEvent):
                fill = fill_of(payload)
                record = registry.find(fill.order_link_id, fill.order_id)
                effects = fill_reported(fill, record, registry.exec_ids, 0, now_ns)
            elif isinstance(payload, wire.OrderEvent):
                order = order_of(payload)
                record = registry.find(order.order_link_id, order.order_id)
                effects = order_reported(order, record, now_ns)
            elif isinstance(payload, wire.PositionEvent):
                report = position_of(payload)
                seen = registry.position_seq.get(report.symbol, -1)
                effects = position_reported(report, seen, now_ns, now_ns)
            elif isinstance(payload, wire.Wallet):
                out += balance_events(payload, now_ns)
                continue
            else:
                self._counters[f"unknown_report_{topic}"] += 1
                continue
            self._carry_out(effects, out)
        return out

    def _carry_out(self, effects: list[ReportEffect], out: list[BusMessage]) -> None:
        for effect in effects:
            match effect:
                case JournalFill() | JournalStatus() | MarkUnprotected() | MarkProtected():
                    continue  # no journal, no guard in a backtest
                case RememberExecId() | ApplyFill() | AckOrder() | ApplyStatus() | SetPosition():
                    apply_to_registry(effect, self._registry)
                case PublishFill(record=record, fill=fill):
                    out.append(fill_event(record, fill))
                case Publish() | RaiseAlert() | Count() | Reconcile():
                    self._generic(effect, out)
                case _:
                    assert_never(effect)

    def _generic(
        self, effect: Publish | RaiseAlert | Count | Reconcile, out: list[BusMessage]
    ) -> None:
        match effect:
            case Publish(message=message):
                out.append(message)
            case RaiseAlert(code=code):
                self.alerts[code] += 1
            case Count(counter=counter, n=n):
                self._counters[counter] += n
            case Reconcile():
                self._counters["reconcile_asked"] += 1
            case _:
                assert_never(effect)
