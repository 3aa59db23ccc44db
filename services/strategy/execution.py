"""Execution events applied to the scalper: fills, cancels, rejects, denials, positions.

Each event first moves the `Book` (fills by `cum_filled_qty`, so duplicates count once),
then `ScalperCore.settle` moves the state. An event for an order this strategy does not
know raises an Alert (a late duplicate of a finished order is only counted); another
strategy's events are counted and ignored. PositionChanged is adopted (the venue wins) when
no order of ours works; while one works, the fills drive the book. A cancel that reports
fills we have not seen keeps its order until they arrive (the venue's order report can
overtake its execution report). A rejected exit puts the position in doubt: Syncing. A
reconciled ExecutionSnapshot (a join's answer: in Syncing, or a rejoin after the executor
restarted or its stream skipped, in any state) rebuilds orders and position through
Syncing at once.

`ExecutionReactions` is one part of `machine.MomentumScalper` (see core.py for how the
parts fit): it moves the `Book`, `Holding`'s retry time and the market view's trading state,
and asks the state machine (`ScalperCore`) to settle, resync or place a rebuilt view.
"""

from services.strategy.api import Output, make_alert
from services.strategy.book import ZERO, WorkingOrder
from services.strategy.core import ScalperCore, State
from services.strategy.exits import Holding
from services.strategy.market import Facts
from services.strategy.rebuild import rebuild, working_orders
from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S
from shared.schema import (
    ClientOrderId,
    ExecutionSnapshot,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    PositionChanged,
)

S = State
Fill = OrderPartiallyFilled | OrderFilled


