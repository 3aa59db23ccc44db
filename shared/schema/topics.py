"""Topic of every message kind. Topics end with "." so that no symbol prefixes another."""

from typing import Final

from shared.schema.base import Message
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

MARKET_DATA: Final = "md."
UNIVERSE: Final = "universe."
# The market-making selection: under UNIVERSE, so a reader of "universe." gets it too.
MM_UNIVERSE: Final = "universe.mm."
EXECUTION: Final = "exec."
HEARTBEAT: Final = "hb."
STATUS: Final = "status."
ALERT: Final = "alert."
COMMAND: Final = "cmd."
SNAPSHOT: Final = "snap."
STRATEGY: Final = "strategy."
RAW: Final = "raw."  # the feed's raw tap: VenueFrames, for the recorder

_SYMBOL_TOPICS: Final[dict[type[Message], str]] = {
    Quote: "md.quote.",
    Trade: "md.trade.",
    BookLevels: "md.book.",
    FeedStatus: "md.status.",
    FeedReady: "md.ready.",
    InstrumentRulesChanged: "md.rules.",
}
_ORDER_TOPICS: Final[dict[type[Message], str]] = {
    OrderAccepted: "exec.order.",
    OrderRejected: "exec.order.",
    OrderDenied: "exec.order.",
    OrderPartiallyFilled: "exec.fill.",
    OrderFilled: "exec.fill.",
    OrderCanceled: "exec.order.",
    OrderAmended: "exec.order.",
    StrategyStatus: "strategy.status.",
}
_FIXED_TOPICS: Final[dict[type[Message], str]] = {
    UniverseChanged: "universe.",
    MarketMakingUniverse: MM_UNIVERSE,
    PositionChanged: "exec.position.",
    BalanceChanged: "exec.balance.",
    TradingStateChanged: "exec.state.",
    ExecutionSnapshot: "exec.snapshot.",
    VenueFrames: RAW,
    SnapshotRequest: "snap.request.",
    SnapshotEnd: "snap.end.",
}
_SENDER_TOPICS: Final[dict[type[Message], str]] = {
    Heartbeat: HEARTBEAT,
    ServiceStatus: STATUS,
    Alert: ALERT,
}


def topic_for(message: Message, sender: str) -> bytes:
    """Return the topic a message is published under.

    Market data: `md.<kind>.<SYMBOL>.`; the feed's raw frames: `raw.`;
    order events: `exec.<order|fill>.<strategy_id>.`;
    a strategy's status: `strategy.status.<strategy_id>.`;
    heartbeats, status and alerts: `<hb|status|alert>.<sender>.`; commands: `cmd.<Kind>.`.
    """
    kind = type(message)
    if prefix := _SYMBOL_TOPICS.get(kind):
        return f"{prefix}{message.symbol}.".encode()  # type: ignore[attr-defined]
    if prefix := _ORDER_TOPICS.get(kind):
        return f"{prefix}{message.strategy_id}.".encode()  # type: ignore[attr-defined]
    if prefix := _FIXED_TOPICS.get(kind):
        return prefix.encode()
    if prefix := _SENDER_TOPICS.get(kind):
        return f"{prefix}{sender}.".encode()
    return f"{COMMAND}{kind.__name__}.".encode()
