"""OrderRegistry: the single owner of the executor's OrderRecords, positions and prices.

Records are keyed by client_order_id and indexed by venue order id. The registry builds
the risk Exposure and the ExecutionSnapshot, and turns venue reports into bus events
(pure helpers below). It does no I/O: the service journals and publishes.
"""

from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from services.executor.journal_records import Fill
from services.executor.order_state import OrderRecord
from services.executor.recent_ids import RecentIds
from services.executor.reconciliation import JournalView
from services.executor.risk import Exposure, PositionExposure
from services.executor.venue_reports import VenueFill, VenueOrder, VenuePosition
from shared.bybit import wire
from shared.bybit.translate import decimal_or_none
from shared.schema import (
    BalanceChanged,
    ClientOrderId,
    ExecutionSnapshot,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSide,
    OrderType,
    Position,
    PositionChanged,
    SubmitOrder,
    Symbol,
    TradingState,
    VenueOrderId,
)

_RECENT_ORDERS: Final = 10_000
_DONE_KEPT: Final = 500  # finished orders kept in memory; the journal keeps them all (recall)
NS_PER_S: Final = 1_000_000_000
_ZERO: Final = Decimal(0)
NS_PER_MINUTE: Final = 60 * NS_PER_S


class OrderRegistry:
    """Every order the executor knows, and its view of positions and last trade prices."""

    def __init__(self) -> None:
        self._orders: dict[ClientOrderId, OrderRecord] = {}  # working, and just finished
        self._done: dict[ClientOrderId, OrderRecord] = {}  # finished, oldest first, bounded
        self._by_venue_id: dict[VenueOrderId, ClientOrderId] = {}
        self.positions: dict[Symbol, Position] = {}
        self.position_seq: dict[Symbol, int] = {}  # the venue's cross seq of each position
        self.position_streamed_ns: dict[Symbol, int] = {}  # last told by the private stream
        self.exec_ids = RecentIds()  # the fills applied lately (journal and since), bounded
        self._prices: dict[str, tuple[Decimal, int]] = {}  # symbol -> (price, ts_ns)
        self._recent_orders: deque[int] = deque(maxlen=_RECENT_ORDERS)
        # The working orders' totals for risk: how many, and by (symbol, is a buy) the qty
        # they could still add; each record's own part, to take it back when it changes.
        self._working = 0
        self._leaves: dict[tuple[str, bool], Decimal] = {}
        self._working_parts: dict[ClientOrderId, tuple[tuple[str, bool], Decimal]] = {}

    def add(self, record: OrderRecord) -> None:
        self._orders[record.client_order_id] = record
        record.on_change = self._refresh
        self._refresh(record)
        self.index(record)

    def index(self, record: OrderRecord) -> None:
        """Remember the record's venue id (call after it learnt one)."""
        if record.venue_order_id:
            self._by_venue_id[record.venue_order_id] = record.client_order_id

    def get(self, client_order_id: str) -> OrderRecord | None:
        coid = ClientOrderId(client_order_id)
        return self._orders.get(coid) or self._done.get(coid)

    def find(self, order_link_id: str, order_id: str) -> OrderRecord | None:
        """Return the record of a venue report, by orderLinkId first, then orderId."""
        record = self.get(order_link_id) if order_link_id else None
        if record is None and order_id:
            coid = self._by_venue_id.get(VenueOrderId(order_id))
            record = None if coid is None else self.get(coid)
            if record is None:  # an adopted order with no orderLinkId is keyed by its id
                record = self.get(order_id)
        return record

    def recall(self, record: OrderRecord) -> None:
        """Take back an order read from the journal (one finished before the last
        `_DONE_KEPT`), so that the reports that follow find it here."""
        if not record.is_terminal:
            self.add(record)
            return
        self._done[record.client_order_id] = record
        self.index(record)
        self._retire([])

    def open_records(self) -> list[OrderRecord]:
        """The working orders; finished ones move to a bounded store on the way."""
        open_now = [r for r in self._orders.values() if not r.is_terminal]
        if len(open_now) < len(self._orders):
            self._retire([r for r in self._orders.values() if r.is_terminal])
        return open_now

    def _retire(self, finished: list[OrderRecord]) -> None:
        for record in finished:
            del self._orders[record.client_order_id]
            self._done[record.client_order_id] = record
        while len(self._done) > _DONE_KEPT:
            old = self._done.pop(next(iter(self._done)))
            if old.venue_order_id:
                self._by_venue_id.pop(old.venue_order_id, None)

    def note_order(self, ts_ns: int) -> None:
        """Count an order that passed the risk check (orders per minute)."""
        self._recent_orders.append(ts_ns)
        while self._recent_orders and ts_ns - self._recent_orders[0] >= NS_PER_MINUTE:
            self._recent_orders.popleft()

    def set_price(self, symbol: str, price: Decimal, ts_ns: int) -> None:
        self._prices[symbol] = (price, ts_ns)

    def price(self, symbol: str, now_ns: int, max_age_ns: int) -> Decimal | None:
        """Return the last trade price if it is younger than `max_age_ns`."""
        entry = self._prices.get(symbol)
        if entry is None or now_ns - entry[1] > max_age_ns:
            return None
        return entry[0]

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(Symbol(symbol))
        return Decimal(0) if position is None else position.qty

    def exposure(self, now_ns: int) -> Exposure:
        """What risk weighs now: positions, and the working orders (counted, and their
        unfilled qty that could add to a position), kept up to date as records change
        (no scan of the working orders per command)."""
        recent = self._recent_orders  # ascending
        while recent and now_ns - recent[0] >= NS_PER_MINUTE:
            recent.popleft()
        leaves: dict[str, tuple[Decimal, Decimal]] = {}
        for (symbol, is_buy), left in self._leaves.items():
            if left:
                buys, sells = leaves.get(symbol, (_ZERO, _ZERO))
                leaves[symbol] = (buys + left, sells) if is_buy else (buys, sells + left)
        return Exposure(
            positions={
                s: PositionExposure(qty=p.qty, avg_price=p.avg_entry_price)
                for s, p in self.positions.items()
            },
            open_orders=self._working,
            orders_last_minute=len(recent),
            last_trade_price={s: p for s, (p, _) in self._prices.items()},
            working_qty=leaves,
        )

    def _refresh(self, record: OrderRecord) -> None:
        """Take the record's part in the working totals anew (OrderRecord.on_change)."""
        old = self._working_parts.pop(record.client_order_id, None)
        if old is not None:
            key, left = old
            self._working -= 1
            self._leaves[key] -= left
        if record.is_terminal:
            return
        key = (record.symbol, record.side is OrderSide.BUY)
        left = _ZERO if record.reduce_only else max(record.qty - record.cum_filled_qty, _ZERO)
        self._working += 1
        self._leaves[key] = self._leaves.get(key, _ZERO) + left
        self._working_parts[record.client_order_id] = (key, left)

    def journal_view(self, venue_open: Sequence[VenueOrder] = ()) -> JournalView:
        """Our side for reconcile(): the working orders, and the finished ones among
        `venue_open` (the venue's open-order list may be older than the stream's reports)."""
        finished = [
            record
            for order in venue_open
            if (record := self.find(order.order_link_id, order.order_id)) is not None
            and record.is_terminal
        ]
        return JournalView(
            open_orders=self.open_records() + finished,
            exec_ids=set(self.exec_ids),
            positions={s: p.qty for s, p in self.positions.items()},
        )

    def snapshot(self, state: TradingState, reconciled: bool, now_ns: int) -> ExecutionSnapshot:
        return ExecutionSnapshot(
            open_orders=tuple(r.to_open_order() for r in self.open_records()),
            positions=tuple(p for p in self.positions.values() if p.qty != 0),
            trading_state=state,
            reconciled=reconciled,
            ts_event_ns=now_ns,
        )


