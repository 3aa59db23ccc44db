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
