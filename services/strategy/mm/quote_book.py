"""The quote manager's state: at most one quote per (symbol, side), moved by our order events.

A quote is PENDING_NEW from its SubmitOrder until OrderAccepted, WORKING while it rests,
PENDING_AMEND from an AmendOrder until OrderAmended (or the amend's OrderDenied), and
PENDING_CANCEL from a CancelOrder until OrderCanceled. A fill of the whole order, a
cancellation, a rejection or a denied submit frees the slot. Nothing is dropped silently:
an event for an id we do not hold, or one that changes nothing, is counted in `counters`.
After HARD (`set_hard`, for one symbol or all) no new quote is sent: `send_new` raises.
Sending a command and registering it are one step (`send_new`, `send_amend`, `send_cancel`),
so the book never holds a quote whose command was not built, nor the reverse.

Commands go out batched per kind (`batch_commands`), at most MAX_BATCH per request: Bybit's
batch-place page gives 20 for linear, its rate-limit page 1..10; we stay at 10.

Client order ids follow the scalper's scheme (shared.order_ids): strategy id, universe
epoch, and a seq that is `max(last + 1, now_ns)`, so ids are deterministic and a restart
starts above the old ones.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from shared.order_ids import client_order_id
from shared.schema import (
    AmendOrder,
    AmendOrders,
    BookLevels,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    OrderType,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    TimeInForce,
)

MAX_BATCH = 10
_T = TypeVar("_T")
BatchCommand = SubmitOrders | AmendOrders | CancelOrders

_Answer = OrderAccepted | OrderAmended | OrderCanceled | OrderDenied | OrderRejected
OrderEvent = _Answer | OrderFilled | OrderPartiallyFilled
Slot = tuple[Symbol, OrderSide]


class QuoteStatus(StrEnum):
    PENDING_NEW = "pending-new"
    WORKING = "working"
    PENDING_AMEND = "pending-amend"
    PENDING_CANCEL = "pending-cancel"


@dataclass(slots=True)
class WorkingQuote:
    """One quote: the order's total qty (fills included), its price, and where it stands."""

    client_order_id: ClientOrderId
    symbol: Symbol
    side: OrderSide
    price: Decimal
    qty: Decimal
    ref_mid: Decimal  # the mid when sent, repriced or kept by the cycle (fast-cancel's origin)
    status: QuoteStatus = QuoteStatus.PENDING_NEW
    filled_qty: Decimal = Decimal(0)
    accepted: bool = False  # the venue acknowledged it (an amend or a cancel may follow)
    amend_refused: bool = False  # an amend was refused: change it by cancel + new from now on
    amend_to: tuple[Decimal, Decimal] | None = None  # (price, qty) of the amend in flight

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def slot(self) -> Slot:
        return (self.symbol, self.side)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What every command of one decision carries: when, for how long, and why (trace)."""

    now_ns: int
    ttl_ns: int
    trace_id: str = ""

    @property
    def expires_at_ns(self) -> int:
        return self.now_ns + self.ttl_ns


class QuoteBook:
    """The quotes by (symbol, side) and by client order id; one writer: the quote manager."""

    def __init__(self, strategy_id: str) -> None:
        self.strategy_id = strategy_id
        self.counters: Counter[str] = Counter()
        self.hard_all = False
        self.hard_symbols: set[Symbol] = set()
        self.last_seq = 0
        self._slots: dict[Slot, WorkingQuote] = {}
        self._ids: dict[ClientOrderId, WorkingQuote] = {}

    def quote(self, symbol: Symbol, side: OrderSide) -> WorkingQuote | None:
        return self._slots.get((symbol, side))

    def by_id(self, order_id: ClientOrderId) -> WorkingQuote | None:
        return self._ids.get(order_id)

    def quotes(self) -> list[WorkingQuote]:
        return list(self._slots.values())

    def set_hard(self, symbol: Symbol | None = None) -> None:
        """HARD for `symbol` (None: every symbol): no new quote there from now on."""
        if symbol is None:
            self.hard_all = True
        else:
            self.hard_symbols.add(symbol)

    def is_hard(self, symbol: Symbol) -> bool:
        return self.hard_all or symbol in self.hard_symbols

    def next_id(self, epoch: int, now_ns: int) -> ClientOrderId:
        self.last_seq = max(self.last_seq + 1, now_ns)
        return client_order_id(self.strategy_id, epoch, self.last_seq)

    def new_order(
        self, slot: Slot, target: tuple[Decimal, Decimal], levels: BookLevels, stamp: Stamp
    ) -> SubmitOrder:
        """A PostOnly limit order for `target` = (price, qty), triggered by `levels`."""
        symbol, side = slot
        price, qty = target
        return SubmitOrder(
            client_order_id=self.next_id(levels.epoch, stamp.now_ns),
            strategy_id=self.strategy_id,
            epoch=levels.epoch,
            symbol=symbol,
            side=side,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.POST_ONLY,
            qty=qty,
            limit_price=price,
            ts_created_ns=stamp.now_ns,
            expires_at_ns=stamp.expires_at_ns,
            ts_trigger_recv_ns=levels.ts_recv_ns,
            ts_trigger_event_ns=levels.ts_event_ns,
            trace_id=levels.trace_id,
        )

    def send_new(self, order: SubmitOrder, ref_mid: Decimal) -> SubmitOrder:
        """Hold the quote `order` places; raises if HARD or its slot is taken (a caller bug)."""
        slot = (order.symbol, order.side)
        if self.is_hard(order.symbol):
            raise RuntimeError(f"new quote {order.client_order_id} after HARD")
        if slot in self._slots or order.client_order_id in self._ids:
            raise RuntimeError(f"slot {slot} or id {order.client_order_id} already held")
        price = order.limit_price if order.limit_price is not None else ref_mid
        quote = WorkingQuote(
            order.client_order_id, order.symbol, order.side, price, order.qty, ref_mid
        )
        self._slots[slot] = quote
        self._ids[order.client_order_id] = quote
        return order

    def send_amend(
        self, quote: WorkingQuote, new: tuple[Decimal, Decimal], ref_mid: Decimal, stamp: Stamp
    ) -> AmendOrder:
        """Amend `quote` to `new` = (price, total qty); only the fields that change are sent."""
        price, qty = new
        quote.status, quote.amend_to, quote.ref_mid = QuoteStatus.PENDING_AMEND, new, ref_mid
        return AmendOrder(
            client_order_id=quote.client_order_id,
            strategy_id=self.strategy_id,
            symbol=quote.symbol,
            qty=None if qty == quote.qty else qty,
            limit_price=None if price == quote.price else price,
            ts_created_ns=stamp.now_ns,
            expires_at_ns=stamp.expires_at_ns,
            trace_id=stamp.trace_id,
        )

    def send_cancel(self, quote: WorkingQuote, stamp: Stamp) -> CancelOrder:
        quote.status = QuoteStatus.PENDING_CANCEL
        return CancelOrder(
            client_order_id=quote.client_order_id,
            strategy_id=self.strategy_id,
            symbol=quote.symbol,
            ts_created_ns=stamp.now_ns,
            expires_at_ns=stamp.expires_at_ns,
            trace_id=stamp.trace_id,
        )

    def apply(self, event: OrderEvent) -> WorkingQuote | None:
        """Apply one order event; return the quote it concerned (removed or not), None if
        the id is unknown (counted as `unknown_<kind>`)."""
        quote = self._ids.get(event.client_order_id)
        if quote is None:
            self.counters[f"unknown_{type(event).__name__}"] += 1
            return None
        match event:
            case OrderAccepted():
                self._accepted(quote)
            case OrderAmended():
                self._amended(quote, event)
            case OrderPartiallyFilled():
                quote.filled_qty = max(quote.filled_qty, event.cum_filled_qty)
            case OrderDenied():
                self._denied(quote, event)
            case OrderFilled() | OrderCanceled() | OrderRejected():
                self._remove(quote, type(event).__name__)
        return quote

    def _accepted(self, quote: WorkingQuote) -> None:
        if quote.accepted:
            self.counters["duplicate_OrderAccepted"] += 1
        quote.accepted = True
        if quote.status is QuoteStatus.PENDING_NEW:
            quote.status = QuoteStatus.WORKING

    def _amended(self, quote: WorkingQuote, event: OrderAmended) -> None:
        if event.limit_price is not None:
            quote.price = event.limit_price
        quote.qty = event.qty
        quote.amend_to = None
        quote.accepted = True
        if quote.status is QuoteStatus.PENDING_AMEND:
            quote.status = QuoteStatus.WORKING
        else:  # a cancel overtook the amend: still pending cancel
            self.counters["amended_while_canceling"] += 1

    def _denied(self, quote: WorkingQuote, event: OrderDenied) -> None:
        kind = event.command_kind
        if kind in ("SubmitOrder", "SubmitOrders"):
            self._remove(quote, "denied_submit")
        elif kind in ("AmendOrder", "AmendOrders"):
            self.counters["denied_amend"] += 1
            quote.amend_refused, quote.amend_to = True, None
            if quote.status is QuoteStatus.PENDING_AMEND:
                quote.status = QuoteStatus.WORKING
        elif kind in ("CancelOrder", "CancelOrders"):
            self.counters["denied_cancel"] += 1  # still ours: the next cycle decides again
            if quote.status is QuoteStatus.PENDING_CANCEL:
                quote.status = _status_before_cancel(quote)
        else:
            self.counters[f"denied_{kind}"] += 1

    def _remove(self, quote: WorkingQuote, why: str) -> None:
        self.counters[f"removed_{why}"] += 1
        self._ids.pop(quote.client_order_id, None)
        if self._slots.get(quote.slot) is quote:
            del self._slots[quote.slot]


def batch_commands(
    cancels: Sequence[CancelOrder],
    amends: Sequence[AmendOrder],
    submits: Sequence[SubmitOrder],
    stamp: Stamp,
    strategy_id: str,
) -> list[BatchCommand]:
    """Return the batches, cancels first (risk off first), then amends, then new quotes."""
    if not (cancels or amends or submits):  # most cycles: nothing to send
        return []
    sid, now, until = strategy_id, stamp.now_ns, stamp.expires_at_ns
    out: list[BatchCommand] = []
    out += [
        CancelOrders(strategy_id=sid, cancels=c, ts_created_ns=now, expires_at_ns=until)
        for c in _chunks(cancels)
    ]
    out += [
        AmendOrders(strategy_id=sid, amends=a, ts_created_ns=now, expires_at_ns=until)
        for a in _chunks(amends)
    ]
    out += [
        SubmitOrders(strategy_id=sid, orders=o, ts_created_ns=now, expires_at_ns=until)
        for o in _chunks(submits)
    ]
    return out


def _chunks(items: Sequence[_T]) -> list[tuple[_T, ...]]:
    return [tuple(items[i : i + MAX_BATCH]) for i in range(0, len(items), MAX_BATCH)]


def _status_before_cancel(quote: WorkingQuote) -> QuoteStatus:
    if quote.amend_to is not None:
        return QuoteStatus.PENDING_AMEND
    return QuoteStatus.WORKING if quote.accepted else QuoteStatus.PENDING_NEW
