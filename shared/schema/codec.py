"""The one encoder and the one decoder of bus message bodies, built once at import."""

from typing import Final

import msgspec

from shared.schema.messages import BusMessage

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final[msgspec.msgpack.Decoder[BusMessage]] = msgspec.msgpack.Decoder(BusMessage)
_json_encoder: Final = msgspec.json.Encoder()

# Everything decoding untrusted bytes with msgspec was seen to raise: its own errors
# (ValidationError included), UnicodeDecodeError (a ValueError) for a str that is not UTF-8,
# ArithmeticError (decimal.InvalidOperation from a __post_init__ comparing a NaN,
# OverflowError) and RecursionError for deep nesting; TypeError and KeyError in case a
# __post_init__ or a check plugged in after decoding raises them. The bus and the venue
# boundaries catch exactly these and count them as drops.
DECODE_ERRORS: Final = (
    msgspec.DecodeError,
    ValueError,
    ArithmeticError,
    TypeError,
    KeyError,
    RecursionError,
)


def encode_body(message: BusMessage) -> bytes:
    """Return the msgpack bytes of one message (Decimal travels as an exact string)."""
    return _encoder.encode(message)


def decode_body(body: bytes) -> BusMessage:
    """Return the message in `body`.

    Raises one of DECODE_ERRORS (not msgpack, unknown kind, wrong field type or value).
    """
    return _decoder.decode(body)


def to_json(message: BusMessage) -> bytes:
    """Return the message as one JSON object (for people and tools, never on the bus)."""
    return _json_encoder.encode(message)
