"""Money into the view: positions, realised PnL, balance and equity, today's loss. Pure."""

from decimal import Decimal
from typing import Final

from services.dashboard.view import EQUITY_KEPT, View, money
from shared.schema import BalanceChanged, Position, PositionChanged

_POSITIONS: Final = ("money", "positions")


def set_position(view: View, position: Position | PositionChanged) -> None:
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


def position_changed(view: View, message: PositionChanged, now_ns: int) -> None:
    if message.qty == 0:
        view.delete((*_POSITIONS, message.symbol))
    else:
        set_position(view, message)
    realised: dict[str, Decimal] = view.scratch.setdefault("realised_by_symbol", {})
    realised[message.symbol] = message.realised_pnl
    total = sum(realised.values(), start=Decimal(0))
    view.append(("money", "realised_pnl"), [message.ts_event_ns, money(total)], EQUITY_KEPT)


def balance_changed(view: View, message: BalanceChanged, now_ns: int) -> None:
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
