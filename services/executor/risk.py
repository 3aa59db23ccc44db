"""The last line of risk: every SubmitOrder is checked here before it can reach the venue.

`check_order` returns a human reason for a denial, or None. Order of the checks: expiry,
allowed symbol, orders per minute, trading state (HALTED denies all; REDUCING and
not-yet-reconciled allow only orders that reduce the position), then, for orders that do
not reduce the position: last trade price known, price band, order notional, position
notional, open orders. An order that really reduces the position (reduce_only, opposite
side, qty <= |position|) skips the exposure checks: it can only lower exposure, and a
stop-loss exit must not be blocked by them. It still meets the price band when the last
trade price is known. The executor's own flatten orders (daily loss limit, halt) do not
pass through here.

Market orders use the last trade price for the notional and the band. `quantize_order`
puts an order on the instrument's tick and step and checks min/max qty and min notional
locally. Times are passed in as integer ns; nothing here reads a clock.
"""

import bisect
from decimal import Decimal
from typing import Final

import msgspec

from shared.bybit.translate import InstrumentRules
from shared.schema import OrderSide, OrderType, SubmitOrder, TradingState

NS_PER_MINUTE: Final = 60_000_000_000
_BPS: Final = Decimal(10_000)


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_order_notional_usdt: Decimal
    max_position_notional_usdt: Decimal
    max_open_orders: int
    max_orders_per_minute: int
    price_band_bps: Decimal  # max distance of a limit price from the last trade
    allowed_symbols: frozenset[str]
    daily_loss_limit_usdt: Decimal  # positive: HALTED once today's PnL <= -this


class PositionExposure(msgspec.Struct, frozen=True, kw_only=True):
    qty: Decimal  # signed: short < 0
    avg_price: Decimal


class Exposure(msgspec.Struct, frozen=True, kw_only=True):
    """What the executor knows when it checks a command (a snapshot, not a live view)."""

    positions: dict[str, PositionExposure] = msgspec.field(default_factory=dict)
    open_orders: int = 0  # working orders of every strategy
    orders_last_minute: int = 0  # orders that passed the check in the minute before now
    # Unfilled qty of working orders that may add to the position, by symbol: (buys,
    # sells). A position is checked as if they all filled: a burst of orders sent before
    # their fills are booked cannot together pass the position limit.
    working_qty: dict[str, tuple[Decimal, Decimal]] = msgspec.field(default_factory=dict)
    last_trade_price: dict[str, Decimal] = msgspec.field(default_factory=dict)
    pnl_today_usdt: Decimal = Decimal(0)  # realised + unrealised since the day began

    @classmethod
    def flat(cls) -> "Exposure":
        """Return the exposure of an account with no positions, orders or prices."""
        return cls()

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return Decimal(0) if position is None else position.qty


def check_order(
    command: SubmitOrder,
    limits: RiskLimits,
    exposure: Exposure,
    state: TradingState,
    reconciled: bool,
    now_ns: int,
) -> str | None:
    """Return why `command` must be denied, or None if it may be sent."""
    reducing = reduces_position(command, exposure.position_qty(command.symbol))
    reason = (
        _check_expiry(command, now_ns)
        or _check_symbol(command, limits)
        or _check_rate(limits, exposure)
        or _check_state(state, reconciled, reducing=reducing)
    )
    if reason:
        return reason
    last = exposure.last_trade_price.get(command.symbol)
    if last is not None and last <= 0:
        last = None  # not a price: treat as unknown
    if reducing:  # an exit is not blocked for want of a price; it still meets a known band
        return None if last is None else _check_band(command, limits, last)
    if last is None:
        return f"no last trade price for {command.symbol}: notional and price band unknown"
    return _check_band(command, limits, last) or _check_exposure(command, limits, exposure, last)


def reduces_position(command: SubmitOrder, position_qty: Decimal) -> bool:
    """Return True if `command` can only reduce the position.

    That is: reduce_only, on the side opposite a non-zero position, and no larger than it.
    """
    if not command.reduce_only or position_qty == 0:
        return False
    opposite = OrderSide.SELL if position_qty > 0 else OrderSide.BUY
    return command.side is opposite and command.qty <= abs(position_qty)


def orders_in_last_minute(recent_order_ts_ns: tuple[int, ...], now_ns: int) -> int:
    """Return how many of `recent_order_ts_ns` (ascending) lie in the minute ending at `now_ns`."""
    first = bisect.bisect_right(recent_order_ts_ns, now_ns - NS_PER_MINUTE)
    return bisect.bisect_right(recent_order_ts_ns, now_ns) - first


