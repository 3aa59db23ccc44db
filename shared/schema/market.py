"""Market data published by the feed (data are nouns)."""

from decimal import Decimal

from shared.schema.base import Message, NanosSinceEpoch, Record, Symbol
from shared.schema.enums import FeedState, OrderSide


class Quote(Message, frozen=True, kw_only=True):
    """Best bid and ask of one symbol's local book after a venue update."""

    symbol: Symbol
    epoch: int  # the universe epoch the feed was serving when it published this
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal
    venue_update_id: int  # Bybit's `u`
    ts_event_ns: NanosSinceEpoch  # when the venue says it happened
    ts_recv_ns: NanosSinceEpoch  # when the feed received the frame
    trace_id: str = ""  # the venue frame it came from: "<feed start>-<frame no>"


class BookLevel(Record, frozen=True, kw_only=True):
    price: Decimal
    qty: Decimal


class BookLevels(Message, frozen=True, kw_only=True):
    """The top levels of one symbol's local book (published when the depth is above 1)."""

    symbol: Symbol
    epoch: int
    bids: tuple[BookLevel, ...]  # best first
    asks: tuple[BookLevel, ...]  # best first
    venue_update_id: int
    ts_event_ns: NanosSinceEpoch
    ts_recv_ns: NanosSinceEpoch
    trace_id: str = ""  # the venue frame it came from: "<feed start>-<frame no>"


class Trade(Message, frozen=True, kw_only=True):
    """One public trade on the venue."""

    symbol: Symbol
    epoch: int
    price: Decimal
    qty: Decimal
    taker_side: OrderSide
    trade_id: str
    ts_event_ns: NanosSinceEpoch
    ts_recv_ns: NanosSinceEpoch
    trace_id: str = ""  # the venue frame it came from: "<feed start>-<frame no>"


class FeedStatus(Message, frozen=True, kw_only=True):
    """The feed's connection and book health for one symbol."""

    symbol: Symbol
    epoch: int
    state: FeedState
    reason: str
    ts_event_ns: NanosSinceEpoch


class FeedReady(Message, frozen=True, kw_only=True):
    """The feed serves `symbol` for `epoch`: acknowledged, first book received."""

    symbol: Symbol
    epoch: int
    ts_event_ns: NanosSinceEpoch


class VenueFrame(Record, frozen=True, kw_only=True):
    """One frame of the venue's public stream exactly as the feed received it.

    `data` is the frame's bytes unchanged (Bybit's JSON); `symbol` comes from its topic.
    """

    symbol: Symbol
    data: bytes
    ts_recv_ns: NanosSinceEpoch  # when the feed's websocket read it


class VenueFrames(Message, frozen=True, kw_only=True):
    """The feed's raw tap (`[feed] record-raw`), for the recorder: the frames it received
    since the last of these, in order. Sent in batches (every 64 frames, and at least every
    100 ms) on their own endpoint, after the market data of each frame was published: one
    send for many frames keeps the tap's cost on the hot path to a list append."""

    frames: tuple[VenueFrame, ...]
