"""A recorded market as venue events: raw Bybit public frames in, market events out. Pure.

Two decoders, one per recorded `market_source`:

- `RecordedFrames` ("recorded"): `orderbook.N.<symbol>` frames become `DepthUpdate`s (the
  frame's levels, snapshot or delta) and `publicTrade.<symbol>` frames one `RecordedTrade`
  per trade, in integer ticks and lots of the venue's grid (`Grid`, per symbol). Each frame
  is decoded on its own, once, at the edge: the venue core never parses text. Rounding, as
  a recording's grid may be finer than the venue's (Binance's ETHUSDT: 0.001 against
  Bybit's 0.01): a level's size rounds up to whole lots (a shown level never vanishes, and
  the lots ahead of our orders are never understated), a trade's size down (a trade fills
  our orders by whole lots only; one under a lot is dropped); a price off the tick grid
  rounds away from the touch (bids down, asks up), a trade's to the nearest tick.
- `RecordedMarket` ("recorded-tops"): the same frames as `BookTop` (whenever the best bid
  or ask changes) and `TradePrint` events, in prices.

Every frame or trade left out is counted in `skipped` by reason: not a public data frame,
another topic, a symbol the venue does not list, a trade under one lot, a price off the
grid (kept, rounded, but counted).
"""

from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Final

import msgspec

from services.simulator.market_events import (
    BookTop,
    DepthUpdate,
    Level,
    MarketEvent,
    RecordedEvent,
    RecordedTrade,
    TradePrint,
)
from shared.bybit import wire

Grid = tuple[Decimal, Decimal]  # (tick size, qty step) of a symbol
SKIP_REASONS: Final = (
    "not_a_frame",
    "other_topic",
    "unknown_symbol",
    "trade_under_a_lot",
    "price_off_grid",
)


class _Topic(msgspec.Struct):
    topic: str


_topic = msgspec.json.Decoder(_Topic)
_trades = msgspec.json.Decoder(wire.PublicTradeMessage)
_books = msgspec.json.Decoder(wire.OrderBookMessage)


class RecordedFrames:
    """Decodes recorded public frames into `DepthUpdate` / `RecordedTrade` on `grids`."""

    def __init__(self, grids: Mapping[str, Grid]) -> None:
        self._grids = dict(grids)
        self.skipped = dict.fromkeys(SKIP_REASONS, 0)

    def events(self, raw: str | bytes, recv_ns: int = 0) -> list[RecordedEvent]:
        """The events of one raw frame (none for a frame left out, counted in `skipped`)."""
        try:
            topic = _topic.decode(raw).topic
            if topic.startswith("publicTrade."):
                return self._trades(_trades.decode(raw), recv_ns)
            if topic.startswith("orderbook."):
                return self._book(_books.decode(raw), recv_ns)
        except msgspec.DecodeError:
            self.skipped["not_a_frame"] += 1
            return []
        self.skipped["other_topic"] += 1
        return []

    def of_frame(
        self, frame: wire.PublicTradeMessage | wire.OrderBookMessage, recv_ns: int = 0
    ) -> list[RecordedEvent]:
        """The events of one frame already decoded (a backtest decodes each frame once, for
        the venue and for the feed alike)."""
        if isinstance(frame, wire.PublicTradeMessage):
            return self._trades(frame, recv_ns)
        return self._book(frame, recv_ns)

    def _trades(self, frame: wire.PublicTradeMessage, recv_ns: int) -> list[RecordedEvent]:
        out: list[RecordedEvent] = []
        for trade in frame.data:
            grid = self._grids.get(trade.s)
            if grid is None:
                self.skipped["unknown_symbol"] += 1
                continue
            tick, step = grid
            lots = int(trade.v / step)
            if lots <= 0:
                self.skipped["trade_under_a_lot"] += 1
                continue
            price = self._ticks(trade.p, tick, ROUND_HALF_UP)
            out.append(RecordedTrade(trade.s, trade.T, trade.S == "Buy", price, lots, recv_ns))
        return out

    def _book(self, frame: wire.OrderBookMessage, recv_ns: int) -> list[RecordedEvent]:
        data = frame.data
        _, _, depth = frame.topic.partition(".")
        depth, _, _ = depth.partition(".")
        if not depth.isdigit() or int(depth) < 1:
            self.skipped["other_topic"] += 1
            return []
        grid = self._grids.get(data.s)
        if grid is None:
            self.skipped["unknown_symbol"] += 1
            return []
        return [
            DepthUpdate(
                symbol=data.s,
                ts_ms=frame.ts,
                depth=int(depth),
                is_snapshot=frame.type == "snapshot",
                bids=self._levels(data.b, grid, ROUND_FLOOR),
                asks=self._levels(data.a, grid, ROUND_CEILING),
                recv_ns=recv_ns,
            )
        ]

    def _levels(
        self, levels: list[wire.PriceLevel], grid: Grid, rounding: str
    ) -> tuple[Level, ...]:
        tick, step = grid
        return tuple(
            (
                self._ticks(price, tick, rounding),
                int((size / step).to_integral_value(ROUND_CEILING)),
            )
            for price, size in levels
        )

    def _ticks(self, price: Decimal, tick: Decimal, rounding: str) -> int:
        ticks = price / tick
        whole = ticks.to_integral_value(rounding)
        if whole != ticks:
            self.skipped["price_off_grid"] += 1
        return int(whole)


