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

This module does the bookkeeping; `account_views` renders it as `shared.bybit.wire` Structs,
and the order of operations (matching, events) is the venue core's (`venue.clearing`).
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from services.simulator.book import RestingOrder
from services.simulator.ledger import Ledger
from shared.bybit import wire

ZERO: Final = Decimal(0)
OPEN_STATUSES: Final = frozenset({"New", "PartiallyFilled", "Untriggered"})
_RECENT_CLOSED: Final = 500

Marks = Callable[[str], Decimal]


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
    trigger_price: Decimal | None = None  # a conditional order: Untriggered until the
    trigger_direction: int = 0  # price (trigger_by) rises (1) / falls (2) to trigger_price
    trigger_by: str = ""
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
    # Live history: the last `history_kept` finished orders (with their closed-PnL rows),
    # executions and transaction-log rows, for the listings. An older order is archived,
    # compressed with its executions (venue.history), and still answers a query by its id:
    # memory grows by a few hundred bytes an order instead of kilobytes.
    history_kept: int = 500
    orders: dict[str, OrderState] = field(default_factory=dict)  # by orderId: open, then kept
    link_ids: dict[str, OrderState] = field(default_factory=dict)
    open_orders: dict[str, OrderState] = field(default_factory=dict)
    recent_closed: deque[OrderState] = field(default_factory=lambda: deque(maxlen=_RECENT_CLOSED))
    executions: deque[wire.Execution] = field(default_factory=deque)  # the latest, listed
    exec_of: dict[str, list[wire.Execution]] = field(default_factory=dict)  # by orderId, live
    cum_realised: Decimal = ZERO
    ledger: Ledger = field(default_factory=Ledger)  # transaction log and closed PnL rows
    finished: deque[OrderState] = field(default_factory=deque)  # live, oldest first
    archive: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # orderId: (ms, blob)
    archived_links: dict[str, str] = field(default_factory=dict)  # orderLinkId: orderId
    archive_zdict: bytes = b""  # the archive's compression dictionary (venue.history)

    def __post_init__(self) -> None:
        self.executions = deque(maxlen=self.history_kept)
        self.ledger = Ledger(fills=deque(maxlen=self.history_kept))

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
        self.finished.append(order)

    def let_go(self) -> list[tuple[OrderState, list[wire.Execution]]]:
        """Take the finished orders beyond `history_kept` out of the live history, with
        their executions (to be archived)."""
        gone = []
        while len(self.finished) > self.history_kept:
            old = self.finished.popleft()
            self.orders.pop(old.order_id, None)
            if self.link_ids.get(old.order_link_id) is old:
                del self.link_ids[old.order_link_id]
            self.ledger.closed.pop(old.order_id, None)
            gone.append((old, self.exec_of.pop(old.order_id, [])))
        return gone

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
            if order.reduce_only or order.order_id == skip or order.status == "Untriggered":
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
