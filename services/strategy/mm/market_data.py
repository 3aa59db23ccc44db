"""Market data into the market maker: book updates and trades, each then runs the cycle.

`MarketData` is one part of `core.MarketMaker` (core.py lists the parts). A book update
(BookLevels, or a Quote standing in for one at feed depth 1, until BookLevels are seen) or
a trade of a quoted symbol moves the symbol's estimators and the queue estimates, pulls
threatened quotes at once (fast-cancel, outside the cycle), then runs the symbol's cycle.
Data of a symbol the maker does not quote (or has no rules for) is counted and dropped.
"""

from services.strategy.api import Output
from services.strategy.mm.base import MakerBase
from services.strategy.mm.cycle import QuoteCycle
from services.strategy.mm.market import SymbolMarket, quote_levels
from shared.schema import BookLevels, OrderSide, Quote, Symbol, Trade


class MarketData:
    """Routes book updates and trades to the symbol's state, fast-cancel and the cycle."""

    def __init__(self, maker: MakerBase, cycle: QuoteCycle) -> None:
        self._maker = maker
        self._cycle = cycle
        self._refit_ns = int(maker.mm.intensity_refit_s * 1e9)

    def on_quote(self, quote: Quote, now_ns: int, out: list[Output]) -> None:
        market = self._data_market(quote.symbol)
        if market is None:
            return
        if market.levels_from_feed:  # BookLevels carry the same top: they drive the cycle
            self._maker.counters["quote_beside_levels"] += 1
            return
        self._book(market, quote_levels(quote), now_ns, out)

    def on_levels(self, levels: BookLevels, now_ns: int, out: list[Output]) -> None:
        market = self._data_market(levels.symbol)
        if market is not None:
            market.levels_from_feed = True
            self._book(market, levels, now_ns, out)

    def on_trade(self, trade: Trade, now_ns: int, out: list[Output]) -> None:
        market = self._data_market(trade.symbol)
        if market is None:
            return
        maker = self._maker
        market.intensity.on_trade(float(trade.price), trade.taker_side is OrderSide.BUY)
        maker.trace_id = trade.trace_id
        maker.emit(maker.manager.on_trade(trade, now_ns), now_ns, out)  # fast-cancel
        if market.levels is not None:
            self._cycle.run(market, now_ns, out)

    def _book(
        self, market: SymbolMarket, levels: BookLevels, now_ns: int, out: list[Output]
    ) -> None:
        maker = self._maker
        market.on_levels(levels, now_ns)
        market.refit(now_ns, self._refit_ns)
        maker.trace_id = levels.trace_id
        maker.emit(maker.manager.on_book(levels, now_ns), now_ns, out)  # fast-cancel
        self._cycle.run(market, now_ns, out)

    def _data_market(self, symbol: Symbol) -> SymbolMarket | None:
        maker = self._maker
        market = maker.market(symbol) if maker.quoted(symbol) else None
        if market is None:
            maker.counters["other_symbol_md"] += 1
        return market
