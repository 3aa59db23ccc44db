"""The scanner's choice of what to trade."""

from decimal import Decimal

from shared.schema.base import Message, NanosSinceEpoch, Record, Symbol


class RankedSymbol(Record, frozen=True, kw_only=True):
    """One candidate with its score and the inputs the score came from."""

    symbol: Symbol
    score: float  # turnover_24h x |price_24h_pcnt| x boost
    turnover_24h: Decimal
    price_24h_pcnt: Decimal
    boost: float
    last_price: Decimal


class UniverseChanged(Message, frozen=True, kw_only=True):
    """The symbol to trade from now on; `epoch` grows by one at every switch."""

    symbol: Symbol
    epoch: int
    ranking: tuple[RankedSymbol, ...]  # the top N, best first
    reason: str
    ts_event_ns: NanosSinceEpoch


class MarketMakingCandidate(Record, frozen=True, kw_only=True):
    """One symbol eligible for market making, with its score and the inputs it came from."""

    symbol: Symbol
    score: float  # turnover_24h_usdt / max(spread_bps, tick_bps): USDT per bps of width
    turnover_24h_usdt: Decimal
    spread_bps: float  # (ask1 - bid1) / mid, basis points
    tick_bps: float  # tick size / mid, basis points
    touch_depth_usdt: Decimal  # min(bid1 x size, ask1 x size): the thinner side at the touch
    last_price: Decimal


class MarketMakingUniverse(Message, frozen=True, kw_only=True):
    """The scanner's market-making selection: the symbols to quote, best first.

    Published on `universe.mm.` when the selection changes (and restored to late joiners
    by the scanner's snapshot); an empty `symbols` means quote nothing. Readers apply the
    newest by `ts_event_ns`.
    """

    symbols: tuple[Symbol, ...]  # the top N, the selected before counting score x hysteresis
    ranking: tuple[MarketMakingCandidate, ...]  # eligible symbols, best first (capped)
    reason: str
    ts_event_ns: NanosSinceEpoch
