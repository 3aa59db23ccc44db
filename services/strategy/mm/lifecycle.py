"""What the market maker quotes, and whether: universe, selection, feed, trading state.

`Lifecycle` is one part of `core.MarketMaker` (core.py lists the parts). The scanner's
symbol (UniverseChanged) or its market-making selection (MarketMakingUniverse, with
`follow = "market-making"` and no `symbols`) says which symbols are quoted; a symbol that
leaves has its cycle run once more, which withdraws its quotes, and waits for a new
FeedReady should it come back (a position held there is left, with a warning Alert
`mm_symbol_left_with_position`). FeedReady and FeedStatus say whether a symbol's feed may
be quoted on; a trading state other than Active moves the maker to Halted (every quote
withdrawn by the cycles it runs), Active back to Quoting.
"""

from services.strategy.api import Output, make_alert
from services.strategy.mm.base import MakerBase, Phase
from services.strategy.mm.cycle import QuoteCycle
from shared.schema import (
    FeedReady,
    FeedState,
    FeedStatus,
    MarketMakingUniverse,
    TradingState,
    TradingStateChanged,
    UniverseChanged,
)


class Lifecycle:
    """Follows the universe, the selection, the feed and the trading state."""

    def __init__(self, maker: MakerBase, cycle: QuoteCycle) -> None:
        self._maker = maker
        self._cycle = cycle

    def on_universe(self, event: UniverseChanged, now_ns: int, out: list[Output]) -> None:
        maker = self._maker
        previous, maker.universe = maker.universe, event.symbol
        if previous is not None and previous != event.symbol and previous in maker.markets:
            self._cycle.run(maker.markets[previous], now_ns, out)  # no longer quoted: withdrawn

    def on_selection(self, event: MarketMakingUniverse, now_ns: int, out: list[Output]) -> None:
        """Quote the selection's symbols; withdraw from a leaver (its position: module doc)."""
        maker = self._maker
        if maker.mm.symbols or maker.mm.follow != "market-making":
            maker.counters["mm_universe_not_followed"] += 1
            return
        if event.ts_event_ns < maker.selection_ts_ns:
            maker.counters["stale_mm_universe"] += 1
            return
        previous, maker.selection = maker.selection, frozenset(event.symbols)
        maker.selection_ts_ns = event.ts_event_ns
        for symbol in sorted(previous - maker.selection):
            market = maker.markets.get(symbol)
            if market is None:
                continue
            maker.counters["mm_symbols_left"] += 1
            market.feed_ready = False  # back in the selection: quoted after its new FeedReady
            self._cycle.run(market, now_ns, out)  # no longer quoted: withdrawn
            if market.position_qty:
                detail = (
                    f"{symbol} left the market-making selection holding {market.position_qty}"
                    f" ({market.inventory_usdt():.2f} USDT): quotes withdrawn, position left"
                )
                out.append(make_alert("mm_symbol_left_with_position", detail, now_ns))

    def on_feed_ready(self, event: FeedReady, now_ns: int, out: list[Output]) -> None:
        market = self._maker.market(event.symbol)
        if market is not None:
            market.feed_ready, market.feed_live = True, True

    def on_feed_status(self, event: FeedStatus, now_ns: int, out: list[Output]) -> None:
        maker = self._maker
        market = maker.market(event.symbol) if maker.quoted(event.symbol) else None
        if market is None:
            maker.counters["other_symbol_feed_status"] += 1
            return
        market.feed_live = event.state is FeedState.LIVE

    def on_trading_state(self, event: TradingStateChanged, now_ns: int, out: list[Output]) -> None:
        maker = self._maker
        maker.trading_state = event.state
        if maker.phase in (Phase.SYNCING, Phase.STOPPED):
            return
        active = event.state is TradingState.ACTIVE
        maker.go(
            Phase.QUOTING if active else Phase.HALTED,
            f"trading {event.state.value}: {event.reason}",
            now_ns,
            out,
        )
        self._cycle.run_all(now_ns, out)
