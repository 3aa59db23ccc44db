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

`of_frame` takes the venue time the events are stamped with (a backtest's axis), and the
depth the ladder already follows: a shallower book delta, which the ladder skips whole, is
not converted (only its prices are checked for the grid, as they are counted); a shallower
snapshot is (the ladder may take its top). Every event keeps the venue's own time of what
it shows (`match_ms`: a book's `cts`, or `ts` without one; a trade's `T`).
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
        self,
        frame: wire.PublicTradeMessage | wire.OrderBookMessage,
        recv_ns: int = 0,
        ts_ms: int | None = None,
        followed: int = 0,
    ) -> list[RecordedEvent]:
        """The events of one frame already decoded (a backtest decodes each frame once, for
        the venue and for the feed alike), stamped `ts_ms` (None: the frame's own times).

        `followed` is the depth the ladder follows already: a book delta shallower than it
        is skipped by the ladder whatever it holds, so its levels are not converted (the
        event carries none), only checked for prices off the grid, which are counted; a
        shallower snapshot is converted (the ladder may take it as the top)."""
        if isinstance(frame, wire.PublicTradeMessage):
            return self._trades(frame, recv_ns, ts_ms)
        return self._book(frame, recv_ns, ts_ms, followed)

    def _trades(
        self, frame: wire.PublicTradeMessage, recv_ns: int, ts_ms: int | None = None
    ) -> list[RecordedEvent]:
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
            at = trade.T if ts_ms is None else ts_ms
            out.append(RecordedTrade(trade.s, at, trade.S == "Buy", price, lots, recv_ns, trade.T))
        return out

    def _book(
        self,
        frame: wire.OrderBookMessage,
        recv_ns: int,
        ts_ms: int | None = None,
        followed: int = 0,
    ) -> list[RecordedEvent]:
        data = frame.data
        depth = _depth_of(frame.topic)
        if depth is None:
            self.skipped["other_topic"] += 1
            return []
        grid = self._grids.get(data.s)
        if grid is None:
            self.skipped["unknown_symbol"] += 1
            return []
        if depth < followed and frame.type != "snapshot":  # skipped: only off-grid prices count
            for levels, rounding in ((data.b, ROUND_FLOOR), (data.a, ROUND_CEILING)):
                for price, _ in levels:
                    self._ticks(price, grid[0], rounding)
            bids: tuple[Level, ...] = ()
            asks: tuple[Level, ...] = ()
        else:
            bids = self._levels(data.b, grid, ROUND_FLOOR)
            asks = self._levels(data.a, grid, ROUND_CEILING)
        return [
            DepthUpdate(
                symbol=data.s,
                ts_ms=frame.ts if ts_ms is None else ts_ms,
                depth=depth,
                is_snapshot=frame.type == "snapshot",
                bids=bids,
                asks=asks,
                recv_ns=recv_ns,
                match_ms=frame.cts or frame.ts,
            )
        ]

    def _levels(
        self, levels: list[wire.PriceLevel], grid: Grid, rounding: str
    ) -> tuple[Level, ...]:
        tick, step = grid
        out: list[Level] = []
        append, off_grid = out.append, 0
        for price, size in levels:  # as `_ticks`, inline: this is the decoder's inner loop
            ticks = price / tick
            whole = ticks.to_integral_value(rounding)
            if whole != ticks:
                off_grid += 1
            append((int(whole), int((size / step).to_integral_value(ROUND_CEILING))))
        if off_grid:
            self.skipped["price_off_grid"] += off_grid
        return tuple(out)

    def _ticks(self, price: Decimal, tick: Decimal, rounding: str) -> int:
        ticks = price / tick
        whole = ticks.to_integral_value(rounding)
        if whole != ticks:
            self.skipped["price_off_grid"] += 1
        return int(whole)


def _depth_of(topic: str) -> int | None:
    """N of an `orderbook.N.<symbol>` topic (None: not a depth >= 1)."""
    _, _, depth = topic.partition(".")
    depth, _, _ = depth.partition(".")
    if not depth.isdigit() or int(depth) < 1:
        return None
    return int(depth)


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
