"""Money into the view: positions (their unrealised PnL at the dashboard's mark, the mid),
balance and equity, today's loss, realised PnL and fees (from the journal's reads). Pure."""

from decimal import Decimal
from typing import Final

from services.dashboard.journal import DayPnl
from services.dashboard.view import EQUITY_KEPT, View, money
from shared.schema import BalanceChanged, Position, PositionChanged

_POSITIONS: Final = ("money", "positions")


def unrealised_pnl(qty: Decimal, avg_entry_price: Decimal, mark_price: Decimal) -> Decimal:
    """The unrealised PnL of a linear (USDT) perpetual position at `mark_price`, in USDT.

    `qty` is signed (short < 0): qty x (mark - avg entry).
    """
    return qty * (mark_price - avg_entry_price)


def set_position(view: View, position: Position | PositionChanged) -> None:
    path = (*_POSITIONS, position.symbol)
    view.set(
        path,
        {
            "qty": money(position.qty),
            "avg_entry_price": money(position.avg_entry_price),
            "mark_price": None,
            "unrealised_pnl": None,
            "unrealised_at": "mid",
            # the venue's figure, at its mark price (which the bus does not carry), as of
            # the executor's last PositionChanged: it lags the mid
            "venue_unrealised_pnl": money(position.unrealised_pnl),
            "realised_pnl": money(position.realised_pnl),
        },
    )
    mark_position(view, position.symbol)


def mark_position(view: View, symbol: str) -> None:
    """Mark `symbol`'s position (if any) to the mid the view shows, and the total with it.

    Called when the position or the symbol's mid changes; without a mid the position's
    unrealised PnL is unknown (None), and so is the total.
    """
    path = (*_POSITIONS, symbol)
    position = view.get(path)
    if position is not None:
        mark = view.get(("market", "symbols", symbol, "mid"))
        pnl = None
        if mark is not None:
            pnl = money(
                unrealised_pnl(
                    Decimal(position["qty"]), Decimal(position["avg_entry_price"]), Decimal(mark)
                )
            )
        view.merge(path, {"mark_price": mark, "unrealised_pnl": pnl})
    total_unrealised(view)


def total_unrealised(view: View) -> None:
    """money.unrealised_pnl_usdt: the positions' unrealised PnL at the mid, summed; 0 when
    flat; None while any position's is unknown (a partial sum would mislead)."""
    total = Decimal(0)
    for position in (view.get(_POSITIONS) or {}).values():
        pnl = position.get("unrealised_pnl")
        if pnl is None:
            view.set(("money", "unrealised_pnl_usdt"), None)
            return
        total += Decimal(pnl)
    view.set(("money", "unrealised_pnl_usdt"), money(total))


def drop_position(view: View, symbol: str) -> None:
    view.delete((*_POSITIONS, symbol))
    total_unrealised(view)


def position_changed(view: View, message: PositionChanged, now_ns: int) -> None:
    # Its realised_pnl is the venue's curRealisedPnl: the current position's, back to 0 once
    # it closes; the day's realised PnL comes from the journal (fold_day_pnl).
    if message.qty == 0:
        drop_position(view, message.symbol)
    else:
        set_position(view, message)


def fold_day_pnl(view: View, read: DayPnl) -> None:
    """Today's realised PnL (fees included) and fees, as the executor's journal says them:
    the series gets a point per fill read (all of today's again after a replay)."""
    view.merge(
        ("money",),
        {"fees_usdt": money(read.fees), "pnl_day": read.day, "pnl_unknown_reason": read.reason},
    )
    points = [[ts_ns, money(value)] for ts_ns, value in read.points]
    if read.replayed:
        view.set(("money", "realised_pnl"), points[-EQUITY_KEPT:])
        return
    series = view.get(("money", "realised_pnl")) or []
    last = series[-1][1] if series else None
    for point in points:
        if point[1] is None and last is None and series:
            continue  # unknown already said
        view.append(("money", "realised_pnl"), point, EQUITY_KEPT)
        last = point[1]


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
