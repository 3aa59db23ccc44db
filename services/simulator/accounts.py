"""Per-account state of the simulator: USDT wallet, one-way positions, orders and fills.

Accounts are keyed by API key. Each has a USDT wallet (the starting balance, plus realised
PnL, minus fees), one position per symbol in one-way mode (signed size; the average entry
price averages on increase, stays on reduce and resets on a flip; realised PnL on every
reduce goes to curRealisedPnl / cumRealisedPnl and the wallet), a leverage per symbol, a
venue-side take-profit / stop-loss per position, and the orders and executions it made.

Margin, simplified (cross margin, one collateral coin):

* position initial margin = |size| x entry price / leverage;
* order initial margin, per symbol and side = value of the open (non-reduce-only) orders on
  that side, scaled by the part of their quantity that would open rather than reduce the
  position, / leverage;
* available balance = wallet balance - position IM - order IM (unrealised PnL is not counted);
* no maintenance margin check: **liquidation is not simulated** (liqPrice is ""), a position
  can lose more than the wallet holds, and the wallet may go negative;
* no funding payments, no risk-limit tiers, no interest or bonus.

This module does the bookkeeping and renders it as `shared.bybit.wire` Structs; the order of
operations (matching, events) is `exchange.py`'s.
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from services.simulator.book import RestingOrder
from services.simulator.instruments import InstrumentSpec
from shared.bybit import wire

ZERO: Final = Decimal(0)
OPEN_STATUSES: Final = frozenset({"New", "PartiallyFilled"})
_Q8: Final = Decimal("0.00000001")
_RECENT_CLOSED: Final = 500
_MAINTENANCE_RATE: Final = Decimal("0.005")

Marks = Callable[[str], Decimal]


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


@dataclass(slots=True, eq=False)
class OrderState:
    """One order of an account, open or closed."""

    order_id: str
    order_link_id: str
    account: str
    symbol: str
    is_buy: bool
    order_type: str  # "Limit" | "Market"
    time_in_force: str
    price: Decimal  # the limit (Market: the protection price)
    qty: Decimal
    created_ms: int
    last_price_on_created: Decimal
    reduce_only: bool = False
    close_on_trigger: bool = False
    create_type: str = "CreateByUser"
    stop_order_type: str = ""
    take_profit: Decimal | None = None  # attached TP/SL: applied to the position at the
    stop_loss: Decimal | None = None  # order's first fill (tpsl_applied)
    tpsl_applied: bool = False
    status: str = "New"
    cancel_type: str = "UNKNOWN"
    reject_reason: str = "EC_NoError"
    cum_qty: Decimal = ZERO
    cum_value: Decimal = ZERO
    cum_fee: Decimal = ZERO
    closed_pnl: Decimal = ZERO
    updated_ms: int = 0
    resting: RestingOrder | None = None

    @property
    def is_open(self) -> bool:
        """Whether the order can still fill."""
        return self.status in OPEN_STATUSES

    @property
    def leaves(self) -> Decimal:
        """Quantity still open."""
        return self.qty - self.cum_qty if self.is_open else ZERO

    @property
    def side(self) -> str:
        """Bybit's side string."""
        return "Buy" if self.is_buy else "Sell"


@dataclass(slots=True, eq=False)
class Position:
    """A one-way position: signed size (> 0 long, < 0 short)."""

    symbol: str
    leverage: Decimal
    size: Decimal = ZERO
    entry: Decimal = ZERO
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    cur_realised: Decimal = ZERO
    cum_realised: Decimal = ZERO
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = -1  # cross sequence of the last fill; -1 until traded

    @property
    def side(self) -> str:
        """ "Buy" long, "Sell" short, "" flat."""
        return "Buy" if self.size > 0 else "Sell" if self.size < 0 else ""

    @property
    def initial_margin(self) -> Decimal:
        """|size| x entry / leverage."""
        return abs(self.size) * self.entry / self.leverage

    def unrealised(self, mark: Decimal) -> Decimal:
        """PnL of the open size at `mark`."""
        return (mark - self.entry) * self.size if self.size else ZERO


@dataclass(frozen=True, slots=True)
class FillOutcome:
    """What a fill did to the position."""

    closed_size: Decimal
    closed_pnl: Decimal  # gross, before the fee