def daily_loss_breached(limits: RiskLimits, pnl_today_usdt: Decimal) -> bool:
    """Return True once today's loss reaches the daily loss limit.

    The executor then cancels all orders, flattens, and stays HALTED until an operator
    resets it.
    """
    return -pnl_today_usdt >= limits.daily_loss_limit_usdt


def quantize_order(
    command: SubmitOrder,
    rules: InstrumentRules,
    last_price: Decimal | None,
    *,
    reduces: bool = False,
) -> SubmitOrder | str:
    """Return `command` on the instrument's grid, or why the venue would refuse it.

    The limit price is rounded to the tick in the order's favour (a buy down, a sell up),
    the qty floored to the step; then min/max qty and min notional are checked locally
    (a market order is valued at `last_price`). An order that `reduces` the position is
    not refused for want of a price: its qty alone is checked (a stop-loss exit must not
    wait for one).
    """
    qty = rules.floor_qty(command.qty)
    price = command.limit_price
    market = command.order_type is OrderType.MARKET
    if price is not None and not market:
        price = rules.round_price(price, command.side)
    valuation = last_price if market else price
    if valuation is None and not reduces:
        return f"no last trade price for {command.symbol}: min notional unknown"
    if valuation is None:
        reason = rules.check_qty(qty, market=market)
    else:
        reason = rules.check(qty, valuation, market=market)
    if reason:
        return reason
    if qty == command.qty and price == command.limit_price:
        return command
    return msgspec.structs.replace(command, qty=qty, limit_price=price)


def _check_expiry(command: SubmitOrder, now_ns: int) -> str | None:
    if now_ns > command.expires_at_ns:
        return f"expired: now {now_ns} is after expires_at_ns {command.expires_at_ns}"
    return None


def _check_symbol(command: SubmitOrder, limits: RiskLimits) -> str | None:
    if command.symbol not in limits.allowed_symbols:
        return f"symbol {command.symbol} not in allowed_symbols"
    return None


def _check_rate(limits: RiskLimits, exposure: Exposure) -> str | None:
    count = exposure.orders_last_minute
    if count >= limits.max_orders_per_minute:
        limit = limits.max_orders_per_minute
        return f"orders per minute {count} reached max_orders_per_minute {limit}"
    return None


def _check_state(state: TradingState, reconciled: bool, *, reducing: bool) -> str | None:
    if state is TradingState.HALTED:
        return "trading state Halted: no orders until an operator resumes"
    if reducing:
        return None
    if state is TradingState.REDUCING:
        return "trading state Reducing: only orders that reduce the position"
    if not reconciled:
        return "not reconciled with the venue yet: only orders that reduce the position"
    return None


def _price(command: SubmitOrder, last: Decimal) -> Decimal:
    # Market orders are valued at the last trade.
    return last if command.limit_price is None else command.limit_price


def _check_band(command: SubmitOrder, limits: RiskLimits, last: Decimal) -> str | None:
    price = _price(command, last)
    distance_bps = abs(price - last) / last * _BPS
    if distance_bps > limits.price_band_bps:
        return (
            f"price {_fmt(price)} is {_fmt(distance_bps.quantize(Decimal('0.1')))} bps from"
            f" last trade {_fmt(last)}, beyond price_band_bps {_fmt(limits.price_band_bps)}"
        )
    return None


def _check_exposure(
    command: SubmitOrder, limits: RiskLimits, exposure: Exposure, last: Decimal
) -> str | None:
    price = _price(command, last)
    notional = command.qty * price
    if notional > limits.max_order_notional_usdt:
        return (
            f"notional {_fmt(notional)} exceeds max_order_notional_usdt"
            f" {_fmt(limits.max_order_notional_usdt)}"
        )
    buys, sells = exposure.working_qty.get(command.symbol, (Decimal(0), Decimal(0)))
    if command.side is OrderSide.BUY:
        worst = exposure.position_qty(command.symbol) + buys + command.qty
    else:
        worst = exposure.position_qty(command.symbol) - sells - command.qty
    projected = abs(worst) * price
    if projected > limits.max_position_notional_usdt:
        return (
            f"position notional {_fmt(projected)} would exceed max_position_notional_usdt"
            f" {_fmt(limits.max_position_notional_usdt)}"
        )
    if exposure.open_orders >= limits.max_open_orders:
        count, limit = exposure.open_orders, limits.max_open_orders
        return f"open orders {count} reached max_open_orders {limit}"
    return None


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"
