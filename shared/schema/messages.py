"""The union of every message kind that crosses a process boundary."""

from shared.schema.commands import (
    AmendOrder,
    AmendOrders,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    ClosePosition,
    RequestSnapshot,
    SetTradingState,
    SubmitOrder,
    SubmitOrders,
)
from shared.schema.control import Heartbeat, ServiceStatus, SnapshotEnd, SnapshotRequest
from shared.schema.events import (
    Alert,
    BalanceChanged,
    ExecutionSnapshot,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    PositionChanged,
    TradingStateChanged,
)
from shared.schema.instruments import InstrumentRulesChanged
from shared.schema.market import BookLevels, FeedReady, FeedStatus, Quote, Trade, VenueFrames
from shared.schema.strategy import StrategyStatus
from shared.schema.universe import MarketMakingUniverse, UniverseChanged

# Append-only: a new kind goes at the end; a kind is never renamed or removed.
BusMessage = (
    Quote
    | Trade
    | BookLevels
    | FeedStatus
    | FeedReady
    | UniverseChanged
    | SubmitOrder
    | CancelOrder
    | AmendOrder
    | CancelAllOrders
    | ClosePosition
    | SetTradingState
    | RequestSnapshot
    | OrderAccepted
    | OrderRejected
    | OrderDenied
    | OrderPartiallyFilled
    | OrderFilled
    | OrderCanceled
    | PositionChanged
    | BalanceChanged
    | TradingStateChanged
    | Alert
    | ExecutionSnapshot
    | Heartbeat
    | SnapshotRequest
    | SnapshotEnd
    | ServiceStatus
    | StrategyStatus
    | SubmitOrders
    | AmendOrders
    | CancelOrders
    | OrderAmended
    | VenueFrames
    | InstrumentRulesChanged
    | MarketMakingUniverse
)