def recorded_events(
    lines: Iterable[tuple[int, str]], grids: Mapping[str, Grid]
) -> Iterator[RecordedEvent]:
    """Every event of a recording's (receive ns, frame) lines, in order."""
    frames = RecordedFrames(grids)
    for recv_ns, raw in lines:
        yield from frames.events(raw, recv_ns)


# per book: (bids, asks), price -> size
_Levels = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


class RecordedMarket:
    """Turns recorded public frames into best prices and trades, keeping each book between
    frames (the "recorded-tops" market). Deltas before their book's snapshot, other topics
    and frames that do not decode are skipped and counted (`skipped`)."""

    def __init__(self) -> None:
        self._books: dict[str, _Levels] = {}
        self._tops: dict[str, tuple[Decimal, Decimal]] = {}
        self.skipped = 0

    def events(self, raw: str | bytes) -> list[MarketEvent]:
        """The market events of one raw frame (none for a frame that moves nothing)."""
        try:
            topic = _topic.decode(raw).topic
            if topic.startswith("publicTrade."):
                return [
                    TradePrint(t.s, t.T, t.S == "Buy", t.p, t.v) for t in _trades.decode(raw).data
                ]
            if topic.startswith("orderbook."):
                return self._book(_books.decode(raw))
        except msgspec.DecodeError:
            self.skipped += 1
            return []
        self.skipped += 1
        return []

    def _book(self, frame: wire.OrderBookMessage) -> list[MarketEvent]:
        data = frame.data
        book = self._books.get(frame.topic)
        if frame.type == "snapshot":
            book = self._books[frame.topic] = ({}, {})
        elif book is None:
            self.skipped += 1  # a delta before its snapshot: nothing to apply it to
            return []
        for levels, updates in zip(book, (data.b, data.a), strict=True):
            for price, size in updates:
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
        bids, asks = book
        if not bids or not asks:
            return []
        top = (max(bids), min(asks))
        if self._tops.get(frame.topic) == top:
            return []
        self._tops[frame.topic] = top
        return [BookTop(data.s, frame.ts, bid=top[0], ask=top[1])]


def market_events(lines: Iterable[str]) -> Iterator[MarketEvent]:
    """Every best-price and trade event of a recording's lines, in order ("recorded-tops")."""
    market = RecordedMarket()
    for line in lines:
        yield from market.events(line)
