"""The one boundary of the venue's websocket bytes: a frame in, a wire type or a drop out.

Nothing here raises. Every function returns either the decoded frame or a FrameDrop that
says why not; the caller counts the drop (StreamStats.drop) and logs it. One function per
channel: `decode_public` (market data), `decode_private` (orders, executions, positions,
wallet), `probe_frame` and `decode_ack` (the control replies BybitStream reads itself).

`decode_public` and `decode_private` take an optional `check`: a validation of the decoded
frame (finite, positive prices ...) that returns a refusal (logged by its str) or None. It runs
inside the boundary, so a check that raises is a drop too, never an escape.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import msgspec

from shared.bybit import wire
from shared.bybit.drops import VenueDropReason, describe, reason_of
from shared.schema import DECODE_ERRORS

T = TypeVar("T")

HEAD_BYTES: Final = 64  # a data frame names its topic within this prefix
DETAIL_BYTES: Final = 120  # how much of a dropped frame a log line shows


@dataclass(frozen=True, slots=True)
class FrameDrop:
    """A frame refused at the boundary: `reason` names its counter, `detail` is for the log."""

    reason: VenueDropReason
    detail: str


def drop_of(e: BaseException) -> FrameDrop:
    return FrameDrop(reason_of(e), describe(e))


# ---------------------------------------------------------------- public: market data

PublicFrame = wire.OrderBookMessage | wire.PublicTradeMessage
PublicCheck = Callable[[PublicFrame], object | None]  # a refusal (its str is logged) or None

_BOOK: Final = msgspec.json.Decoder(wire.OrderBookMessage)
_TRADES: Final = msgspec.json.Decoder(wire.PublicTradeMessage)


def decode_public(data: bytes, check: PublicCheck | None = None) -> PublicFrame | FrameDrop:
    """Return the order book or trades frame in `data`, or why it was dropped."""
    head = data[:HEAD_BYTES]
    try:
        frame: PublicFrame
        if b'"orderbook.' in head:
            frame = _BOOK.decode(data)
        elif b'"publicTrade.' in head:
            frame = _TRADES.decode(data)
        else:
            return FrameDrop(VenueDropReason.UNKNOWN_TOPIC, repr(head))
        return _checked(frame, check)
    except DECODE_ERRORS as e:
        return drop_of(e)


# ---------------------------------------------------------------- private: the account


class OrderFrame(wire.PrivateMessage[wire.OrderEvent], kw_only=True):
    """A frame of the `order` topic."""


class ExecutionFrame(wire.PrivateMessage[wire.ExecutionEvent], kw_only=True):
    """A frame of the `execution` topic."""


class PositionFrame(wire.PrivateMessage[wire.PositionEvent], kw_only=True):
    """A frame of the `position` topic."""


class WalletFrame(wire.PrivateMessage[wire.Wallet], kw_only=True):
    """A frame of the `wallet` topic."""


PrivateFrame = OrderFrame | ExecutionFrame | PositionFrame | WalletFrame
PrivateCheck = Callable[[PrivateFrame], object | None]

_PROBE: Final = msgspec.json.Decoder(wire.TopicProbe)
_ACK: Final = msgspec.json.Decoder(wire.WsAck)
# Topic prefix -> decoder, tried in order ("order" must not catch another topic's frames:
# none of the others starts with it).
_PRIVATE: Final[tuple[tuple[str, msgspec.json.Decoder[Any]], ...]] = (
    ("order", msgspec.json.Decoder(OrderFrame)),
    ("execution", msgspec.json.Decoder(ExecutionFrame)),
    ("position", msgspec.json.Decoder(PositionFrame)),
    ("wallet", msgspec.json.Decoder(WalletFrame)),
)


def decode_private(data: bytes, check: PrivateCheck | None = None) -> PrivateFrame | FrameDrop:
    """Return the order, execution, position or wallet frame in `data`, or why it was dropped."""
    try:
        topic = _PROBE.decode(data).topic or ""
        for prefix, decoder in _PRIVATE:
            if topic.startswith(prefix):
                frame: PrivateFrame = decoder.decode(data)
                return _checked(frame, check)
        return FrameDrop(VenueDropReason.UNKNOWN_TOPIC, repr(topic[:DETAIL_BYTES]))
    except DECODE_ERRORS as e:
        return drop_of(e)


# ---------------------------------------------------------------- control replies


def probe_frame(data: bytes) -> wire.TopicProbe | FrameDrop:
    """Return the topic and op of any frame (to route it), or why it cannot be read."""
    try:
        probe = _PROBE.decode(data)
    except DECODE_ERRORS as e:
        return drop_of(e)
    if probe.topic is None and not probe.op:
        return FrameDrop(VenueDropReason.NO_TOPIC_NOR_OP, "neither topic nor op")
    return probe


def decode_ack(data: bytes) -> wire.WsAck | FrameDrop:
    """Return the reply to a subscribe, unsubscribe, auth or public ping, or why not."""
    try:
        return _ACK.decode(data)
    except DECODE_ERRORS as e:
        return drop_of(e)


def _checked(frame: T, check: Callable[[T], object | None] | None) -> T | FrameDrop:
    if check is not None and (why := check(frame)) is not None:
        return FrameDrop(VenueDropReason.REFUSED, str(why))
    return frame
