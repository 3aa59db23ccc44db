"""The simulator's account state as Bybit shows it: orders, positions, the wallet.

Renders `accounts`' bookkeeping as `shared.bybit.wire` Structs (REST answers and the private
topics), with Bybit's number formats (USDT to 8 decimals, prices and quantities in the
symbol's scale).
"""

from decimal import Decimal
from typing import Any, Final

from services.simulator.accounts import ZERO, Account, Marks, OrderState, Position
from services.simulator.instruments import InstrumentSpec
from shared.bybit import wire

_Q8: Final = Decimal("0.00000001")
_MAINTENANCE_RATE: Final = Decimal("0.005")


def usdt(value: Decimal) -> Decimal:
    """A USDT amount with Bybit's 8 decimals (plain "0" for zero)."""
    rounded = value.quantize(_Q8)
    return rounded if rounded else ZERO


def usdt_text(value: Decimal) -> str:
    """A USDT amount as a string with 8 decimals, never in exponent notation."""
    return format(usdt(value), "f")


def with_places(value: Decimal, places: int) -> Decimal:
    """`value` written with exactly `places` decimals."""
    return value.quantize(Decimal(1).scaleb(-places))


def price_text(value: Decimal, spec: InstrumentSpec) -> str:
    """A price in the symbol's price scale."""
    return format(with_places(value, spec.price_places), "f")


def avg_text(value: Decimal, spec: InstrumentSpec) -> str:
    """An average price: the price scale when exact, else up to 8 more decimals ("0": none)."""
    if not value:
        return "0"
    exact = with_places(value, spec.price_places)
    if exact == value:
        return format(exact, "f")
    return format(with_places(value, spec.price_places + 8).normalize(), "f")


def qty_text(value: Decimal, spec: InstrumentSpec) -> str:
    """A quantity in the symbol's quantity scale."""
    return format(with_places(value, spec.qty_places), "f")


def _order_fields(order: OrderState, spec: InstrumentSpec) -> dict[str, Any]:
    leaves = order.leaves
    avg = avg_text(order.cum_value / order.cum_qty, spec) if order.cum_qty else "0"
    fee_detail = {"USDT": format(order.cum_fee, "f")} if order.cum_fee else {}
    return {
        "order_id": order.order_id,
        "order_link_id": order.order_link_id,
        "symbol": order.symbol,
        "price": with_places(order.price, spec.price_places),
        "qty": with_places(order.qty, spec.qty_places),
        "side": order.side,
        "position_idx": 0,
        "order_status": order.status,
        "cancel_type": order.cancel_type,
        "reject_reason": order.reject_reason,
        "avg_price": avg,
        "leaves_qty": qty_text(leaves, spec),
        "leaves_value": format(usdt(leaves * order.price), "f"),
        "cum_exec_qty": with_places(order.cum_qty, spec.qty_places),
        "cum_exec_value": order.cum_value if order.cum_value else ZERO,
        "cum_exec_fee": order.cum_fee if order.cum_fee else ZERO,
        "time_in_force": order.time_in_force,
        "order_type": order.order_type,
        "stop_order_type": order.stop_order_type,
        "trigger_price": price_text(order.trigger_price or ZERO, spec),
        "take_profit": price_text(order.take_profit or ZERO, spec),
        "stop_loss": price_text(order.stop_loss or ZERO, spec),
        "tp_trigger_by": "LastPrice" if order.take_profit else "",
        "sl_trigger_by": "LastPrice" if order.stop_loss else "",
        "trigger_direction": order.trigger_direction,
        "trigger_by": order.trigger_by,
        "last_price_on_created": price_text(order.last_price_on_created, spec),
        "reduce_only": order.reduce_only,
        "close_on_trigger": order.close_on_trigger,
        "smp_type": "None",
        "tpsl_mode": "Full" if (order.take_profit or order.stop_loss) else "",
        "created_time": str(order.created_ms),
        "updated_time": str(order.updated_ms or order.created_ms),
        "cum_fee_detail": fee_detail,
    }


_REST_UNKNOWN: Final = ("stop_order_type", "trigger_by", "tp_trigger_by", "sl_trigger_by")


def order_to_wire(order: OrderState, spec: InstrumentSpec) -> wire.Order:
    """The order as /v5/order/realtime and /v5/order/history show it: an unset enumeration
    is "UNKNOWN" there (reference 4.11, 4.12), "" on the private stream (as captured)."""
    fields = _order_fields(order, spec)
    fields.update({name: fields[name] or "UNKNOWN" for name in _REST_UNKNOWN})
    return wire.Order(**fields)


