"""The ledger's side of the venue: a booked fill into a `FillRecord`, ledger rows as Bybit's.

`fill_record` is called by `reports.emit_execution` (the one place every account fill
passes, after the account booked it); `transaction_row` and `closed_pnl_row` render the
ledger for /v5/account/transaction-log and /v5/position/closed-pnl.
"""

from decimal import Decimal
from typing import Any

from services.simulator.account_views import usdt, usdt_text
from services.simulator.accounts import Account, FillOutcome, OrderState
from services.simulator.instruments import InstrumentSpec
from services.simulator.ledger import ClosedPnlRow, FillRecord
from shared.bybit import wire_more


def fill_record(
    account: Account, order: OrderState, execution: dict[str, Any], outcome: FillOutcome
) -> FillRecord:
    """The ledger's record of a fill, from the fields of its execution report."""
    position = account.position(order.symbol)
    return FillRecord(
        symbol=order.symbol,
        order_id=order.order_id,
        order_link_id=order.order_link_id,
        exec_id=execution["exec_id"],
        is_buy=order.is_buy,
        price=execution["exec_price"],
        qty=execution["exec_qty"],
        fee=execution["exec_fee"],
        fee_rate=execution["fee_rate"],
        closed_size=outcome.closed_size,
        closed_pnl=outcome.closed_pnl,
        size_after=position.size,
        wallet_after=account.wallet,
        time_ms=int(execution["exec_time"]),
        leverage=position.leverage,
    )


def amount(value: Decimal) -> str:
    """A USDT amount to at most 8 decimals, trailing zeros dropped ("0" for zero)."""
    rounded = usdt(value)
    return format(rounded.normalize(), "f") if rounded else "0"


def transaction_row(number: int, fill: FillRecord, spec: InstrumentSpec) -> wire_more.Transaction:
    """A fill as a TRADE row: change = cashFlow (realised PnL) - fee, the wallet after it."""
    places = Decimal(1).scaleb(-spec.qty_places)
    return wire_more.Transaction(
        id=f"{number}_{fill.symbol}_{fill.time_ms}",
        symbol=fill.symbol,
        category="linear",
        side="Buy" if fill.is_buy else "Sell",
        transaction_time=str(fill.time_ms),
        type="TRADE",
        qty=format(fill.qty.quantize(places), "f"),
        size=format(fill.size_after.quantize(places), "f"),
        currency="USDT",
        trade_price=format(fill.price, "f"),
        funding="",
        fee=usdt_text(fill.fee),
        cash_flow=amount(fill.closed_pnl),
        change=amount(fill.closed_pnl - fill.fee),
        cash_balance=usdt_text(fill.wallet_after),
        fee_rate=fill.fee_rate,
        bonus_change="",
        trade_id=fill.exec_id,
        order_id=fill.order_id,
        order_link_id=fill.order_link_id,
    )


def closed_pnl_row(
    row: ClosedPnlRow, order: OrderState, spec: InstrumentSpec
) -> wire_more.ClosedPnl:
    """A closing order's closed-PnL record as /v5/position/closed-pnl shows it."""
    size = row.closed_size
    return wire_more.ClosedPnl(
        symbol=row.symbol,
        order_id=row.order_id,
        side="Buy" if row.is_buy else "Sell",
        qty=format(order.qty.quantize(Decimal(1).scaleb(-spec.qty_places)), "f"),
        order_price=format(order.price.quantize(Decimal(1).scaleb(-spec.price_places)), "f"),
        order_type=order.order_type,
        exec_type="Trade",
        closed_size=format(size.quantize(Decimal(1).scaleb(-spec.qty_places)), "f"),
        cum_entry_value=amount(row.entry_value),
        avg_entry_price=amount(row.entry_value / size),
        cum_exit_value=amount(row.exit_value),
        avg_exit_price=amount(row.exit_value / size),
        closed_pnl=amount(row.closed_pnl),
        fill_count=str(row.fills),
        leverage=format(row.leverage.normalize(), "f"),
        open_fee=amount(row.open_fee),
        close_fee=amount(row.close_fee),
        created_time=str(row.created_ms),
        updated_time=str(row.updated_ms),
    )
