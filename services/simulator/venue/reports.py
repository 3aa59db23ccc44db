"""The private reports the venue emits: execution, order, position and wallet events.

Each is appended to the state's private buffer as (account, topic, wire struct), in the
order things happened; `Venue.drain_reports` hands them out.
"""

from typing import Any

from services.simulator.account_views import (
    order_event,
    position_event,
    usdt_text,
    wallet_to_wire,
    with_places,
)
from services.simulator.accounts import Account, FillOutcome, OrderState
from services.simulator.matching import Fill
from services.simulator.venue.ledger_feed import fill_record
from services.simulator.venue.state import EXEC_IDS, Market, VenueState, fee_of, mark_price
from shared.bybit import wire


def emit_execution(
    state: VenueState,
    account: Account,
    order: OrderState,
    fill: Fill,
    outcome: FillOutcome,
    now_ms: int,
) -> None:
    """Record the account's fill (for /v5/execution/list) and emit its `execution` event."""
    market = state.markets[order.symbol]
    spec = market.spec
    is_maker = fill.maker is not None and fill.maker.order_id == order.order_id
    rate = state.maker_fee if is_maker else state.taker_fee
    state.exec_no += 1
    price = fill.price * spec.tick_size
    qty = fill.lots * spec.qty_step
    mark = format(mark_price(market), "f")
    common: dict[str, Any] = {
        "symbol": spec.symbol,
        "order_type": order.order_type,
        "order_link_id": order.order_link_id,
        "side": order.side,
        "index_price": mark,
        "order_id": order.order_id,
        "stop_order_type": order.stop_order_type or "UNKNOWN",
        "leaves_qty": with_places(order.qty - order.cum_qty, spec.qty_places),
        "exec_time": str(now_ms),
        "fee_currency": "USDT",
        "is_maker": is_maker,
        "exec_fee": fee_of(price * qty, rate),
        "fee_rate": format(rate, "f"),
        "exec_id": state.uuid(EXEC_IDS, state.exec_no),
        "mark_price": mark,
        "exec_price": price,
        "order_qty": with_places(order.qty, spec.qty_places),
        "order_price": with_places(order.price, spec.price_places),
        "exec_value": price * qty,
        "exec_type": "Trade",
        "exec_qty": qty,
        "closed_size": format(with_places(outcome.closed_size, spec.qty_places), "f"),
        "seq": state.seq,
    }
    execution = wire.Execution(**common)
    account.executions.append(execution)
    account.exec_of.setdefault(order.order_id, []).append(execution)
    account.ledger.record_fill(fill_record(account, order, common, outcome))
    event = wire.ExecutionEvent(
        **common, exec_pnl=usdt_text(outcome.closed_pnl), create_type=order.create_type
    )
    state.private.append((account.key, "execution", event))


def emit_order(state: VenueState, account: Account, market: Market, order: OrderState) -> None:
    """Emit the order's `order` event alone (a reduce-only order shrunk by a fill)."""
    state.private.append((account.key, "order", order_event(order, market.spec)))


def emit_update(state: VenueState, account: Account, market: Market, order: OrderState) -> None:
    """Emit `order`, then `position` and `wallet`: the outcome of an order change."""
    emit_order(state, account, market, order)
    emit_position_and_wallet(state, account, market)


def emit_position_and_wallet(state: VenueState, account: Account, market: Market) -> None:
    """Emit the account's `position` in this symbol and its `wallet`."""
    pos = account.position(market.spec.symbol)
    event = position_event(pos, market.spec, mark_price(market))
    state.private.append((account.key, "position", event))
    state.private.append((account.key, "wallet", wallet_to_wire(account, state.mark_of)))
