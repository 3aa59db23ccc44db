"""Fold bus messages into the view: the executor's, the strategies', the scanner's, the feed's.

`fold(view, message, now_ns)` changes the view for one message; quotes and trades go
through market.QuoteSampler instead. Pure: time is passed in.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from services.dashboard.market import ensure_symbol
from services.dashboard.money import (
    balance_changed,
    drop_position,
    position_changed,
    set_position,
)
from services.dashboard.view import (
    ALERTS_KEPT,
    DENIALS_KEPT,
    FILLS_KEPT,
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
    PositionChanged,
    ServiceStatus,
    StrategyStatus,
    TradingStateChanged,
    UniverseChanged,
)

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
    view.scratch.setdefault("bus_status", {})[message.service] = message.state.name
    ensure_service(view, message.service)
    # The bus column is liveness for every service (processes.bus_state); the service's own
    # state goes beside it, shown by the page when it is not RUNNING.
    view.merge(
        ("health", "services", message.service),
        {"bus_status": message.state.name, "detail": message.detail},
    )


def _universe(view: View, message: UniverseChanged, now_ns: int) -> None:
    ranking = [
        {"symbol": r.symbol, "score": r.score, "last_price": money(r.last_price)}
        for r in message.ranking
    ]
    view.set(("market", "ranking"), ranking)
    view.set(("market", "ranking_ts_ns"), message.ts_event_ns)  # its last prices are this old


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
            drop_position(view, symbol)
    for position in positions.values():
        set_position(view, position)


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
    # fees_usdt: today's, from the journal (this process sees only the fills since it came)


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
        "exec_id": message.exec_id,  # the venue's execId: unique per fill (the page's row key)
    }


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


_FOLDERS: Final[dict[type, Callable[[View, Any, int], None]]] = {
    ExecutionSnapshot: _snapshot,
    TradingStateChanged: _state_changed,
    PositionChanged: position_changed,
    BalanceChanged: balance_changed,
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
