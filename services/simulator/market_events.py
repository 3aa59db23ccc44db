"""Recorded market events, the venue core's market input (`Venue.on_market`).

Two families, one per `ExchangeConfig.market_source`:

- `"recorded"`: `DepthUpdate` (an `orderbook.N.<SYMBOL>` snapshot or delta) and
  `RecordedTrade` (one `publicTrade` print), in integer ticks and lots of the venue's
  instrument grid. They are decoded once, at the edge (`venue.recorded.RecordedFrames`), so
  the core never parses a string or a Decimal.
- `"recorded-tops"`: `BookTop` (a best bid and ask) and `TradePrint` (a trade) in prices,
  which move the synthetic book's top and trade against its synthetic depth.

`ts_ms` is the time the event is applied at (the frame's `ts`, a trade's `T`; a backtest
stamps its own axis); `recv_ns`, when known, the recorder's local receive time (0: not
recorded); `match_ms` the venue's matching-engine time of what the event shows (a book
frame's `cts`, its `ts` without one; a trade's `T`; 0: unknown), which the ladder compares
to tell whether a book already shows a trade (`ladder`).
"""

from dataclasses import dataclass
from decimal import Decimal

Level = tuple[int, int]  # (price ticks, lots); lots 0 deletes the level


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """A recorded `orderbook.<depth>.<symbol>` frame: the whole ladder (snapshot) or changes."""

    symbol: str
    ts_ms: int
    depth: int  # N of orderbook.N: the ladder follows the deepest one it has seen
    is_snapshot: bool
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    recv_ns: int = 0
    match_ms: int = 0  # the frame's cts (its ts without one); 0: unknown


@dataclass(frozen=True, slots=True)
class RecordedTrade:
    """A recorded public trade: `lots` at `price` ticks, the taker buying or selling."""

    symbol: str
    ts_ms: int
    taker_is_buy: bool
    price: int
    lots: int
    recv_ns: int = 0
    match_ms: int = 0  # the trade's T; 0: unknown


@dataclass(frozen=True, slots=True)
class BookTop:
    """A recorded best bid and ask of `symbol` at `ts_ms` (prices, not ticks)."""

    symbol: str
    ts_ms: int
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A recorded public trade: `qty` at `price`, the taker buying or selling."""

    symbol: str
    ts_ms: int
    taker_is_buy: bool
    price: Decimal
    qty: Decimal


RecordedEvent = DepthUpdate | RecordedTrade
MarketEvent = DepthUpdate | RecordedTrade | BookTop | TradePrint
