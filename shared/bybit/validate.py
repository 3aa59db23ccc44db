"""What a decoded venue report must say before it is used, written or published (pure).

Decoding (shared/bybit/wire.py) proves a frame has the right shape; it can still carry
"NaN", "Infinity", a negative size or a price off the instrument's tick grid. The checks
here run at each service's boundary, right after decoding, and return a `Refusal` (which
field, its value, and the `Defect`) or None. The caller counts the refusal by its defect,
alerts, and drops the report: a refused report is never journaled nor published.

The rules:

* prices are finite, > 0 and a multiple of the tick size;
* trade and fill quantities are finite, > 0 and a multiple of the qty step;
* book level sizes are finite, >= 0 (0 deletes the level) and a multiple of the qty step;
* fees, PnL, equity and balances are finite, of either sign (a maker rebate is a negative
  fee; equity can be negative after a loss), and below 10**41 in magnitude;
* a position's size is finite and >= 0 (its side, Buy, Sell or "" when flat, says long or
  short); an order's status is one the venue documents;
* a fill's execTime is a millisecond timestamp whose nanoseconds fit 64 bits;
* text fields the venue leaves "" when they do not apply may be "", else a finite decimal.

The grid is checked only where the caller knows the instrument (pass `grid=None`
otherwise). A value more than `MAX_GRID_UNITS` units of its grid away from 0 is refused as
OUT_OF_RANGE: no market trades there, and the exact remainder would cost arbitrary digits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    Underflow,
    localcontext,
)
from enum import StrEnum
from typing import Final, Protocol

from shared.bybit import wire
from shared.bybit.translate import ORDER_STATUSES

MAX_GRID_DIGITS: Final = 40  # a value may be up to 10**40 grid units
MAX_MS: Final = (2**63 - 1) // 1_000_000  # the last millisecond of 64-bit nanoseconds
_POSITION_SIDES: Final = frozenset({"Buy", "Sell", ""})
_EXACT: Final = Context(prec=MAX_GRID_DIGITS + 20)  # exact remainders below that bound
# The shortcut's context: the default one, with an underflow raised instead of rounded to 0.
_SHORTCUT: Final = Context(traps=[InvalidOperation, DivisionByZero, Overflow, Underflow])


class Defect(StrEnum):
    """Why a value was refused; the label of the counters that count refusals."""

    NOT_A_NUMBER = "not_a_number"  # text that is no decimal, or "" where a value is required
    NOT_FINITE = "not_finite"  # NaN, sNaN, Infinity, -Infinity
    NOT_POSITIVE = "not_positive"  # <= 0 where only > 0 makes sense (prices, fills, trades)
    NEGATIVE = "negative"  # < 0 where 0 is allowed (book sizes, position sizes)
    OFF_TICK = "off_tick"  # a price that is not a multiple of the tick size
    OFF_STEP = "off_step"  # a quantity that is not a multiple of the qty step
    OUT_OF_RANGE = "out_of_range"  # more than 10**MAX_GRID_DIGITS grid units; a timestamp
    # before 1970 or beyond 64-bit nanoseconds
    UNKNOWN = "unknown"  # text none of the venue's values (an order status, a side)
    IMPOSSIBLE = "impossible"  # sane values its order cannot take (beyond its qty, say)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused value: which field of the report, what it said, and why."""

    field: str
    value: str
    defect: Defect

    def __str__(self) -> str:
        return f"{self.field}={self.value} {self.defect}"


class Grid(Protocol):
    """An instrument's tick size and qty step (InstrumentRules is one)."""

    @property
    def tick_size(self) -> Decimal: ...

    @property
    def qty_step(self) -> Decimal: ...


# ---------------------------------------------------------------- single values


def price_defect(price: Decimal, tick_size: Decimal | None = None) -> Defect | None:
    """A price: finite, > 0, on the tick grid if `tick_size` is known."""
    if not price.is_finite():
        return Defect.NOT_FINITE
    if price <= 0:
        return Defect.NOT_POSITIVE
    return _grid_defect(price, tick_size, Defect.OFF_TICK)


def qty_defect(
    qty: Decimal, qty_step: Decimal | None = None, *, zero_allowed: bool = False
) -> Defect | None:
    """A quantity: finite, > 0 (>= 0 with `zero_allowed`), on the qty grid if known."""
    if not qty.is_finite():
        return Defect.NOT_FINITE
    if qty < 0:
        return Defect.NEGATIVE if zero_allowed else Defect.NOT_POSITIVE
    if qty == 0:
        return None if zero_allowed else Defect.NOT_POSITIVE
    return _grid_defect(qty, qty_step, Defect.OFF_STEP)


