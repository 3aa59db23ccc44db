"""The market maker's execution events: order answers and fills, positions, snapshots.

An event of a quote goes to the quote manager; of a taker order (stage 4) to the taker
desk; of a leftover (an open order a snapshot showed, being cancelled) ends the leftover.
Fills move the symbol's position and PnL, the telemetry, and (a taker fill) the taker cap.
An event for none of these is counted (`unknown_*` in the quote book's counters).
"""

from decimal import Decimal

from services.strategy.api import Output
from services.strategy.mm.base import MakerBase, Phase
from services.strategy.mm.quote_book import OrderEvent, Stamp, batch_commands
from shared.schema import (
    CancelOrder,
    ClientOrderId,
    ExecutionSnapshot,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    PositionChanged,
    Symbol,
)

_GONE = (OrderFilled, OrderCanceled, OrderRejected, OrderDenied)  # an order we no longer hold
_FILLS = (OrderFilled, OrderPartiallyFilled)
_SUBMITS = ("SubmitOrder", "SubmitOrders")
_POST_ONLY = "PostOnly"  # Bybit's EC_PostOnlyWillTakeLiquidity: a PostOnly that would take


class MakerEvents(MakerBase):
    """Execution-event handlers over `MakerBase`'s state."""

    def on_order_event(self, event: OrderEvent, now_ns: int, out: list[Output]) -> None:
        order_id = event.client_order_id
        self.sent_ns.pop(order_id, None)  # answered
        self._note(event, now_ns)
        if order_id in self.leftovers:
            if isinstance(event, _GONE):  # a refused cancel: gone or unknown
                self.leftovers.discard(order_id)
            return
        if order_id in self.takers.in_flight:
            if isinstance(event, _GONE):
                symbol = self.takers.in_flight.pop(order_id)
                if isinstance(event, OrderDenied | OrderRejected):  # not retried at once
                    self._back_off(symbol, now_ns)
            return
        if order_id in self.forgotten and self.phase is not Phase.SYNCING:
            self._forgotten(event, now_ns, out)
            return
        self.manager.on_event(event)

    def _forgotten(self, event: OrderEvent, now_ns: int, out: list[Output]) -> None:
        """An event of a quote the last rebuild dropped, after the snapshot it used (in
        Syncing the snapshot to come lists it). An accept means it rests after all: its
        submit reached the executor after that snapshot. Cancelled as a leftover, else it
        would rest with nothing watching it."""
        if isinstance(event, OrderAccepted):
            self.forgotten.discard(event.client_order_id)
            self.counters["stray_accepted"] += 1
            self._cancel_leftovers([(event.client_order_id, event.symbol)], now_ns, out)
        else:
            self.manager.on_event(event)  # an unknown id to the book: counted there

    def _note(self, event: OrderEvent, now_ns: int) -> None:
        """Fills, rejections, refusals of new quotes and ack latencies."""
        order_id = event.client_order_id
        if isinstance(event, _FILLS):
            self._fill(event, now_ns)
        elif isinstance(event, OrderRejected):
            self.rejects.rejected(now_ns)
            self._back_off(event.symbol, now_ns)
        elif isinstance(event, OrderDenied) and event.command_kind in _SUBMITS:
            quote = self.manager.book.by_id(order_id)
            if quote is not None:  # a new quote the executor refused (risk, rate limit)
                self._back_off(quote.symbol, now_ns)
        elif isinstance(event, OrderCanceled) and _POST_ONLY in event.reason:
            self._back_off(event.symbol, now_ns)  # our view of the touch was behind the venue
        elif isinstance(event, OrderAccepted | OrderAmended):
            sent, ack = event.ts_request_sent_ns, event.ts_ack_ns
            if 0 < sent <= ack:
                self.acks.add(now_ns, (ack - sent) / 1e6)

    def _back_off(self, symbol: str, now_ns: int) -> None:
        """No new quote on `symbol` for deny-backoff-ms: a refusal is not retried at once."""
        self.counters["new_quotes_backed_off"] += 1
        self.backoff_until_ns[symbol] = now_ns + self.mm.deny_backoff_ms * 1_000_000

    def _fill(self, fill: OrderFilled | OrderPartiallyFilled, now_ns: int) -> None:
        market = self.market(fill.symbol)
        if market is None:
            self.counters["fill_without_market"] += 1
            return
        mid = market.mid()
        market.on_fill(fill.side, fill.fill_qty, fill.fill_price, fill.fee, now_ns)
        if not fill.is_maker:
            market.taker_cap.note_taker_fill(now_ns)
        what = (fill.side, fill.fill_qty, fill.fill_price, fill.fee)
        self.telemetry.fill(what, mid, maker=fill.is_maker)

    def on_position(self, event: PositionChanged, now_ns: int, out: list[Output]) -> None:
        market = self.market(event.symbol)
        if market is not None:
            market.set_position(event.qty, event.avg_entry_price)

    def on_snapshot(self, snapshot: ExecutionSnapshot, now_ns: int, out: list[Output]) -> None:
        """A reconciled snapshot rebuilds the view: positions, trading state, leftovers."""
        if not snapshot.reconciled:
            self.counters["snapshot_not_reconciled"] += 1
            return
        for position in snapshot.positions:
            market = self.market(position.symbol)
            if market is not None:
                market.set_position(position.qty, position.avg_entry_price)
        self.trading_state = snapshot.trading_state
        if self.phase is not Phase.SYNCING:
            # A rejoin (the executor restarted quicker than its heartbeats, or its stream
            # skipped): a fill or an answer may have been lost on the way, and this snapshot
            # is newer than all we heard. Rebuilt from it at once: a quote kept from before
            # may be gone at the venue and would hold its slot for good.
            self.counters["snapshot_rejoin"] += 1
            self.sync("executor rejoined", now_ns, out, resync=False)
        sid = self.settings.strategy_id
        ours = [(o.client_order_id, o.symbol) for o in snapshot.open_orders if o.strategy_id == sid]
        self.leftovers = set()
        self._cancel_leftovers(ours, now_ns, out)
        self.go(self.rest_phase(), "reconciled snapshot", now_ns, out)

    def _cancel_leftovers(
        self, orders: list[tuple[ClientOrderId, Symbol]], now_ns: int, out: list[Output]
    ) -> None:
        """Cancel open orders of ours that no quote holds; quoting waits until they are gone."""
        sid = self.settings.strategy_id
        stamp = Stamp(now_ns, self.mm.order_ttl_ms * 1_000_000, self.trace_id)
        cancels = [
            CancelOrder(
                client_order_id=order_id,
                strategy_id=sid,
                symbol=symbol,
                ts_created_ns=now_ns,
                expires_at_ns=stamp.expires_at_ns,
                trace_id=self.trace_id,
            )
            for order_id, symbol in orders
        ]
        self.leftovers.update(order_id for order_id, _ in orders)
        self.counters["leftovers_canceled"] += len(orders)
        self.emit(batch_commands(cancels, [], [], stamp, sid), now_ns, out)

    def realised_usdt(self) -> Decimal:
        """Realised PnL net of fees over every symbol, since the process started."""
        return sum((m.realised_usdt - m.fees_usdt for m in self.markets.values()), Decimal(0))
