"""The contract: every message that crosses a process boundary, and its codec.

Imports only msgspec and the standard library. The schema evolves append-only: new fields
go at the end with a default; a kind is never renamed, retyped or reused.
SCHEMA_VERSION changes only for a breaking change, and a receiver drops (and counts)
frames of another version.
"""

from typing import Final, get_args

from shared.schema.base import ClientOrderId, Message, NanosSinceEpoch, Symbol, VenueOrderId
from shared.schema.codec import DECODE_ERRORS, decode_body, encode_body, to_json
from shared.schema.commands import (
    AmendOrder,
    AmendOrders,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    ClosePosition,
    Command,
    RequestSnapshot,
    SetTradingState,
    SubmitOrder,
    SubmitOrders,
)
from shared.schema.control import Heartbeat, ServiceStatus, SnapshotEnd, SnapshotRequest
from shared.schema.enums import (
    AlertSeverity,
    FeedState,
    OrderSide,
    OrderStatus,
    OrderType,
    ServiceState,
    TimeInForce,
    TradingState,
)
from shared.schema.events import (
    Alert,
    BalanceChanged,
    ExecutionSnapshot,
    OpenOrder,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    Position,
    PositionChanged,
    TradingStateChanged,
)
from shared.schema.instruments import InstrumentRules, InstrumentRulesChanged
from shared.schema.market import (
    BookLevel,
    BookLevels,
    FeedReady,
    FeedStatus,
    Quote,
    Trade,
    VenueFrame,
    VenueFrames,
)
from shared.schema.messages import BusMessage
from shared.schema.strategy import StrategyStatus
from shared.schema.topics import topic_for
from shared.schema.universe import (
    MarketMakingCandidate,
    MarketMakingUniverse,
    RankedSymbol,
    UniverseChanged,
)

SCHEMA_VERSION: Final = 1
MESSAGE_KINDS: Final[tuple[type[Message], ...]] = get_args(BusMessage)
COMMAND_KINDS: Final[tuple[type[Message], ...]] = get_args(Command)

__all__ = [
    "COMMAND_KINDS",
    "DECODE_ERRORS",
    "MESSAGE_KINDS",
    "SCHEMA_VERSION",
    "Alert",
    "AlertSeverity",
    "AmendOrder",
    "AmendOrders",
    "BalanceChanged",
    "BookLevel",
    "BookLevels",
    "BusMessage",
    "CancelAllOrders",
    "CancelOrder",
    "CancelOrders",
    "ClientOrderId",
    "ClosePosition",
    "Command",
    "ExecutionSnapshot",
    "FeedReady",
    "FeedState",
    "FeedStatus",
    "Heartbeat",
    "InstrumentRules",
    "InstrumentRulesChanged",
    "MarketMakingCandidate",
    "MarketMakingUniverse",
    "Message",
    "NanosSinceEpoch",
    "OpenOrder",
    "OrderAccepted",
    "OrderAmended",
    "OrderCanceled",
    "OrderDenied",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionChanged",
    "Quote",
    "RankedSymbol",
    "RequestSnapshot",
    "ServiceState",
    "ServiceStatus",
    "SetTradingState",
    "SnapshotEnd",
    "SnapshotRequest",
    "StrategyStatus",
    "SubmitOrder",
    "SubmitOrders",
    "Symbol",
    "TimeInForce",
    "Trade",
    "TradingState",
    "TradingStateChanged",
    "UniverseChanged",
    "VenueFrame",
    "VenueFrames",
    "VenueOrderId",
    "decode_body",
    "encode_body",
    "to_json",
    "topic_for",
]