def amount_defect(amount: Decimal) -> Defect | None:
    """A fee, PnL, equity or balance: finite, of either sign, below 10**41 in magnitude (a
    sum with a larger one could overflow Decimal's exponent)."""
    if not amount.is_finite():
        return Defect.NOT_FINITE
    return Defect.OUT_OF_RANGE if amount.adjusted() > MAX_GRID_DIGITS else None


def text_defect(text: str, *, required: bool = False, non_negative: bool = False) -> Defect | None:
    """A decimal the venue sends as text: "" (not applicable) unless `required`, else finite."""
    if text == "":
        return Defect.NOT_A_NUMBER if required else None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return Defect.NOT_A_NUMBER
    if not value.is_finite():
        return Defect.NOT_FINITE
    return Defect.NEGATIVE if non_negative and value < 0 else None


def timestamp_defect(ms: str) -> Defect | None:
    """A millisecond timestamp sent as text: digits, its nanoseconds a 64-bit integer."""
    try:
        value = int(ms)
    except ValueError:
        return Defect.NOT_A_NUMBER
    return None if 0 <= value <= MAX_MS else Defect.OUT_OF_RANGE


def _grid_defect(value: Decimal, unit: Decimal | None, off_grid: Defect) -> Defect | None:
    if unit is None or not unit.is_finite() or unit <= 0:
        return None  # the grid is not known: only sign and finiteness are checked
    digits = value.adjusted() - unit.adjusted()
    if digits > MAX_GRID_DIGITS:
        return Defect.OUT_OF_RANGE
    if digits < 0:  # 0 < |value| < |unit|: off the grid (its remainder could underflow to 0)
        return off_grid
    return None if _EXACT.remainder(value, unit).is_zero() else off_grid


def _refusal(field: str, value: Decimal | str, defect: Defect | None) -> Refusal | None:
    return None if defect is None else Refusal(field, str(value), defect)


# ---------------------------------------------------------------- market data


def book_refusal(data: wire.OrderBookData, grid: Grid | None = None) -> Refusal | None:
    """The first bad level of a book snapshot or delta (size 0 deletes: allowed)."""
    if _all_on_grid(data.b, data.a, grid, zero_size=True) if grid else _all_plain(data.b, data.a):
        return None
    tick = None if grid is None else grid.tick_size
    step = None if grid is None else grid.qty_step
    for side, levels in (("b", data.b), ("a", data.a)):
        for i, (price, size) in enumerate(levels):
            if defect := price_defect(price, tick):
                return Refusal(f"{side}[{i}].price", str(price), defect)
            if defect := qty_defect(size, step, zero_allowed=True):
                return Refusal(f"{side}[{i}].size", str(size), defect)
    return None


def trade_refusal(trade: wire.PublicTradeData, grid: Grid | None = None) -> Refusal | None:
    """A public trade: price and size > 0 and on the grid."""
    if grid is not None and _all_on_grid(((trade.p, trade.v),), (), grid, zero_size=False):
        return None
    tick = None if grid is None else grid.tick_size
    step = None if grid is None else grid.qty_step
    return _refusal("p", trade.p, price_defect(trade.p, tick)) or _refusal(
        "v", trade.v, qty_defect(trade.v, step)
    )


def _all_on_grid(
    bids: Sequence[tuple[Decimal, Decimal]],
    asks: Sequence[tuple[Decimal, Decimal]],
    grid: Grid,
    *,
    zero_size: bool,
) -> bool:
    """The hot path's shortcut: True only if every level is certainly good.

    One comparison and one remainder per value (about a third of the exact checks' cost).
    NaN raises on the comparison, an infinity or a quotient beyond the context's precision
    on the remainder, and so does a remainder that underflows (a value far below one grid
    unit, which would round to 0): False, and the exact checks say what is wrong.
    """
    tick, step = grid.tick_size, grid.qty_step
    try:
        with localcontext(_SHORTCUT):
            for levels in (bids, asks):
                for price, size in levels:
                    if price <= 0 or size < 0 or (size == 0 and not zero_size):
                        return False
                    if price % tick or size % step:
                        return False
    except ArithmeticError:
        return False
    return True


