"""Which symbols a run's strategy trades, and what it is told of them, as live.

Live, the scanner publishes one symbol (UniverseChanged, which the momentum scalper and a
market maker with `follow = "scanner"` trade) and a market-making selection
(MarketMakingUniverse, which a market maker with `follow = "market-making"` and no
`[strategy.market-maker] symbols` quotes); the feed serves each symbol of `[feed] symbols`
or of that selection with its own session. A backtest of several symbols is therefore a
market maker's: one that lists them, or that follows the selection (the run's symbols
are that selection). Anything else would trade one symbol while the others cost time and
show in the report: it is refused, naming the setting to change (`run_refusal`).
"""

from research.backtest.settings import BacktestSettings
from shared.schema import BusMessage, MarketMakingUniverse, Symbol, UniverseChanged

EPOCH = 1  # the scanner's epoch of the run's symbol (the feed's LISTED_EPOCH too)


def follows_selection(settings: BacktestSettings) -> bool:
    """Whether the strategy is a market maker quoting the scanner's selection."""
    s = settings.strategy
    mm = s.market_maker
    return s.kind == "market-maker" and not mm.symbols and mm.follow == "market-making"


def run_refusal(settings: BacktestSettings) -> str | None:
    """Why the strategy of `settings` cannot trade the run's symbols (None: it can). A run
    of one symbol is never refused (as before several symbols were possible)."""
    symbols, s = settings.symbols, settings.strategy
    if len(symbols) == 1:
        return None
    several = ", ".join(symbols)
    if s.kind != "market-maker":
        return (
            f"the momentum scalper trades one symbol (the scanner's UniverseChanged): a run"
            f' of {several} needs [strategy] kind = "market-maker", or one symbol'
        )
    listed = s.market_maker.symbols
    missing = [x for x in listed if x not in symbols]
    if missing:
        return (
            f"[strategy.market-maker] symbols lists {', '.join(missing)}, which the run has"
            f" no data for (its symbols: {several})"
        )
    if listed or follows_selection(settings):
        return None
    return (
        f'a market maker with [strategy.market-maker] follow = "scanner" and no symbols'
        f" quotes one symbol: for {several} list them in [strategy.market-maker] symbols"
        f' or set follow = "market-making"'
    )


def universe(settings: BacktestSettings, now_ns: int) -> UniverseChanged:
    """The scanner's symbol: the run's first."""
    symbol = Symbol(settings.symbol)
    return UniverseChanged(
        symbol=symbol, epoch=EPOCH, ranking=(), reason="backtest", ts_event_ns=now_ns
    )


def selection(settings: BacktestSettings, now_ns: int) -> list[BusMessage]:
    """The scanner's market-making selection, the run's symbols, when the strategy follows
    it (else nothing: no other strategy reads it)."""
    if not follows_selection(settings):
        return []
    symbols = tuple(Symbol(x) for x in settings.symbols)
    return [
        MarketMakingUniverse(symbols=symbols, ranking=(), reason="backtest", ts_event_ns=now_ns)
    ]
