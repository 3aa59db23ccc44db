"""Market data into the view: the newest quote and trade per symbol, sampled.

At most `rate` a second per symbol reach the view (the newest wins, the rest are counted as
superseded); one mid a second goes into the symbol's price series. Pure: time is passed in.
"""

from decimal import Decimal
from typing import Any, Final

from services.dashboard.money import mark_position
from services.dashboard.view import PRICES_KEPT, View, money
from shared.schema import Quote, Trade

NS_PER_S: Final = 1_000_000_000
PRICE_POINT_EVERY_NS: Final = NS_PER_S  # one mid a second per symbol in market.symbols.*.prices
_POSITIONS: Final = ("money", "positions")


class QuoteSampler:
    """Hold the newest quote and trade per symbol; let each symbol reach the view at most
    `rate` times a second (the rest is superseded, counted in `superseded`)."""

    def __init__(self, rate: float) -> None:
        self._gap_ns = int(NS_PER_S / rate)
        self._quotes: dict[str, tuple[Quote, int]] = {}
        self._trades: dict[str, tuple[Trade, int]] = {}
        self._sent_ns: dict[str, int] = {}
        self._point_ns: dict[str, int] = {}
        self.superseded = 0

    def offer(self, message: Quote | Trade, ts_sent_ns: int) -> None:
        """Hold `message` (sent on the bus at `ts_sent_ns`) in place of the symbol's older one."""
        if isinstance(message, Quote):
            self.superseded += message.symbol in self._quotes
            self._quotes[message.symbol] = (message, ts_sent_ns)
        else:
            self.superseded += message.symbol in self._trades
            self._trades[message.symbol] = (message, ts_sent_ns)

    def newest_mid(self, symbol: str) -> Decimal | None:
        """The mid of the held quote (newer than the view's), None when none is held."""
        held = self._quotes.get(symbol)
        return None if held is None else (held[0].bid_price + held[0].ask_price) / 2

    def due(self, now_ns: int) -> list[str]:
        """The symbols whose held data may reach the view now."""
        waiting = self._quotes.keys() | self._trades.keys()
        return sorted(s for s in waiting if now_ns - self._sent_ns.get(s, 0) >= self._gap_ns)

    def emit(self, view: View, now_ns: int) -> None:
        """Fold every due symbol's newest quote and trade into the view."""
        for symbol in self.due(now_ns):
            self._sent_ns[symbol] = now_ns
            quote, trade = self._quotes.pop(symbol, None), self._trades.pop(symbol, None)
            ensure_symbol(view, symbol)
            if trade is not None:
                view.behind(trade[1], sampled=True)
                view.set(("market", "symbols", symbol, "last"), money(trade[0].price))
            if quote is not None:
                view.behind(quote[1], sampled=True)
                self._quote(view, quote[0], now_ns)

    def _quote(self, view: View, quote: Quote, now_ns: int) -> None:
        path = ("market", "symbols", quote.symbol)
        mid = money((quote.bid_price + quote.ask_price) / 2)
        view.merge(
            path,
            {
                "bid": money(quote.bid_price),
                "ask": money(quote.ask_price),
                "bid_qty": money(quote.bid_qty),
                "ask_qty": money(quote.ask_qty),
                "mid": mid,
            },
        )
        if view.get((*_POSITIONS, quote.symbol)) is not None:
            mark_position(view, quote.symbol)  # the mark moved: the unrealised PnL with it
        if now_ns - self._point_ns.get(quote.symbol, 0) >= PRICE_POINT_EVERY_NS:
            self._point_ns[quote.symbol] = now_ns
            view.append((*path, "prices"), [quote.ts_event_ns or now_ns, mid], PRICES_KEPT)


def ensure_symbol(view: View, symbol: str) -> None:
    if view.get(("market", "symbols", symbol)) is None:
        view.set(("market", "symbols", symbol), _new_symbol())


def _new_symbol() -> dict[str, Any]:
    return {
        "bid": None,
        "ask": None,
        "bid_qty": None,
        "ask_qty": None,
        "mid": None,
        "last": None,
        "feed_state": None,
        "prices": [],
    }
