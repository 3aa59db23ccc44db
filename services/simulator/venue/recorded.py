"""A recorded market as venue events: raw Bybit public frames in, `MarketEvent`s out.

The frames are those `replay.py` serves (one raw public frame per line, as received):
`publicTrade.<symbol>` becomes one `TradePrint` per trade, `orderbook.<depth>.<symbol>`
(a snapshot, then deltas applied to it) becomes a `BookTop` whenever its best bid or ask
changes. Other topics, deltas before their book's snapshot and frames that do not decode
are skipped and counted (`skipped`). Pure: the caller reads the file and feeds the venue.
"""

from collections.abc import Iterable, Iterator
from decimal import Decimal

import msgspec

from services.simulator.venue.flow import BookTop, MarketEvent, TradePrint
from shared.bybit import wire


class _Topic(msgspec.Struct):
    topic: str


_topic = msgspec.json.Decoder(_Topic)
_trades = msgspec.json.Decoder(wire.PublicTradeMessage)
_books = msgspec.json.Decoder(wire.OrderBookMessage)

# per book: (bids, asks), price -> size
_Levels = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


class RecordedMarket:
    """Turns recorded public frames into market events, keeping each book between frames."""

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
    """Every market event of a recording's lines, in order."""
    market = RecordedMarket()
    for line in lines:
        yield from market.events(line)