# ---------------------------------------------------------------- pure translations


def create_request(command: SubmitOrder) -> wire.OrderCreateRequest:
    """Return the venue request of an intent; its orderLinkId is the client_order_id."""
    limit = command.order_type is OrderType.LIMIT
    return wire.OrderCreateRequest(
        symbol=command.symbol,
        side=str(command.side),
        order_type=str(command.order_type),
        qty=_text(command.qty),
        price=_text(command.limit_price) if limit and command.limit_price is not None else None,
        time_in_force=str(command.time_in_force),
        order_link_id=command.client_order_id,
        reduce_only=True if command.reduce_only else None,
    )


def to_fill(client_order_id: ClientOrderId, execution: VenueFill) -> Fill:
    """Return the journal's fill of a venue execution of the order `client_order_id`."""
    return Fill(
        exec_id=execution.exec_id,
        client_order_id=client_order_id,
        venue_order_id=execution.order_id,
        qty=execution.qty,
        price=execution.price,
        fee=execution.fee,
        is_maker=execution.is_maker,
        ts_event_ns=execution.ts_ns,
    )


def fill_event(record: OrderRecord, fill: Fill) -> OrderFilled | OrderPartiallyFilled:
    """Return the event of a fill already applied to `record`."""
    done = record.cum_filled_qty >= record.qty
    kind = OrderFilled if done else OrderPartiallyFilled
    return kind(
        client_order_id=record.client_order_id,
        venue_order_id=fill.venue_order_id,
        strategy_id=record.strategy_id,
        symbol=record.symbol,
        side=record.side,
        exec_id=fill.exec_id,
        fill_qty=fill.qty,
        fill_price=fill.price,
        cum_filled_qty=record.cum_filled_qty,
        leaves_qty=max(record.qty - record.cum_filled_qty, Decimal(0)),
        fee=fill.fee,
        is_maker=fill.is_maker,
        ts_event_ns=fill.ts_event_ns,
        ts_trigger_recv_ns=record.ts_trigger_recv_ns,
        ts_request_sent_ns=record.ts_request_sent_ns,
        ts_ack_ns=record.ts_ack_ns,
        trace_id=record.trace_id,
    )


