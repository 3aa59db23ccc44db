"""The venue's reports checked before the executor applies, journals or publishes them.

Every entry point that takes a venue report (the private stream's frames, the REST answers
of reconciliation and of the guard) asks here first. A report that fails the checks of
shared/bybit/validate.py (a fill at price 0 or NaN, a qty of 0, an infinite fee, a NaN
position size, an infinite equity ...) is refused whole: counted as
`refused_<report>_<defect>` (exported as `executor_events{kind=...}`), alerted as
`invalid_venue_report` on `alert.executor.` (CRITICAL for a fill: the position may now
differ from ours, which the guard's position check and the next reconciliation repair),
and neither journaled nor published. A refused position leaves the symbol's position
unknown, not flat: reconciliation leaves it alone until a good report comes.

Prices and quantities of fills are checked on the instrument's grid where the executor
knows its rules (`grid_of`), for the allowed symbols; elsewhere finiteness and sign only.

Every refusal is counted. REST polling asks again every second while the stream is down,
so alerts are held back: a refused fill is alerted once per exec id, any other refusal at
most once per counter kind every ALERT_INTERVAL_NS; the held ones count as
`refusal_alerts_held`.
"""

from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from shared.bybit import wire
from shared.bybit.translate import is_trade_execution
from shared.bybit.validate import (
    Grid,
    Refusal,
    execution_refusal,
    order_refusal,
    position_refusal,
    price_defect,
    wallet_refusal,
)
from shared.runtime.clock import Clock
from shared.schema import AlertSeverity

ALERT_CODE: Final = "invalid_venue_report"
ALERT_INTERVAL_NS: Final = 10_000_000_000
_FILLS_REMEMBERED: Final = 10_000  # exec ids of refused fills already alerted


class Alerting(Protocol):
    def alert(self, severity: AlertSeverity, code: str, detail: str) -> None: ...


def _no_grid(symbol: str) -> Grid | None:
    return None


class ReportChecks:
    """Refuses (counts, alerts) the venue reports the executor must not use."""

    def __init__(
        self,
        counters: Counter[str],
        outbox: Alerting,
        clock: Clock,
        grid_of: Callable[[str], Grid | None] = _no_grid,
    ) -> None:
        self._counters = counters
        self._outbox = outbox
        self._clock = clock
        self.grid_of = grid_of  # set once the instruments' rules are known
        self._last_alert_ns: dict[str, int] = {}
        self._alerted_fills: OrderedDict[str, None] = OrderedDict()

    def execution_ok(self, execution: wire.Execution) -> bool:
        """A trade execution with a sane price, qty and fee (other kinds are not checked)."""
        if not is_trade_execution(execution):
            return True
        refusal = execution_refusal(execution, self.grid_of(execution.symbol))
        if refusal is None:
            return True
        where = (
            f"{execution.symbol} exec_id={execution.exec_id} order_id={execution.order_id}"
            f" order_link_id={execution.order_link_id}"
        )
        self._refuse("fill", refusal, where, AlertSeverity.CRITICAL, execution.exec_id)
        return False

    def order_ok(self, order: wire.Order) -> bool:
        refusal = order_refusal(order)
        if refusal is None:
            return True
        where = f"{order.symbol} order_id={order.order_id} order_link_id={order.order_link_id}"
        self._refuse("order", refusal, where, AlertSeverity.WARNING)
        return False

    def position_ok(self, position: wire.PositionInfo | wire.PositionEvent) -> bool:
        refusal = position_refusal(position)
        if refusal is None:
            return True
        self._refuse("position", refusal, position.symbol, AlertSeverity.WARNING)
        return False

    def wallet_ok(self, wallet: wire.Wallet) -> bool:
        refusal = wallet_refusal(wallet)
        if refusal is None:
            return True
        self._refuse("wallet", refusal, wallet.account_type, AlertSeverity.WARNING)
        return False

    def ticker_ok(self, ticker: wire.Ticker) -> bool:
        """A last trade price (risk's price band): finite, > 0, on the tick grid if known."""
        grid = self.grid_of(ticker.symbol)
        defect = price_defect(ticker.last_price, None if grid is None else grid.tick_size)
        if defect is None:
            return True
        refusal = Refusal("lastPrice", str(ticker.last_price), defect)
        self._refuse("ticker", refusal, ticker.symbol, AlertSeverity.WARNING)
        return False

    def executions(self, executions: Sequence[wire.Execution]) -> list[wire.Execution]:
        return [e for e in executions if self.execution_ok(e)]

    def orders(self, orders: Sequence[wire.Order]) -> list[wire.Order]:
        return [o for o in orders if self.order_ok(o)]

    def positions(
        self, positions: Sequence[wire.PositionInfo]
    ) -> tuple[list[wire.PositionInfo], set[str]]:
        """The positions to use, and the symbols whose position is unknown (refused)."""
        refused = {p.symbol for p in positions if not self.position_ok(p)}
        return [p for p in positions if p.symbol not in refused], refused

    def _refuse(
        self,
        report: str,
        refusal: Refusal,
        where: str,
        severity: AlertSeverity,
        exec_id: str | None = None,
    ) -> None:
        kind = f"refused_{report}_{refusal.defect}"
        self._counters[kind] += 1
        if not self._alert_due(kind, exec_id):
            self._counters["refusal_alerts_held"] += 1
            return
        self._outbox.alert(
            severity,
            ALERT_CODE,
            f"venue {report} refused: {refusal} ({where}); not applied, not journaled",
        )

    def _alert_due(self, kind: str, exec_id: str | None) -> bool:
        if exec_id is not None:  # each refused fill once
            if exec_id in self._alerted_fills:
                return False
            self._alerted_fills[exec_id] = None
            if len(self._alerted_fills) > _FILLS_REMEMBERED:
                self._alerted_fills.popitem(last=False)
            return True
        now = self._clock.now_ns()
        last = self._last_alert_ns.get(kind)
        if last is not None and now - last < ALERT_INTERVAL_NS:
            return False
        self._last_alert_ns[kind] = now
        return True
