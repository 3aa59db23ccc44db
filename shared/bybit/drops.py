"""Why bytes from the venue were dropped at a boundary: the reasons and the exceptions they name.

Shared by the websocket boundary (shared.bybit.ws_frames, counted in StreamStats.dropped)
and the REST one (shared.bybit.rest_decode, counted in RestStats.dropped).
"""

from enum import StrEnum

import msgspec


class VenueDropReason(StrEnum):
    """Why a frame or a body was not handed on. Each has its own counter."""

    NOT_JSON = "not_json"  # not JSON at all, or cut short
    NOT_UTF8 = "not_utf8"  # a string that is not valid UTF-8
    WRONG_SHAPE = "wrong_shape"  # JSON, but a field is missing or of another type
    BAD_VALUE = "bad_value"  # a value no number or type can hold (e.g. an absurd exponent)
    TOO_DEEP = "too_deep"  # nested deeper than a decoder recurses
    UNKNOWN_TOPIC = "unknown_topic"  # a data frame of a topic this channel does not carry
    NO_TOPIC_NOR_OP = "no_topic_nor_op"  # neither a data frame nor a control reply
    REFUSED = "refused"  # decoded, but a check refused it


def reason_of(e: BaseException) -> VenueDropReason:
    """Return the drop reason of an exception raised while decoding or checking venue bytes."""
    if isinstance(e, msgspec.ValidationError):
        return VenueDropReason.WRONG_SHAPE
    if isinstance(e, msgspec.DecodeError):
        return VenueDropReason.NOT_JSON
    if isinstance(e, UnicodeDecodeError):
        return VenueDropReason.NOT_UTF8
    if isinstance(e, RecursionError):
        return VenueDropReason.TOO_DEEP
    return VenueDropReason.BAD_VALUE


def describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"