def _all_plain(
    bids: Sequence[tuple[Decimal, Decimal]], asks: Sequence[tuple[Decimal, Decimal]]
) -> bool:
    """The shortcut without a grid: True only if every price is finite and > 0 and every
    size finite and >= 0. NaN raises on the comparison: False, and the exact checks say
    what is wrong."""
    try:
        for levels in (bids, asks):
            for price, size in levels:
                if price <= 0 or size < 0 or not (price.is_finite() and size.is_finite()):
                    return False
    except ArithmeticError:
        return False
    return True


# ---------------------------------------------------------------- private reports


def fill_refusal(
    qty: Decimal, price: Decimal, fee: Decimal, grid: Grid | None = None
) -> Refusal | None:
    """A fill (a venue execution, or one read back from the journal)."""
    tick = None if grid is None else grid.tick_size
    step = None if grid is None else grid.qty_step
    return (
        _refusal("price", price, price_defect(price, tick))
        or _refusal("qty", qty, qty_defect(qty, step))
        or _refusal("fee", fee, amount_defect(fee))
    )


def execution_refusal(execution: wire.Execution, grid: Grid | None = None) -> Refusal | None:
    """A trade execution of an order (check exec_type first: funding rows have no price)."""
    return fill_refusal(
        execution.exec_qty, execution.exec_price, execution.exec_fee, grid
    ) or _refusal("execTime", execution.exec_time, timestamp_defect(execution.exec_time))


def order_refusal(order: wire.Order) -> Refusal | None:
    """An order report: qty > 0; price, filled qty, value and fee finite and not negative
    (a market order's price may be 0); no more filled than its qty."""
    if order.order_status not in ORDER_STATUSES:
        return Refusal("orderStatus", order.order_status, Defect.UNKNOWN)
    checks = (
        ("qty", order.qty, qty_defect(order.qty)),
        ("price", order.price, _non_negative(order.price)),
        ("cumExecQty", order.cum_exec_qty, _non_negative(order.cum_exec_qty)),
        ("cumExecValue", order.cum_exec_value, _non_negative(order.cum_exec_value)),
        ("cumExecFee", order.cum_exec_fee, amount_defect(order.cum_exec_fee)),
    )
    refusal = next((Refusal(f, str(v), d) for f, v, d in checks if d is not None), None)
    if refusal is None and order.cum_exec_qty > order.qty:
        return Refusal("cumExecQty", f"{order.cum_exec_qty} > qty {order.qty}", Defect.IMPOSSIBLE)
    return refusal


def position_refusal(position: wire.PositionInfo | wire.PositionEvent) -> Refusal | None:
    """A position: side Buy, Sell or "" (flat), size finite and >= 0, its prices and PnL
    finite where given."""
    if position.side not in _POSITION_SIDES:
        return Refusal("side", position.side, Defect.UNKNOWN)
    if defect := _non_negative(position.size):
        return Refusal("size", str(position.size), defect)
    entry = position.avg_price if isinstance(position, wire.PositionInfo) else position.entry_price
    texts = (
        ("entryPrice", entry, True),
        ("stopLoss", position.stop_loss, True),
        ("unrealisedPnl", position.unrealised_pnl, False),
        ("curRealisedPnl", position.cur_realised_pnl, False),
    )
    for field, text, non_negative in texts:
        if defect := text_defect(text, non_negative=non_negative):
            return Refusal(field, text, defect)
    return None


def wallet_refusal(wallet: wire.Wallet) -> Refusal | None:
    """A wallet: total equity finite (required), every balance finite."""
    texts = (
        ("totalEquity", wallet.total_equity, True),
        ("totalAvailableBalance", wallet.total_available_balance, False),
        ("totalWalletBalance", wallet.total_wallet_balance, False),
        ("totalMarginBalance", wallet.total_margin_balance, False),
    )
    for field, text, required in texts:
        if defect := text_defect(text, required=required):
            return Refusal(field, text, defect)
    for coin in wallet.coin:
        for field, amount in (("equity", coin.equity), ("walletBalance", coin.wallet_balance)):
            if defect := amount_defect(amount):
                return Refusal(f"{coin.coin}.{field}", str(amount), defect)
        if defect := text_defect(coin.available_to_withdraw):
            return Refusal(f"{coin.coin}.availableToWithdraw", coin.available_to_withdraw, defect)
    return None


def _non_negative(value: Decimal) -> Defect | None:
    if not value.is_finite():
        return Defect.NOT_FINITE
    return Defect.NEGATIVE if value < 0 else None
