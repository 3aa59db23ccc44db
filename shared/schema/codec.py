"""The one encoder and the one decoder of bus message bodies, built once at import."""

from typing import Final

import msgspec

from shared.schema.messages import BusMessage

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final[msgspec.msgpack.Decoder[BusMessage]] = msgspec.msgpack.Decoder(BusMessage)
_json_encoder: Final = msgspec.json.Encoder()


def encode_body(message: BusMessage) -> bytes:
    """Return the msgpack bytes of one message (Decimal travels as an exact string)."""
    return _encoder.encode(message)


def decode_body(body: bytes) -> BusMessage:
    """Return the message in `body`.

    Raises msgspec.DecodeError (not msgpack, unknown kind, wrong field type or value).
    """
    return _decoder.decode(body)


def to_json(message: BusMessage) -> bytes:
    """Return the message as one JSON object (for people and tools, never on the bus)."""
    return _json_encoder.encode(message)
