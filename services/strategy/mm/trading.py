"""The market maker core's small helpers: reject rate, taker orders, the quote manager.

`RejectRate` counts sent orders and rejections over a rolling window (the guards' input);
`TakerDesk` builds the reduce-only Market IOC orders of stage 4 and remembers the ones in
flight (one per symbol); `new_manager` builds the quote manager from the settings;
`order_ids` lists the client order ids a command names.
"""

from collections import deque
from decimal import Decimal

from services.strategy.api import Command
from services.strategy.mm.estimators import NS_PER_S
from services.strategy.mm.fast_cancel import FastCancelKnobs
from services.strategy.mm.pipeline import TakerOrder
from services.strategy.mm.queue import QueueBoard
from services.strategy.mm.quote_manager import ManagerKnobs, QuoteManager
from services.strategy.mm.requote import RequoteKnobs
from services.strategy.settings import MarketMakerSection
from shared.queue_position import QueueModel
from shared.schema import (
    AmendOrders,
    BookLevels,
    CancelOrders,
    ClientOrderId,
    OrderType,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    TimeInForce,
)

MAX_EVENTS = 10_000


class RejectRate:
    """Rejected / sent over a rolling window (0 when nothing was sent)."""

    def __init__(self, window_s: float) -> None:
        self._window_ns = int(window_s * NS_PER_S)
        self._sent: deque[int] = deque(maxlen=MAX_EVENTS)
        self._rejected: deque[int] = deque(maxlen=MAX_EVENTS)

    def sent(self, now_ns: int, count: int = 1) -> None:
        self._sent.extend([now_ns] * count)

    def rejected(self, now_ns: int) -> None:
        self._rejected.append(now_ns)

    def ratio(self, now_ns: int) -> float:
        cutoff = now_ns - self._window_ns
        for times in (self._sent, self._rejected):
            while times and times[0] <= cutoff:
                times.popleft()
        return 0.0 if not self._sent else min(1.0, len(self._rejected) / len(self._sent))


class TakerDesk:
    """Stage 4's taker orders: built here, at most one in flight per symbol."""

    def __init__(self, strategy_id: str, ttl_ns: int) -> None:
        self.strategy_id = strategy_id
        self.ttl_ns = ttl_ns
        self.in_flight: dict[ClientOrderId, Symbol] = {}

    def busy(self, symbol: Symbol) -> bool:
        return symbol in self.in_flight.values()

    def order(
        self, order_id: ClientOrderId, taker: TakerOrder, levels: BookLevels, now_ns: int
    ) -> SubmitOrder:
        """A reduce-only Market IOC for `taker`, triggered by `levels`; held as in flight."""
        self.in_flight[order_id] = levels.symbol
        return SubmitOrder(
            client_order_id=order_id,
            strategy_id=self.strategy_id,
            epoch=levels.epoch,
            symbol=levels.symbol,
            side=taker.side,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            qty=taker.qty,
            reduce_only=True,
            ts_created_ns=now_ns,
            expires_at_ns=now_ns + self.ttl_ns,
            ts_trigger_recv_ns=levels.ts_recv_ns,
            ts_trigger_event_ns=levels.ts_event_ns,
            trace_id=levels.trace_id,
        )


def new_manager(strategy_id: str, mm: MarketMakerSection, last_seq: int) -> QuoteManager:
    """A fresh quote manager (empty book and queue board) whose ids start above `last_seq`."""
    knobs = ManagerKnobs(
        requote=RequoteKnobs(mm.price_tolerance_ticks, Decimal(0), mm.keep_max_ticks),
        fast_cancel=FastCancelKnobs(
            mm.fast_cancel_mid_ticks,
            Decimal(repr(mm.fast_cancel_mid_bps)),
            mm.fast_cancel_on_trade_at_price,
        ),
        horizon_s=mm.queue_horizon_s,
        ttl_ns=mm.order_ttl_ms * 1_000_000,
    )
    board = QueueBoard(QueueModel(mm.queue_model, mm.queue_power), int(mm.flow_tau_s * NS_PER_S))
    manager = QuoteManager(strategy_id, knobs, board)
    manager.book.last_seq = last_seq
    return manager


def order_ids(command: Command) -> list[ClientOrderId]:
    """The client order ids `command` names (none for a cancel-all)."""
    if isinstance(command, SubmitOrders):
        return [o.client_order_id for o in command.orders]
    if isinstance(command, AmendOrders):
        return [a.client_order_id for a in command.amends]
    if isinstance(command, CancelOrders):
        return [c.client_order_id for c in command.cancels]
    order_id: ClientOrderId | None = getattr(command, "client_order_id", None)
    return [] if order_id is None else [order_id]
