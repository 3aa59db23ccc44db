"""Account endpoints beyond orders and positions: fee rate, closed PnL, transaction log,
position mode and margin mode switches.

Simplified: the accounts are one-way (positionIdx 0) and cross margin (REGULAR_MARGIN)
only, so switching to hedge mode (mode 3) and to ISOLATED_MARGIN / PORTFOLIO_MARGIN is
refused with Bybit's codes (110024 / 110028 when a position / open order is in the way, as
Bybit checks first, else 110029 "Hedge mode is not supported for this symbol."; margin:
3400045 "Set margin mode failed" with the reason); switching to what is already set answers
as Bybit does (110025 "Position mode is not modified."; REGULAR_MARGIN: OK, no reasons).
"""

from dataclasses import dataclass
from typing import Final

from services.simulator.ledger import time_window
from services.simulator.venue import validation
from services.simulator.venue.flow import advance
from services.simulator.venue.ledger_feed import closed_pnl_row, transaction_row
from services.simulator.venue.state import VenueError, VenueState, params_error
from shared.bybit import wire_more

_DAY_MS: Final = 86_400_000
MARGIN_MODES: Final = frozenset({"ISOLATED_MARGIN", "REGULAR_MARGIN", "PORTFOLIO_MARGIN"})
MARGIN_MODE_FAILED: Final = (3400045, "Set margin mode failed")


def fee_rates(state: VenueState, symbol: str | None) -> list[wire_more.FeeRate]:
    """/v5/account/fee-rate: the venue's taker and maker rates, per symbol (all by default)."""
    markets = [state.market(symbol)] if symbol else state.market_list
    return [
        wire_more.FeeRate(
            symbol=m.spec.symbol,
            taker_fee_rate=format(state.taker_fee, "f"),
            maker_fee_rate=format(state.maker_fee, "f"),
        )
        for m in markets
    ]


def _window(state: VenueState, start: int | None, end: int | None, days: int) -> tuple[int, int]:
    try:
        return time_window(start, end, state.now, days * _DAY_MS)
    except ValueError:
        raise params_error(
            f"params error: startTime and endTime must be at most {days} days apart, in order"
        ) from None


def closed_pnl(
    state: VenueState, account: str, symbol: str | None, start: int | None, end: int | None
) -> list[wire_more.ClosedPnl]:
    """/v5/position/closed-pnl: one row per closing order, newest first (7 days default)."""
    if symbol:
        state.market(symbol)
    low, high = _window(state, start, end, 7)
    acct = state.accounts.get(account)
    if acct is None:
        return []
    rows = [
        r
        for r in acct.ledger.closed.values()
        if (not symbol or r.symbol == symbol) and low <= r.updated_ms <= high
    ]
    rows.sort(key=lambda r: r.updated_ms, reverse=True)
    return [closed_pnl_row(r, acct.orders[r.order_id], state.markets[r.symbol].spec) for r in rows]


@dataclass(frozen=True, slots=True)
class LogFilter:
    """The transaction log's filters (None: any): currency, baseCoin, type."""

    currency: str | None = None
    base_coin: str | None = None
    kind: str | None = None


ANY: Final = LogFilter()


def transaction_log(
    state: VenueState, account: str, only: LogFilter, window: tuple[int | None, int | None]
) -> list[wire_more.Transaction]:
    """/v5/account/transaction-log: a TRADE row per fill, newest first.

    The window: the last 24 h, or 24 h from / up to the one bound given, or both bounds at
    most 7 days apart.
    """
    start, end = window
    both = start is not None and end is not None
    low, high = _window(state, start, end, 7 if both else 1)
    acct = state.accounts.get(account)
    if acct is None or only.currency not in (None, "USDT") or only.kind not in (None, "TRADE"):
        return []
    rows = [
        transaction_row(n, f, state.markets[f.symbol].spec)
        for n, f in enumerate(acct.ledger.fills, start=acct.ledger.fills_dropped + 1)
        if low <= f.time_ms <= high
        and only.base_coin in (None, state.markets[f.symbol].spec.base_coin)
    ]
    rows.reverse()
    return rows


def switch_mode(
    state: VenueState, account: str, req: wire_more.SwitchModeRequest, now_ms: int
) -> None:
    """/v5/position/switch-mode: one-way (0) stays; hedge (3) is refused (see the module)."""
    advance(state, now_ms)
    validation.check_category(req.category)
    if req.symbol:
        symbols = [state.market(req.symbol).spec.symbol]
    elif req.coin:
        if req.coin != "USDT":
            raise params_error("params error: coin invalid (USDT contracts only)")
        symbols = list(state.markets)
    else:
        raise params_error("params error: symbol or coin is required")
    if req.mode not in (0, 3):
        raise params_error("params error: mode must be 0 (one-way) or 3 (hedge)")
    if req.mode == 0:
        raise VenueError(110025, "Position mode is not modified")
    acct = state.account(account)
    if any(acct.position(s).size for s in symbols):
        raise VenueError(
            110024, "You have an existing position, so position mode cannot be switched"
        )
    if any(o.symbol in symbols for o in acct.open_orders.values()):
        raise VenueError(
            110028, "You have existing open orders, so the position mode cannot be switched"
        )
    raise VenueError(110029, "Hedge mode is not supported for this symbol.")


def set_margin_mode(mode: str) -> wire_more.MarginModeResult:
    """/v5/account/set-margin-mode: REGULAR_MARGIN (cross) is what every account runs.

    Returns the result of a refusal (with MARGIN_MODE_FAILED as its retCode and retMsg)
    or of a success (no reasons): see `margin_mode_refused`.
    """
    if mode not in MARGIN_MODES:
        raise params_error("params error: setMarginMode invalid")
    if mode == "REGULAR_MARGIN":
        return wire_more.MarginModeResult(reasons=[])
    reason = wire_more.MarginModeReason(
        reason_code=str(MARGIN_MODE_FAILED[0]),
        reason_msg=f"{mode} is not simulated: the simulator runs cross margin only",
    )
    return wire_more.MarginModeResult(reasons=[reason])
