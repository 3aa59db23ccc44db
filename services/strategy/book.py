"""The strategy's own position and working orders, derived from execution events.

Fills are applied from `cum_filled_qty` (the delta to what we already know), so a repeated
or reordered fill event never counts twice. A reduce-only fill never crosses zero. The
executor's PositionChanged and ExecutionSnapshot override what the fills said: the venue's
view wins.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from shared.schema import (
    ClientOrderId,
    OpenOrder,
    OrderSide,
    OrderStatus,
    SubmitOrder,
    Symbol,
    TimeInForce,
)

ZERO: Final = Decimal(0)
_REMEMBERED_CLOSED: Final = 256  # finished order ids kept to recognise late duplicates


@dataclass(slots=True)
class WorkingOrder:
    client_order_id: ClientOrderId
    symbol: Symbol
    side: OrderSide
    qty: Decimal
    reduce_only: bool
    post_only: bool
    placed_ns: int
    cum_filled: Decimal = ZERO
    cancel_sent: bool = False
    next_cancel_ns: int = 0  # after a refused cancel: not again before this
    heard_ns: int = 0  # sent, or last news of it from the venue: see Book.quiet_order
    done_at_qty: Decimal | None = None  # canceled at the venue with this much filled
    executor_knows: bool = False  # reported on by the executor: no longer on its way there

    @classmethod
    def from_command(cls, command: SubmitOrder) -> "WorkingOrder":
        return cls(
            client_order_id=command.client_order_id,
            symbol=command.symbol,
            side=command.side,
            qty=command.qty,
            reduce_only=command.reduce_only,
            post_only=command.time_in_force is TimeInForce.POST_ONLY,
            placed_ns=command.ts_created_ns,
            heard_ns=command.ts_created_ns,
        )

    @classmethod
    def from_open_order(cls, order: OpenOrder, now_ns: int) -> "WorkingOrder":
        return cls(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            reduce_only=order.reduce_only,
            post_only=order.time_in_force is TimeInForce.POST_ONLY,
            placed_ns=now_ns,  # its age is unknown: the timeout starts now
            heard_ns=now_ns,
            cum_filled=order.cum_filled_qty,
            cancel_sent=order.status is OrderStatus.PENDING_CANCEL,
            executor_knows=True,
        )

    def heard(self, now_ns: int) -> None:
        """News of it from the venue (accepted, filled, canceled): a denied cancel is none."""
        self.heard_ns = now_ns
        self.executor_knows = True


class Book:
    """Position (signed qty, average entry price), working orders and realised PnL."""

    def __init__(self) -> None:
        self.symbol: Symbol | None = None  # where the position and the orders are
        self.qty = ZERO  # signed: short < 0
        self.entry_price: Decimal | None = None
        self.realised_pnl = ZERO  # USDT since start, fees included
        self.orders: dict[ClientOrderId, WorkingOrder] = {}
        self._closed: dict[ClientOrderId, None] = {}  # insertion-ordered set

    @property
    def empty(self) -> bool:
        return self.qty == 0 and not self.orders

    def entry_order(self) -> WorkingOrder | None:
        return next((o for o in self.orders.values() if not o.reduce_only), None)

    def exit_order(self) -> WorkingOrder | None:
        return next((o for o in self.orders.values() if o.reduce_only), None)

    def quiet_order(self, now_ns: int, quiet_ns: int) -> WorkingOrder | None:
        """A working order not heard of for `quiet_ns`: its outcome may have been lost."""
        return next((o for o in self.orders.values() if now_ns - o.heard_ns >= quiet_ns), None)

    def add(self, command: SubmitOrder) -> None:
        self.symbol = command.symbol
        self.orders[command.client_order_id] = WorkingOrder.from_command(command)

    def was_closed(self, order_id: ClientOrderId) -> bool:
        return order_id in self._closed

    def close(self, order_id: ClientOrderId) -> WorkingOrder | None:
        """Remove a finished order (filled, canceled, rejected, denied) and remember its id."""
        order = self.orders.pop(order_id, None)
        if order is not None:
            self._closed[order_id] = None
            if len(self._closed) > _REMEMBERED_CLOSED:
                del self._closed[next(iter(self._closed))]
        return order

    def apply_fill(
        self, order: WorkingOrder, cum_filled: Decimal, price: Decimal, fee: Decimal
    ) -> bool:
        """Apply the part of a fill not yet known; return False for a duplicate."""
        delta = cum_filled - order.cum_filled
        if delta <= 0:
            return False
        order.cum_filled = cum_filled
        self.realised_pnl -= fee
        signed = delta if order.side is OrderSide.BUY else -delta
        if order.reduce_only:  # never crosses zero, whatever the fills said
            signed = _toward_zero(signed, self.qty)
        self._apply_signed(signed, price)
        return True

    def _apply_signed(self, signed: Decimal, price: Decimal) -> None:
        qty, entry = self.qty, self.entry_price
        if signed == 0:
            return
        if qty == 0 or entry is None or (qty > 0) == (signed > 0):
            held = abs(qty) if entry is not None else ZERO
            total = held + abs(signed)
            if total > 0:
                self.entry_price = (held * (entry or ZERO) + abs(signed) * price) / total
            self.qty = qty + signed
            return
        closing = min(abs(signed), abs(qty))
        direction = 1 if qty > 0 else -1
        self.realised_pnl += closing * (price - entry) * direction
        self.qty = qty + signed
        if self.qty == 0:
            self.entry_price = None
        elif (self.qty > 0) != (qty > 0):  # flipped: the rest opened at the fill price
            self.entry_price = price

    def adopt_position(self, qty: Decimal, avg_entry_price: Decimal) -> None:
        """Take the venue's position as ours."""
        self.qty = qty
        self.entry_price = avg_entry_price if qty != 0 and avg_entry_price > 0 else None

    def rebuild(self, symbol: Symbol | None, orders: list[WorkingOrder]) -> None:
        """Replace the working orders (from a snapshot); the position is adopted separately."""
        self.symbol = symbol
        self.orders = {o.client_order_id: o for o in orders}


def _toward_zero(signed: Decimal, position: Decimal) -> Decimal:
    """Return the part of `signed` that moves `position` toward zero without crossing it."""
    if position > 0 and signed < 0:
        return max(signed, -position)
    if position < 0 and signed > 0:
        return min(signed, -position)
    return ZERO
