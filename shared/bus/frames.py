"""Frame layout on every bus socket: [topic, signature, header, body].

The signature comes first so that it is checked before anything is decoded. The header
is a msgpack array (schema, sender, incarnation, seq, ts_sent_ns); the body is one
BusMessage encoded by shared.schema.
"""

from typing import Final

import msgspec

from shared.bus.signing import Signer
from shared.schema import DECODE_ERRORS, SCHEMA_VERSION, BusMessage, decode_body, encode_body


class Header(msgspec.Struct, frozen=True, array_like=True):
    """Who sent a frame, its place in that sender's sequence on its topic, and when it left.

    `seq` counts the frames the sender put on this exact topic (1, 2, ...), so that a
    subscriber to a prefix sees no jumps for the topics it filtered out. `incarnation` is
    the sender's start time in ns: a restarted sender starts every topic's sequence anew,
    and receivers see it as a new incarnation rather than as a gap.
    """

    schema: int
    sender: str
    incarnation: int
    seq: int
    ts_sent_ns: int


class Delivery(msgspec.Struct, frozen=True):
    """One verified, decoded frame as the receiver saw it."""

    topic: bytes
    header: Header
    message: BusMessage
    ts_recv_ns: int


class FrameError(Exception):
    """A frame that cannot be trusted or read; `reason` is its drop counter's name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


_header_encoder: Final = msgspec.msgpack.Encoder()
_header_decoder: Final = msgspec.msgpack.Decoder(Header)
FRAME_COUNT: Final = 4


def encode_frames(topic: bytes, header: Header, message: BusMessage, signer: Signer) -> list[bytes]:
    """Return the four frames of one message."""
    header_bytes = _header_encoder.encode(header)
    body = encode_body(message)
    return [topic, signer.sign(topic, header_bytes, body), header_bytes, body]


def decode_frames(frames: list[bytes], signer: Signer) -> tuple[bytes, Header, BusMessage]:
    """Return (topic, header, message) of a received frame.

    The one boundary of every byte a bus socket receives (subscriber, command PULL,
    snapshot ROUTER and DEALER): raises FrameError with reason "malformed",
    "bad_signature", "undecodable" or "schema_mismatch", and nothing else; the caller
    counts it under that reason and drops the frame.
    """
    if len(frames) != FRAME_COUNT:
        raise FrameError("malformed", f"expected {FRAME_COUNT} frames, got {len(frames)}")
    topic, signature, header_bytes, body = frames
    if not signer.verify(signature, topic, header_bytes, body):
        raise FrameError("bad_signature", f"topic={topic!r}")
    try:
        header = _header_decoder.decode(header_bytes)
    except DECODE_ERRORS as e:
        raise FrameError("undecodable", f"header topic={topic!r}: {_describe(e)}") from e
    if header.schema != SCHEMA_VERSION:
        raise FrameError(
            "schema_mismatch",
            f"sender={header.sender} schema={header.schema} expected={SCHEMA_VERSION}",
        )
    try:
        message = decode_body(body)
    except DECODE_ERRORS as e:
        raise FrameError(
            "undecodable", f"body topic={topic!r} sender={header.sender}: {_describe(e)}"
        ) from e
    return topic, header, message


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"
