"""Account queries: open and historical orders, executions, positions, the wallet."""

from collections.abc import Iterable, Sequence
from typing import Final

from services.simulator.account_views import order_to_wire, position_info, wallet_to_wire
from services.simulator.accounts import Account, OrderState, Position
from services.simulator.venue.history import archived
from services.simulator.venue.state import VenueState, mark_price, params_error
from shared.bybit import wire

_DAY_MS: Final = 86_400_000
_CONDITIONAL: Final = frozenset({"Untriggered", "Triggered", "Deactivated"})
_NONE_HERE: Final = frozenset({"tpslOrder", "OcoOrder", "BidirectionalTpslOrder"})


def filtered(orders: list[wire.Order], order_filter: str | None) -> list[wire.Order]:
    """orderFilter: Order (active orders), StopOrder (conditional ones), others none here."""
    if order_filter in (None, ""):
        return orders
    if order_filter == "Order":
        return [o for o in orders if o.order_status not in _CONDITIONAL]
    if order_filter == "StopOrder":
        return [o for o in orders if o.order_status in _CONDITIONAL]
    if order_filter in _NONE_HERE:
        return []  # the venue makes no such orders
    raise params_error("params error: orderFilter invalid")


def orders(
    state: VenueState,
    account: str,
    symbol: str | None,
    order_id: str | None,
    order_link_id: str | None,
    open_only: int,
) -> list[wire.Order]:
    """/v5/order/realtime: open orders (open_only=0) or the 500 most recent closed (1, 2)."""
    acct = _account_of(state, account, symbol)
    if acct is None:
        return []
    chosen = _by_id(acct, order_id, order_link_id)
    if chosen == []:
        return _archived_order(acct, order_id, order_link_id, symbol)
    if chosen is None:
        if open_only == 0:
            chosen = list(acct.open_orders.values())
        elif open_only in (1, 2):
            chosen = list(acct.recent_closed)
        else:
            raise params_error("params error: openOnly invalid")
    return _render_orders(state, chosen, symbol)


def _account_of(state: VenueState, account: str, symbol: str | None) -> Account | None:
    """The account asked about (None: it never traded here), once `symbol` is known."""
    if symbol is not None:
        state.market(symbol)  # an unknown symbol is refused: 10001
    return state.accounts.get(account)


def _by_id(
    acct: Account, order_id: str | None, order_link_id: str | None
) -> list[OrderState] | None:
    """The order asked for by id ([] if unknown), or None when no id was given."""
    if not (order_id or order_link_id):
        return None
    found = acct.find(order_id, order_link_id)
    return [found] if found is not None else []


def _archived_order(
    acct: Account, order_id: str | None, order_link_id: str | None, symbol: str | None
) -> list[wire.Order]:
    """An order past the live history, asked for by its id (venue.history)."""
    found = archived(acct, order_id, order_link_id)
    if found is None or (symbol is not None and found.order.symbol != symbol):
        return []
    return [found.order]


def _render_orders(
    state: VenueState, orders: Iterable[OrderState], symbol: str | None
) -> list[wire.Order]:
    chosen = [o for o in orders if symbol is None or o.symbol == symbol]
    chosen.reverse()
    chosen.sort(key=lambda o: o.created_ms, reverse=True)
    return [order_to_wire(o, state.markets[o.symbol].spec) for o in chosen]


def order_history(
    state: VenueState,
    account: str,
    symbol: str | None,
    order_id: str | None,
    order_link_id: str | None,
) -> list[wire.Order]:
    """/v5/order/history: orders of the last 7 days (unfilled cancels: 24 h), newest first."""
    acct = _account_of(state, account, symbol)
    if acct is None:
        return []
    chosen = _by_id(acct, order_id, order_link_id)
    if chosen == []:
        return _archived_order(acct, order_id, order_link_id, symbol)
    if chosen is None:
        chosen = [o for o in acct.orders.values() if _retained(state.now, o)]
    return _render_orders(state, chosen, symbol)


def _retained(now_ms: int, order: OrderState) -> bool:
    age = now_ms - order.updated_ms
    if order.is_open or order.cum_qty:
        return order.is_open or age <= 7 * _DAY_MS
    return age <= _DAY_MS


def executions(
    state: VenueState,
    account: str,
    symbol: str | None,
    start_ms: int | None,
    order_id: str | None = None,
) -> list[wire.Execution]:
    """/v5/execution/list: the account's fills, newest first (with `order_id`, that order's,
    archived or not; without, the latest `history_kept`)."""
    acct = _account_of(state, account, symbol)
    if acct is None:
        return []
    listed: Sequence[wire.Execution] = acct.executions
    if order_id:
        found = archived(acct, order_id, None)
        listed = acct.exec_of.get(order_id, []) if found is None else found.executions
    return [
        e
        for e in reversed(listed)
        if (symbol is None or e.symbol == symbol)
        and (start_ms is None or int(e.exec_time) >= start_ms)
    ]


def positions(state: VenueState, account: str, symbol: str | None) -> list[wire.PositionInfo]:
    """/v5/position/list: with a symbol, that position even when flat; else the open ones."""
    acct = state.account(account)
    if symbol is not None:
        market = state.market(symbol)
        pos = acct.positions.get(symbol) or Position(symbol=symbol, leverage=acct.default_leverage)
        return [position_info(pos, market.spec, mark_price(market))]
    return [
        position_info(p, state.markets[p.symbol].spec, state.mark_of(p.symbol))
        for p in sorted(acct.positions.values(), key=lambda p: p.symbol)
        if p.size
    ]


def wallet(state: VenueState, account: str) -> wire.Wallet:
    """/v5/account/wallet-balance (accountType UNIFIED, coin USDT)."""
    return wallet_to_wire(state.account(account), state.mark_of)