class ExecutionReactions:
    """How the scalper's book and state follow the executor's events."""

    def __init__(
        self,
        settings: StrategySettings,
        *,
        core: ScalperCore,
        facts: Facts,
        holding: Holding,
    ) -> None:
        self._strategy_id = settings.strategy_id
        self._ttl_ns = settings.command_ttl_ms * 1_000_000
        self._retry_ns = int(settings.exit_retry_s * NS_PER_S)
        self._core = core
        self._book = facts.book
        self._market = facts.market
        self._holding = holding
        self._counters = facts.counters

    def _own(
        self, order_id: ClientOrderId, strategy_id: str, kind: str, now_ns: int, out: list[Output]
    ) -> WorkingOrder | None:
        if strategy_id != self._strategy_id:
            self._counters["other_strategy_event"] += 1
            return None
        order = self._book.orders.get(order_id)
        if order is None and self._book.was_closed(order_id):
            self._counters["late_order_event"] += 1
        elif order is None:
            self._counters["unknown_order_event"] += 1
            out.append(make_alert("unknown_order", f"{kind} for {order_id}", now_ns))
        return order

    def _done(self, order: WorkingOrder, what: str, now_ns: int, out: list[Output]) -> None:
        self._book.close(order.client_order_id)
        if order.reduce_only and order.cum_filled < order.qty:  # not again at once, anywhere
            self._holding.hold_off(now_ns)
        self._core.settle(f"{'exit' if order.reduce_only else 'entry'} {what}", now_ns, out)

    def on_accepted(self, event: OrderAccepted, now_ns: int, out: list[Output]) -> None:
        order = self._own(event.client_order_id, event.strategy_id, "OrderAccepted", now_ns, out)
        if order is not None:
            order.heard(now_ns)

    def on_fill(self, fill: Fill, now_ns: int, out: list[Output]) -> None:
        kind = type(fill).__name__
        order = self._own(fill.client_order_id, fill.strategy_id, kind, now_ns, out)
        if order is None:
            return
        order.heard(now_ns)
        if not self._book.apply_fill(order, fill.cum_filled_qty, fill.fill_price, fill.fee):
            self._counters["duplicate_fill"] += 1
        if isinstance(fill, OrderFilled) or order.cum_filled >= order.qty:
            self._done(order, "filled", now_ns, out)
        elif order.done_at_qty is not None and order.cum_filled >= order.done_at_qty:
            self._done(order, "canceled, its fills in", now_ns, out)
        else:
            self._core.settle("partial fill", now_ns, out)

    def on_canceled(self, event: OrderCanceled, now_ns: int, out: list[Output]) -> None:
        order = self._own(event.client_order_id, event.strategy_id, "OrderCanceled", now_ns, out)
        if order is None:
            return
        if event.cum_filled_qty > order.cum_filled:
            # The venue's order report overtook its execution report: wait for the fills
            # (or, if they never come, for the quiet timeout's snapshot), else the position
            # would be unknown in Idle and a second entry could go out beside it.
            self._counters["fills_missing_at_cancel"] += 1
            order.done_at_qty = event.cum_filled_qty
            order.cancel_sent = True
            order.heard(now_ns)
            return
        self._done(order, f"canceled: {event.reason}", now_ns, out)

    def on_rejected(self, event: OrderRejected, now_ns: int, out: list[Output]) -> None:
        order = self._own(event.client_order_id, event.strategy_id, "OrderRejected", now_ns, out)
        if order is None:
            return
        self._counters["order_rejected"] += 1
        if not order.reduce_only:
            self._done(order, f"rejected: {event.reason}", now_ns, out)
            return
        # A venue that refuses to reduce our position may hold none (its stop took it while
        # our exit was on the way): the position is in doubt, not ours to guess.
        self._book.close(order.client_order_id)
        self._holding.hold_off(now_ns)
        self._core.resync_executor(f"exit rejected: {event.reason}", now_ns, out)

    def on_denied(self, event: OrderDenied, now_ns: int, out: list[Output]) -> None:
        order = self._own(event.client_order_id, event.strategy_id, "OrderDenied", now_ns, out)
        if order is None:
            return
        if event.command_kind != "SubmitOrder":  # a refused cancel: the order still works
            self._counters["cancel_denied"] += 1
            order.cancel_sent = False
            order.next_cancel_ns = now_ns + self._retry_ns
            return
        self._counters["order_denied"] += 1
        self._done(order, f"denied: {event.reason}", now_ns, out)

    def on_position(self, event: PositionChanged, now_ns: int, out: list[Output]) -> None:
        book, listing = self._book, self._market.listing
        target = listing.symbol if listing is not None and book.empty else book.symbol
        if event.symbol not in (book.symbol, target):
            self._counters["other_symbol_position"] += 1
            return
        if book.orders:  # fills drive the book until the working orders are done
            self._counters["position_while_working"] += 1
            return
        if event.qty != book.qty and self._core.state is not S.SYNCING:
            self._counters["position_mismatch"] += 1
            detail = f"{event.symbol} venue {event.qty} ours {book.qty}: the venue wins"
            out.append(make_alert("position_mismatch", detail, now_ns))
        book.symbol = event.symbol
        book.adopt_position(event.qty, event.avg_entry_price)
        if self._core.state is S.POSITION_OPEN and book.qty:
            self._holding.arm(book.qty, book.entry_price, now_ns, keep_deadline=True)
        self._core.settle("venue flat" if not event.qty else "venue position", now_ns, out)

    def on_snapshot(self, snapshot: ExecutionSnapshot, now_ns: int, out: list[Output]) -> None:
        if not snapshot.reconciled:
            self._counters["snapshot_unreconciled"] += 1
            return
        if self._core.state is not S.SYNCING:
            # A rejoin (the executor restarted, or its stream skipped): a fill, a cancel or
            # the position may have been lost on the way, and this snapshot is newer than
            # all we heard. Taken at once, not after the quiet time of the orders it ended.
            self._counters["snapshot_rejoin"] += 1
            self._core.go(S.SYNCING, "executor rejoined", now_ns, out)
        book = self._book
        orders = working_orders(snapshot, self._strategy_id, book, now_ns, self._ttl_ns)
        listed = self._market.listing.symbol if self._market.listing is not None else None
        rebuilt = rebuild(snapshot, orders, book.symbol if not book.empty else None, listed)
        held_before = (book.symbol, book.qty > 0) if book.qty else None
        book.rebuild(rebuilt.symbol, rebuilt.orders)
        position = rebuilt.position
        if position is None:
            book.adopt_position(ZERO, ZERO)
        else:
            book.adopt_position(position.qty, position.avg_entry_price)
        for other in rebuilt.unmanaged:
            detail = f"{other.symbol} {other.qty} is not this strategy's to manage"
            out.append(make_alert("unmanaged_position", detail, now_ns))
        self._market.trading_state = snapshot.trading_state
        if held_before != ((book.symbol, book.qty > 0) if book.qty else None):
            self._holding.clear()  # another position: its holding time starts now
        self._core.enter_rest_state("reconciled snapshot", now_ns, out)
