"""The ledger of a run of several symbols: each symbol's book, one account's PnL.

A position, its average entry price, the mid and the markouts are a symbol's: a fill is
booked on its symbol's holding (`FillRow.position_after` and `mid_at_fill` are its
symbol's; an order's arrival mid is its symbol's last Quote's; a markout is resolved by
its symbol's market messages, with its symbol's mid), while realised PnL, fees, round
trips (counted per symbol, summed), unrealised PnL (each symbol's position at its mid)
and equity are the account's, as the venue's one wallet books them.

The series that carry one price and one position (the equity points' `position_qty` and
`mid`, the marks' mid band and `position_qty`, `Summary.position_qty`) are the run's
first symbol's; their equity is the account's, so a Quote of any symbol moves the marks'
equity. The marks start at the first symbol's first Quote. Each symbol's own position
and PnL are in the report's per-symbol table (from the fills).

A run of one symbol keeps `result.Ledger`, whose hot path this class leaves as it was.
"""

from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from research.backtest.result import (
    MARKOUT_HORIZONS_NS,
    PNL_QUANTUM,
    TWO,
    ZERO,
    Ledger,
    settle_markouts,
    signed_qty,
)
from shared.pnl import Holding, apply_fill
from shared.schema import BusMessage, OrderFilled, OrderPartiallyFilled, Quote, Trade

_NEVER: Final = 1 << 62
Markouts = tuple[deque[tuple[int, int]], ...]


class SymbolsLedger(Ledger):
    """`Ledger` for several symbols (see the module docstring); `symbols[0]` is the first."""

    def __init__(self, starting_balance: Decimal, symbols: Sequence[str]) -> None:
        super().__init__(starting_balance)
        self.first = symbols[0]
        self.holdings: dict[str, Holding] = {symbol: Holding() for symbol in symbols}
        self.mids: dict[str, Decimal] = {}  # each symbol's last Quote's
        self._waiting: dict[str, Markouts] = {
            symbol: tuple(deque() for _ in MARKOUT_HORIZONS_NS) for symbol in symbols
        }
        self._due: dict[str, int] = dict.fromkeys(symbols, _NEVER)  # the earliest markout

    def mid_of(self, symbol: str) -> Decimal | None:
        return self.mids.get(symbol)

    def on_event(self, message: BusMessage, now_ns: int) -> None:
        if isinstance(message, Quote):
            symbol = message.symbol
            self._roll(now_ns)
            self._settle(symbol, now_ns, inclusive=False)
            mid = self.mids[symbol] = (message.bid_price + message.ask_price) / TWO
            if symbol == self.first:
                self.quote, self._mid = message, mid
            self._settle(symbol, now_ns, inclusive=True)
            if self._mid is not None:
                self._touch(now_ns, self._mid)
        elif isinstance(message, Trade):
            self._settle(message.symbol, now_ns, inclusive=False)
        elif isinstance(message, OrderFilled | OrderPartiallyFilled):
            self._fill(message, now_ns)
        else:
            self._order_news(message, now_ns)

    def _settle(self, symbol: str, now_ns: int, *, inclusive: bool) -> None:
        """`symbol`'s markouts due before `now_ns` (or at it) take its mid in force."""
        due, mid = self._due.get(symbol, _NEVER), self.mids.get(symbol)
        if mid is not None and (now_ns > due or (inclusive and now_ns == due)):
            waiting = self._waiting[symbol]
            self._due[symbol] = settle_markouts(
                self.fills, waiting, mid, now_ns, inclusive=inclusive
            )

    def _fill(self, fill: OrderFilled | OrderPartiallyFilled, now_ns: int) -> None:
        self._roll(now_ns)
        symbol = fill.symbol
        before = self.holdings.get(symbol, Holding())
        after, realised = apply_fill(before, signed_qty(fill), fill.fill_price)
        self.holdings[symbol] = after
        if symbol == self.first:
            self.holding = after
        waiting = self._waiting.setdefault(symbol, tuple(deque() for _ in MARKOUT_HORIZONS_NS))
        self._book(
            fill,
            now_ns,
            realised=realised,
            before=before.qty,
            after=after.qty,
            mid=self.mids.get(symbol),
            markouts=waiting,
        )
        due = self._due.get(symbol, _NEVER)
        self._due[symbol] = min(due, now_ns + MARKOUT_HORIZONS_NS[0])

    def data_ended(self, last_recv_ns: int) -> None:
        for symbol in self._waiting:
            self._settle(symbol, last_recv_ns, inclusive=True)

    def unrealised(self) -> Decimal:
        """Each symbol's position at its last mid, summed."""
        total = ZERO
        for symbol, holding in self.holdings.items():
            if holding.qty:
                mid = self.mids.get(symbol, ZERO)
                total += (holding.qty * (mid - holding.entry_price)).quantize(PNL_QUANTUM)
        return total
