"""The dashboard's own estimate of the queue ahead of each working order, from the touch.

The market maker keeps its queue estimate to itself; the dashboard makes one from what it
sees: every quote (the best bid and ask, depth 1) and trade of a symbol with working
orders, with the backtest's risk-averse rule (shared.queue_position, in qty instead of
lots): an order at the touch joins behind the qty shown there (less its own leaves); the
level shrinking below that moves it up (`min`), a trade at its price moves it up by the
traded qty, a trade through its price leaves nothing ahead. An order better than the touch
has nothing ahead; one behind the touch has an unknown queue (None: depth 1 shows no more).
Pure: messages in, values out.
"""

from decimal import Decimal
from typing import Any, Final

from services.dashboard.view import View, money
from shared.schema import Quote, Trade

EMIT_EVERY_NS: Final = 250_000_000  # the estimates reach the view at most 4 times a second
_ZERO: Final = Decimal(0)
_WORKING: Final = ("orders", "working")


class QueueBoard:
    """Queue-ahead estimates of the working orders, updated on every quote and trade."""

    def __init__(self) -> None:
        self._ahead: dict[str, tuple[Decimal, Decimal | None]] = {}  # cid -> (price, ahead)
        self._dirty: set[str] = set()
        self._emitted_ns = 0
        self._quotes: dict[str, Quote] = {}  # the last quote per symbol

    def on_quote(self, view: View, quote: Quote) -> None:
        self._quotes[quote.symbol] = quote
        for cid, order, price in _orders_of(view, quote.symbol):
            buy = order["side"] == "Buy"
            touch, shown = (
                (quote.bid_price, quote.bid_qty) if buy else (quote.ask_price, quote.ask_qty)
            )
            if price == touch:
                leaves = Decimal(order["qty"]) - Decimal(order.get("cum_filled_qty") or 0)
                market = max(_ZERO, shown - max(_ZERO, leaves))
                before = self._ahead.get(cid)
                prior = before[1] if before is not None and before[0] == price else None
                ahead = market if prior is None else min(prior, market)
            elif (price > touch) if buy else (price < touch):
                ahead = _ZERO  # better than the touch: first in line
            else:
                ahead = None  # behind the touch: depth 1 shows nothing of its level
            self._set(cid, price, ahead)

    def on_trade(self, view: View, trade: Trade) -> None:
        for cid, order, price in _orders_of(view, trade.symbol):
            before = self._ahead.get(cid)
            if before is None or before[0] != price or before[1] is None:
                continue
            buy = order["side"] == "Buy"
            if trade.price == price:
                self._set(cid, price, max(_ZERO, before[1] - trade.qty))
            elif (trade.price < price) if buy else (trade.price > price):
                self._set(cid, price, _ZERO)  # traded through: the queue is gone

    def emit(self, view: View, now_ns: int) -> None:
        """Put the changed estimates into the view (at most every EMIT_EVERY_NS)."""
        self._catch_up(view)
        if not self._dirty or now_ns - self._emitted_ns < EMIT_EVERY_NS:
            return
        self._emitted_ns = now_ns
        working = view.get(_WORKING) or {}
        for cid in sorted(self._dirty):
            if cid in working:
                _, ahead = self._ahead[cid]
                view.set((*_WORKING, cid, "queue_ahead_qty"), money(ahead))
        self._dirty.clear()
        for cid in [c for c in self._ahead if c not in working]:  # gone: forgotten
            del self._ahead[cid]

    def _catch_up(self, view: View) -> None:
        """Place the orders whose details came after the symbol's last quote (an
        OrderAccepted names none: they come with the executor's snapshot) at that quote,
        without waiting for the next one."""
        working: dict[str, dict[str, Any]] = view.get(_WORKING) or {}
        symbols = {o["symbol"] for cid, o in working.items() if cid not in self._ahead}
        for symbol in sorted(symbols & self._quotes.keys()):
            if any(cid not in self._ahead for cid, _, _ in _orders_of(view, symbol)):
                self.on_quote(view, self._quotes[symbol])

    def _set(self, cid: str, price: Decimal, ahead: Decimal | None) -> None:
        if self._ahead.get(cid) != (price, ahead):
            self._ahead[cid] = (price, ahead)
            self._dirty.add(cid)


def _orders_of(view: View, symbol: str) -> list[tuple[str, dict[str, Any], Decimal]]:
    """The working limit orders of `symbol` whose side, qty and price are known."""
    working: dict[str, dict[str, Any]] = view.get(_WORKING) or {}
    return [
        (cid, order, Decimal(order["limit_price"]))
        for cid, order in working.items()
        if order["symbol"] == symbol
        and order.get("limit_price") is not None
        and order.get("side") is not None
        and order.get("qty") is not None
    ]
