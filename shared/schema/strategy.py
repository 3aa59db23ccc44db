"""What a strategy publishes about itself (on its own PUB socket, for status and operators)."""

from decimal import Decimal

from shared.schema.base import Message, NanosSinceEpoch, Symbol


class StrategyStatus(Message, frozen=True, kw_only=True):
    """A strategy's state machine and book-keeping, sent on every transition and periodically."""

    strategy_id: str
    state: str  # the state machine's state, e.g. "Idle", "PositionOpen"
    symbol: Symbol | None  # the symbol it trades (None before the first FeedReady)
    epoch: int
    position_qty: Decimal  # signed, as the strategy believes it (the executor's view wins)
    entry_price: Decimal | None
    realised_pnl_usdt: Decimal  # since the process started, fees included
    reason: str  # why the last transition happened
    ts_event_ns: NanosSinceEpoch
