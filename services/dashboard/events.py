"""Fold bus messages into the view: the executor's, the strategies', the scanner's, the feed's.

`fold(view, message, now_ns)` changes the view for one message; market data go through
`QuoteSampler` first (at most `rate` a second per symbol reach the view). Pure: time is
passed in.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from services.dashboard.view import (
    ALERTS_KEPT,
    DENIALS_KEPT,
    EQUITY_KEPT,
    FILLS_KEPT,
    PRICES_KEPT,
    View,
    ensure_service,
    money,
)
from shared.schema import (
    Alert,
    BalanceChanged,
    BusMessage,
    ExecutionSnapshot,
    FeedStatus,
    MarketMakingUniverse,
    OpenOrder,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    Position,
    PositionChanged,
    Quote,
    ServiceStatus,
    StrategyStatus,
    Trade,
    TradingStateChanged,
    UniverseChanged,
)

NS_PER_S: Final = 1_000_000_000
PRICE_POINT_EVERY_NS: Final = NS_PER_S  # one mid a second per symbol in market.symbols.*.prices
_WORKING: Final = ("orders", "working")
# Denials of these kinds are kept for the controls (rare: an operator's, a halt's)
OPERATOR_COMMANDS: Final = frozenset({"SetTradingState", "ClosePosition", "CancelAllOrders"})
_POSITIONS: Final = ("money", "positions")


def fold(view: View, message: BusMessage, now_ns: int) -> None:
    """Apply one message (quotes and trades: use QuoteSampler, not this) to the view.

    Kinds the page does not show (heartbeats, book levels, instrument rules) change nothing.
    """
    folder = _FOLDERS.get(type(message))
    if folder is not None:
        folder(view, message, now_ns)


def _canceled(view: View, message: OrderCanceled, now_ns: int) -> None:
    view.delete((*_WORKING, message.client_order_id))


def _amended(view: View, message: OrderAmended, now_ns: int) -> None:
    path = (*_WORKING, message.client_order_id)
    if view.get(path) is not None:
        view.merge(path, {"qty": money(message.qty), "limit_price": money(message.limit_price)})


def _service_status(view: View, message: ServiceStatus, now_ns: int) -> None:
    view.scratch.setdefault("bus_detail", {})[message.service] = message.detail
    ensure_service(view, message.service)
    view.merge(
        ("health", "services", message.service),
        {"bus_state": message.state.name, "detail": message.detail},
    )


def _universe(view: View, message: UniverseChanged, now_ns: int) -> None:
    ranking = [
        {"symbol": r.symbol, "score": r.score, "last_price": money(r.last_price)}
        for r in message.ranking
    ]
    view.set(("market", "ranking"), ranking)


def _mm_universe(view: View, message: MarketMakingUniverse, now_ns: int) -> None:
    view.set(("market", "mm_selection"), list(message.symbols))


def _feed_status(view: View, message: FeedStatus, now_ns: int) -> None:
    ensure_symbol(view, message.symbol)
    view.set(("market", "symbols", message.symbol, "feed_state"), message.state.name)


def _state_changed(view: View, message: TradingStateChanged, now_ns: int) -> None:
    view.scratch["state_events"] = view.scratch.get("state_events", 0) + 1
    _trading_state(view, message.state.name, message.reason)


def _snapshot(view: View, message: ExecutionSnapshot, now_ns: int) -> None:
    fold_execution_snapshot(view, message)


def fold_execution_snapshot(view: View, snapshot: ExecutionSnapshot) -> None:
    """Bring orders, positions and the trading state to the executor's whole view: what
    the snapshot lacks goes, the rest is set (as changes, not a rebuild)."""
    _trading_state(view, snapshot.trading_state.name, view.get(("health", "trading_reason")) or "")
    view.set(("health", "reconciled"), snapshot.reconciled)
    orders = {o.client_order_id: _open_order(o) for o in snapshot.open_orders}
    for client_order_id in list(view.get(_WORKING) or {}):
        if client_order_id not in orders:
            view.delete((*_WORKING, client_order_id))
    for client_order_id, order in orders.items():
        known = view.get((*_WORKING, client_order_id)) or {}
        view.set(
            (*_WORKING, client_order_id), {**order, "queue_ahead_qty": known.get("queue_ahead_qty")}
        )
    positions = {p.symbol: p for p in snapshot.positions if p.qty != 0}
    for symbol in list(view.get(_POSITIONS) or {}):
        if symbol not in positions:
            view.delete((*_POSITIONS, symbol))
    for position in positions.values():
        _set_position(view, position)


def _trading_state(view: View, state: str, reason: str) -> None:
    view.set(("health", "trading_state"), state)
    view.set(("health", "trading_reason"), reason)


def _open_order(order: OpenOrder) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "qty": money(order.qty),
        "limit_price": money(order.limit_price),
        "cum_filled_qty": money(order.cum_filled_qty),
        "status": order.status.value,
        "strategy_id": order.strategy_id,
        "queue_ahead_qty": None,
    }


def _set_position(view: View, position: Position | PositionChanged) -> None:
    path = (*_POSITIONS, position.symbol)
    mark = view.get(("market", "symbols", position.symbol, "mid"))
    view.set(
        path,
        {
            "qty": money(position.qty),
            "avg_entry_price": money(position.avg_entry_price),
            "mark_price": mark,
            "unrealised_pnl": money(position.unrealised_pnl),
            "realised_pnl": money(position.realised_pnl),
        },
    )


def _position(view: View, message: PositionChanged, now_ns: int) -> None:
    if message.qty == 0:
        view.delete((*_POSITIONS, message.symbol))
    else:
        _set_position(view, message)
    realised: dict[str, Decimal] = view.scratch.setdefault("realised_by_symbol", {})
    realised[message.symbol] = message.realised_pnl
    total = sum(realised.values(), start=Decimal(0))
    view.append(("money", "realised_pnl"), [message.ts_event_ns, money(total)], EQUITY_KEPT)


def _balance(view: View, message: BalanceChanged, now_ns: int) -> None:
    if message.coin != "USDT":
        return
    balance = {
        "wallet": money(message.wallet_balance),
        "available": money(message.available_balance),
        "equity": money(message.equity),
    }
    before = view.get(("money", "balance"))
    view.set(("money", "balance"), balance)
    if before is None or before.get("equity") != balance["equity"]:
        view.append(("money", "equity"), [message.ts_event_ns, balance["equity"]], EQUITY_KEPT)


def _accepted(view: View, message: OrderAccepted, now_ns: int) -> None:
    path = (*_WORKING, message.client_order_id)
    known = view.get(path)
    if known is not None:
        view.set((*path, "status"), "Accepted")
        return
    # The event names no side, qty or price: those come with the next executor snapshot.
    view.set(
        path,
        {
            "symbol": message.symbol,
            "side": None,
            "order_type": None,
            "qty": None,
            "limit_price": None,
            "cum_filled_qty": None,
            "status": "Accepted",
            "strategy_id": message.strategy_id,
            "queue_ahead_qty": None,
        },
    )


def _fill(view: View, message: OrderPartiallyFilled | OrderFilled, now_ns: int) -> None:
    path = (*_WORKING, message.client_order_id)
    if isinstance(message, OrderFilled):
        view.delete(path)
    elif view.get(path) is not None:
        view.merge(
            path,
            {
                "cum_filled_qty": money(message.cum_filled_qty),
                "status": "PartiallyFilled",
                "side": message.side.value,
            },
        )
    mid = view.get(("market", "symbols", message.symbol, "mid"))
    view.append(("orders", "fills"), _fill_row(message, mid, now_ns), FILLS_KEPT)
    fees = Decimal(view.get(("money", "fees_usdt")) or "0") + message.fee
    view.set(("money", "fees_usdt"), money(fees))


def _fill_row(
    message: OrderPartiallyFilled | OrderFilled, mid: str | None, now_ns: int
) -> dict[str, Any]:
    return {
        "ts_ns": message.ts_event_ns or now_ns,
        "symbol": message.symbol,
        "side": message.side.value,
        "qty": money(message.fill_qty),
        "price": money(message.fill_price),
        "fee": money(message.fee),
        "is_maker": message.is_maker,
        "slippage_bps": slippage_bps(message.side, message.fill_price, mid),
        "latency_ms": _latency_ms(message.ts_trigger_recv_ns, message.ts_ack_ns),
        "client_order_id": message.client_order_id,
        "strategy_id": message.strategy_id,
    }


def fold_daily_loss(view: View, day_start_equity: Decimal | None) -> None:
    """Today's loss as the executor measures it: the equity at the start of the UTC day (its
    journal) minus the equity now (never below 0); None while either is unknown."""
    balance = view.get(("money", "balance"))
    equity = None if balance is None else balance.get("equity")
    if day_start_equity is None or equity is None:
        view.set(("money", "daily_loss_usdt"), None)
        return
    view.set(
        ("money", "daily_loss_usdt"), money(max(Decimal(0), day_start_equity - Decimal(equity)))
    )


def slippage_bps(side: OrderSide, price: Decimal, mid: str | None) -> float | None:
    """What the fill cost against the mid the dashboard last saw, in bps (negative: an edge)."""
    if mid is None:
        return None
    reference = Decimal(mid)
    if reference <= 0:
        return None
    sign = 1 if side is OrderSide.BUY else -1
    return round(float(sign * (price - reference) / reference * 10_000), 3)


def _latency_ms(start_ns: int, end_ns: int) -> float | None:
    if not start_ns or not end_ns or end_ns < start_ns:
        return None
    return round((end_ns - start_ns) / 1e6, 3)


def _refusal(view: View, message: OrderRejected | OrderDenied, now_ns: int) -> None:
    view.delete((*_WORKING, message.client_order_id))
    row = {
        "ts_ns": message.ts_event_ns,
        "kind": "rejected" if isinstance(message, OrderRejected) else "denied",
        "command_kind": message.command_kind if isinstance(message, OrderDenied) else None,
        "client_order_id": message.client_order_id,
        "strategy_id": message.strategy_id,
        "reason": message.reason,
    }
    view.append(("orders", "denials"), row, DENIALS_KEPT)
    if isinstance(message, OrderDenied) and message.command_kind in OPERATOR_COMMANDS:
        view.scratch.setdefault("denied_commands", []).append(
            (message.command_kind, message.reason)
        )


def _alert(view: View, message: Alert, now_ns: int) -> None:
    row = {
        "ts_ns": message.ts_event_ns,
        "source": message.source,
        "severity": message.severity.value,
        "code": message.code,
        "detail": message.detail,
    }
    view.append(("alerts",), row, ALERTS_KEPT)


def _strategy(view: View, message: StrategyStatus, now_ns: int) -> None:
    view.set(
        ("strategies", message.strategy_id),
        {
            "state": message.state,
            "symbol": message.symbol,
            "position_qty": money(message.position_qty),
            "realised_pnl_usdt": money(message.realised_pnl_usdt),
            "reason": message.reason,
            "ts_ns": message.ts_event_ns,
        },
    )


class QuoteSampler:
    """Hold the newest quote and trade per symbol; let each symbol reach the view at most
    `rate` times a second (the rest is superseded, counted in `superseded`)."""

    def __init__(self, rate: float) -> None:
        self._gap_ns = int(NS_PER_S / rate)
        self._quotes: dict[str, tuple[Quote, int]] = {}
        self._trades: dict[str, tuple[Trade, int]] = {}
        self._sent_ns: dict[str, int] = {}
        self._point_ns: dict[str, int] = {}
        self.superseded = 0

    def offer(self, message: Quote | Trade, ts_sent_ns: int) -> None:
        """Hold `message` (sent on the bus at `ts_sent_ns`) in place of the symbol's older one."""
        if isinstance(message, Quote):
            self.superseded += message.symbol in self._quotes
            self._quotes[message.symbol] = (message, ts_sent_ns)
        else:
            self.superseded += message.symbol in self._trades
            self._trades[message.symbol] = (message, ts_sent_ns)

    def newest_mid(self, symbol: str) -> Decimal | None:
        """The mid of the held quote (newer than the view's), None when none is held."""
        held = self._quotes.get(symbol)
        return None if held is None else (held[0].bid_price + held[0].ask_price) / 2

    def due(self, now_ns: int) -> list[str]:
        """The symbols whose held data may reach the view now."""
        waiting = self._quotes.keys() | self._trades.keys()
        return sorted(s for s in waiting if now_ns - self._sent_ns.get(s, 0) >= self._gap_ns)

    def emit(self, view: View, now_ns: int) -> None:
        """Fold every due symbol's newest quote and trade into the view."""
        for symbol in self.due(now_ns):
            self._sent_ns[symbol] = now_ns
            quote, trade = self._quotes.pop(symbol, None), self._trades.pop(symbol, None)
            ensure_symbol(view, symbol)
            if trade is not None:
                view.behind(trade[1], sampled=True)
                view.set(("market", "symbols", symbol, "last"), money(trade[0].price))
            if quote is not None:
                view.behind(quote[1], sampled=True)
                self._quote(view, quote[0], now_ns)

    def _quote(self, view: View, quote: Quote, now_ns: int) -> None:
        path = ("market", "symbols", quote.symbol)
        mid = money((quote.bid_price + quote.ask_price) / 2)
        view.merge(
            path,
            {
                "bid": money(quote.bid_price),
                "ask": money(quote.ask_price),
                "bid_qty": money(quote.bid_qty),
                "ask_qty": money(quote.ask_qty),
                "mid": mid,
            },
        )
        if view.get((*_POSITIONS, quote.symbol)) is not None:
            view.set((*_POSITIONS, quote.symbol, "mark_price"), mid)
        if now_ns - self._point_ns.get(quote.symbol, 0) >= PRICE_POINT_EVERY_NS:
            self._point_ns[quote.symbol] = now_ns
            view.append((*path, "prices"), [quote.ts_event_ns or now_ns, mid], PRICES_KEPT)


_FOLDERS: Final[dict[type, Callable[[View, Any, int], None]]] = {
    ExecutionSnapshot: _snapshot,
    TradingStateChanged: _state_changed,
    PositionChanged: _position,
    BalanceChanged: _balance,
    OrderAccepted: _accepted,
    OrderPartiallyFilled: _fill,
    OrderFilled: _fill,
    OrderCanceled: _canceled,
    OrderAmended: _amended,
    OrderRejected: _refusal,
    OrderDenied: _refusal,
    Alert: _alert,
    ServiceStatus: _service_status,
    StrategyStatus: _strategy,
    UniverseChanged: _universe,
    MarketMakingUniverse: _mm_universe,
    FeedStatus: _feed_status,
}


def ensure_symbol(view: View, symbol: str) -> None:
    if view.get(("market", "symbols", symbol)) is None:
        view.set(("market", "symbols", symbol), _new_symbol())


def _new_symbol() -> dict[str, Any]:
    return {
        "bid": None,
        "ask": None,
        "bid_qty": None,
        "ask_qty": None,
        "mid": None,
        "last": None,
        "feed_state": None,
        "prices": [],
    }
