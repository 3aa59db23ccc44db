"""Base of every bus message, and the id and time types the messages share."""

from typing import NewType

import msgspec

Symbol = NewType("Symbol", str)  # a venue symbol, e.g. "BTCUSDT"
ClientOrderId = NewType("ClientOrderId", str)  # ours; also the venue's orderLinkId
VenueOrderId = NewType("VenueOrderId", str)  # the venue's orderId
NanosSinceEpoch = int  # UNIX time in integer nanoseconds


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag=True):
    """Base of every bus message: immutable, keyword-only, tagged with its class name."""


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """An untagged value carried inside a message (a book level, a ranked symbol, ...)."""