def accepted_event(record: OrderRecord, venue_order_id: VenueOrderId, ts_ns: int) -> OrderAccepted:
    """The order's acknowledgement as published (its record already holds the ack)."""
    return OrderAccepted(
        client_order_id=record.client_order_id,
        venue_order_id=venue_order_id,
        strategy_id=record.strategy_id,
        symbol=record.symbol,
        ts_event_ns=ts_ns,
        ts_trigger_recv_ns=record.ts_trigger_recv_ns,
        ts_request_sent_ns=record.ts_request_sent_ns,
        ts_ack_ns=record.ts_ack_ns,
        trace_id=record.trace_id,
    )


def canceled_event(
    record: OrderRecord, reason: str, ts_ns: int, venue_cum_qty: Decimal = Decimal(0)
) -> OrderCanceled:
    """`venue_cum_qty`: what the venue's order report says was filled, which may be more than
    the fills applied so far (its execution reports can come after it): the larger is told."""
    return OrderCanceled(
        client_order_id=record.client_order_id,
        venue_order_id=record.venue_order_id or VenueOrderId(""),
        strategy_id=record.strategy_id,
        symbol=record.symbol,
        cum_filled_qty=max(record.cum_filled_qty, venue_cum_qty),
        reason=reason,
        ts_event_ns=ts_ns,
        trace_id=record.trace_id,
    )


def position_changed(report: VenuePosition, ts_ns: int) -> PositionChanged:
    position = report.position
    return PositionChanged(
        symbol=position.symbol,
        qty=position.qty,
        avg_entry_price=position.avg_entry_price,
        unrealised_pnl=position.unrealised_pnl,
        realised_pnl=position.realised_pnl,
        stop_loss_price=report.stop_loss,
        ts_event_ns=ts_ns,
    )


def balance_events(wallet: wire.Wallet, ts_ns: int) -> list[BalanceChanged]:
    available = decimal_or_none(wallet.total_available_balance) or Decimal(0)
    return [
        BalanceChanged(
            coin=coin.coin,
            wallet_balance=coin.wallet_balance,
            available_balance=decimal_or_none(coin.available_to_withdraw) or available,
            equity=coin.equity,
            ts_event_ns=ts_ns,
        )
        for coin in wallet.coin
    ]


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"
