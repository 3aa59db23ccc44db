"""Enumerations used in bus messages. Values are stable wire strings: never rename one."""

from enum import StrEnum


class OrderSide(StrEnum):
    BUY = "Buy"
    SELL = "Sell"


class OrderType(StrEnum):
    MARKET = "Market"
    LIMIT = "Limit"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "PostOnly"


class OrderStatus(StrEnum):
    """Our view of an order's life; the executor maps the venue's statuses onto it."""

    INTENDED = "Intended"  # journaled, not yet sent
    SUBMITTED = "Submitted"  # sent, no answer yet
    IN_DOUBT = "InDoubt"  # sent, answer lost: ask the venue before anything else
    ACCEPTED = "Accepted"
    PARTIALLY_FILLED = "PartiallyFilled"
    PENDING_CANCEL = "PendingCancel"
    FILLED = "Filled"
    CANCELED = "Canceled"
    REJECTED = "Rejected"
    DENIED = "Denied"


class TradingState(StrEnum):
    ACTIVE = "Active"  # new exposure allowed
    REDUCING = "Reducing"  # only orders that reduce a position
    HALTED = "Halted"  # nothing new until an operator resumes


class FeedState(StrEnum):
    CONNECTED = "Connected"
    DISCONNECTED = "Disconnected"
    RESYNCING = "Resyncing"
    STALE = "Stale"
    CROSSED = "Crossed"
    LIVE = "Live"


class ServiceState(StrEnum):
    STARTING = "Starting"
    RUNNING = "Running"
    DEGRADED = "Degraded"
    STOPPING = "Stopping"


class AlertSeverity(StrEnum):
    INFO = "Info"
    WARNING = "Warning"
    CRITICAL = "Critical"