@dataclass(slots=True, eq=False)
class Account:
    """One API key's wallet, positions, orders and executions."""

    key: str
    wallet: Decimal
    default_leverage: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, OrderState] = field(default_factory=dict)  # every order, by orderId
    link_ids: dict[str, OrderState] = field(default_factory=dict)
    open_orders: dict[str, OrderState] = field(default_factory=dict)
    recent_closed: deque[OrderState] = field(default_factory=lambda: deque(maxlen=_RECENT_CLOSED))
    executions: list[wire.Execution] = field(default_factory=list)
    cum_realised: Decimal = ZERO

    def position(self, symbol: str) -> Position:
        """The position in `symbol` (flat and at the default leverage if never touched)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol=symbol, leverage=self.default_leverage)
        return pos

    def add_order(self, order: OrderState) -> None:
        """Register a new order."""
        self.orders[order.order_id] = order
        if order.order_link_id:
            self.link_ids[order.order_link_id] = order
        if order.is_open:
            self.open_orders[order.order_id] = order

    def closed(self, order: OrderState) -> None:
        """Move an order that just reached a final status out of the open set."""
        self.open_orders.pop(order.order_id, None)
        self.recent_closed.append(order)

    def find(self, order_id: str | None, order_link_id: str | None) -> OrderState | None:
        """The order with this id (orderId wins over orderLinkId)."""
        if order_id:
            return self.orders.get(order_id)
        if order_link_id:
            return self.link_ids.get(order_link_id)
        return None

    def apply_fill(
        self, symbol: str, is_buy: bool, price: Decimal, qty: Decimal, fee: Decimal
    ) -> FillOutcome:
        """Book a fill of `qty` at `price`: position, realised PnL, fee, wallet."""
        pos = self.position(symbol)
        closed = ZERO
        pnl = ZERO
        if pos.size and (pos.size > 0) != is_buy:
            closed = min(qty, abs(pos.size))
            pnl = (price - pos.entry) * closed if pos.size > 0 else (pos.entry - price) * closed
        opened = qty - closed
        new_size = pos.size + (qty if is_buy else -qty)
        pos.cum_realised += pnl - fee
        if opened and (pos.size == 0 or closed):  # a new position (from flat, or a flip)
            pos.entry = price
            pos.cur_realised = -(fee * opened / qty)
        else:
            if opened:
                held = abs(pos.size)
                pos.entry = (held * pos.entry + opened * price) / (held + opened)
            pos.cur_realised += pnl - fee
        if new_size == 0:
            pos.entry = ZERO
        pos.size = new_size
        self.wallet += pnl - fee
        self.cum_realised += pnl - fee
        return FillOutcome(closed_size=closed, closed_pnl=pnl)

    def reducible(self, symbol: str, is_buy: bool) -> Decimal:
        """How much an order of this side could reduce the position (0 if it would not)."""
        size = self.position(symbol).size
        if size and (size > 0) != is_buy:
            return abs(size)
        return ZERO

    # ------------------------------------------------------------ margin

    def position_margin(self) -> Decimal:
        """Initial margin of all positions."""
        return sum((p.initial_margin for p in self.positions.values() if p.size), ZERO)

    def order_margin(self, extra: tuple[OrderState, ...] = (), skip: str = "") -> Decimal:
        """Initial margin of the open orders (plus `extra`, minus the order `skip`)."""
        # (symbol, is_buy) -> [qty, value]
        books: dict[tuple[str, bool], list[Decimal]] = {}
        for order in (*self.open_orders.values(), *extra):
            if order.reduce_only or order.order_id == skip:
                continue
            leaves = order.qty - order.cum_qty
            entry = books.setdefault((order.symbol, order.is_buy), [ZERO, ZERO])
            entry[0] += leaves
            entry[1] += leaves * order.price
        total = ZERO
        for (symbol, is_buy), (qty, value) in books.items():
            if qty <= 0:
                continue
            opening = max(ZERO, qty - self.reducible(symbol, is_buy))
            total += value * opening / qty / self.position(symbol).leverage
        return total

    def available(self, extra: tuple[OrderState, ...] = (), skip: str = "") -> Decimal:
        """Wallet balance - position margin - order margin."""
        return self.wallet - self.position_margin() - self.order_margin(extra, skip)

    def unrealised(self, marks: Marks) -> Decimal:
        """Unrealised PnL of all positions at their marks."""
        return sum((p.unrealised(marks(p.symbol)) for p in self.positions.values() if p.size), ZERO)


# ---------------------------------------------------------------- wire rendering


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
        "trigger_price": price_text(ZERO, spec),
        "take_profit": price_text(order.take_profit or ZERO, spec),
        "stop_loss": price_text(order.stop_loss or ZERO, spec),
        "tp_trigger_by": "LastPrice" if order.take_profit else "",
        "sl_trigger_by": "LastPrice" if order.stop_loss else "",
        "trigger_direction": 0,
        "trigger_by": "",
        "last_price_on_created": price_text(order.last_price_on_created, spec),
        "reduce_only": order.reduce_only,
        "close_on_trigger": order.close_on_trigger,
        "smp_type": "None",
        "tpsl_mode": "Full" if (order.take_profit or order.stop_loss) else "",
        "created_time": str(order.created_ms),
        "updated_time": str(order.updated_ms or order.created_ms),
        "cum_fee_detail": fee_detail,
    }


def order_to_wire(order: OrderState, spec: InstrumentSpec) -> wire.Order:
    """The order as /v5/order/realtime and /v5/order/history show it."""
    return wire.Order(**_order_fields(order, spec))


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