def order_event(order: OrderState, spec: InstrumentSpec) -> wire.OrderEvent:
    """The order as the private `order` topic shows it."""
    return wire.OrderEvent(
        **_order_fields(order, spec),
        category="linear",
        closed_pnl=usdt_text(order.closed_pnl),
        create_type=order.create_type,
    )


def _position_fields(pos: Position, spec: InstrumentSpec, mark: Decimal) -> dict[str, Any]:
    value = abs(pos.size) * pos.entry
    im = pos.initial_margin
    return {
        "position_idx": 0,
        "risk_id": 1,
        "risk_limit_value": "2000000",
        "symbol": pos.symbol,
        "side": pos.side,
        "size": with_places(abs(pos.size), spec.qty_places),
        "position_value": usdt_text(value),
        "leverage": format(pos.leverage.normalize(), "f"),
        "break_even_price": "",
        "position_balance": usdt_text(im),
        "mark_price": price_text(mark, spec),
        "liq_price": "",
        "bust_price": "",
        "position_mm": usdt_text(value * _MAINTENANCE_RATE),
        "position_mm_by_mp": usdt_text(abs(pos.size) * mark * _MAINTENANCE_RATE),
        "position_im": usdt_text(im),
        "position_im_by_mp": usdt_text(abs(pos.size) * mark / pos.leverage),
        "tpsl_mode": "Full",
        "take_profit": price_text(pos.take_profit or ZERO, spec),
        "stop_loss": price_text(pos.stop_loss or ZERO, spec),
        "trailing_stop": price_text(ZERO, spec),
        "unrealised_pnl": usdt_text(pos.unrealised(mark)),
        "cur_realised_pnl": usdt_text(pos.cur_realised),
        "cum_realised_pnl": usdt_text(pos.cum_realised),
        "seq": pos.seq,
        "session_avg_price": "",
        "created_time": str(pos.created_ms),
        "updated_time": str(pos.updated_ms),
        "position_status": "Normal",
    }


def position_info(pos: Position, spec: InstrumentSpec, mark: Decimal) -> wire.PositionInfo:
    """The position as /v5/position/list shows it."""
    return wire.PositionInfo(
        **_position_fields(pos, spec, mark), avg_price=avg_text(pos.entry, spec)
    )


def position_event(pos: Position, spec: InstrumentSpec, mark: Decimal) -> wire.PositionEvent:
    """The position as the private `position` topic shows it."""
    return wire.PositionEvent(
        **_position_fields(pos, spec, mark), entry_price=avg_text(pos.entry, spec)
    )


def wallet_to_wire(account: Account, marks: Marks) -> wire.Wallet:
    """The account as /v5/account/wallet-balance and the `wallet` topic show it (USDT only)."""
    upl = account.unrealised(marks)
    position_im = account.position_margin()
    order_im = account.order_margin()
    equity = account.wallet + upl
    available = account.wallet - position_im - order_im
    maintenance = sum(
        (abs(p.size) * p.entry * _MAINTENANCE_RATE for p in account.positions.values()), ZERO
    )
    coin = wire.CoinBalance(
        coin="USDT",
        equity=usdt(equity),
        usd_value=usdt_text(equity),
        wallet_balance=usdt(account.wallet),
        available_to_withdraw=usdt_text(max(available, ZERO)),
        total_order_im=usdt_text(order_im),
        total_position_im=usdt_text(position_im),
        total_position_mm=usdt_text(maintenance),
        unrealised_pnl=usdt_text(upl),
        cum_realised_pnl=usdt_text(account.cum_realised),
    )
    initial = position_im + order_im
    return wire.Wallet(
        total_equity=usdt_text(equity),
        account_im_rate=usdt_text(initial / equity) if equity > 0 else "0",
        account_mm_rate=usdt_text(maintenance / equity) if equity > 0 else "0",
        total_margin_balance=usdt_text(equity),
        total_initial_margin=usdt_text(initial),
        total_available_balance=usdt_text(available),
        total_perp_upl=usdt_text(upl),
        total_wallet_balance=usdt_text(account.wallet),
        total_maintenance_margin=usdt_text(maintenance),
        coin=[coin],
    )
