"""Requote by difference: working quotes vs targets -> keep, amend, new or cancel (pure).

Rules, per (symbol, side), for a WORKING quote and its target (market-making.md section 8;
Bybit: a qty decrease keeps the queue place, a new price or a larger qty is a new place):
1. no target (or HARD) -> cancel; a pending quote is cancelled too, unless already pending
   cancel;
2. price within `price_tolerance_ticks` and leaves within `qty_tolerance` -> keep (nothing);
3. price within tolerance, fewer lots wanted -> amend qty down (keeps priority);
4. price within tolerance, more lots wanted -> amend qty up (priority lost either way, one
   request instead of two), or cancel if the venue refused an amend of this order before;
5. new price at most `keep_max_ticks` away and the quote's place is worth more than the
   target's (`SideMarket.keep_value_bps > move_value_bps`, queue.py) -> keep;
6. new price that would cross the book (an amended order can become a taker, PostOnly
   protects only a new order) or an order whose amend was refused -> cancel; the new
   quote follows once the cancel is acknowledged (never two quotes on one side);
7. otherwise -> amend price and qty.
With no quote, a target gives a new PostOnly quote unless HARD. A quote pending new, amend
or cancel is left alone until its answer arrives (except rule 1). Nothing here runs on a
timer: there is no cancel-all-and-replace.

Commands are batched per kind, at most MAX_BATCH per request: Bybit's batch pages give 20
for linear, its rate-limit page 1..10; we stay at 10.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from services.strategy.mm.fast_cancel import (
    FastCancelKnobs,
    pullable,
    threatened_by_mid,
    threatened_by_trade,
)
from services.strategy.mm.queue import NS_PER_S, QueueBoard, mid_price
from services.strategy.mm.quote_book import (
    BatchCommand,
    OrderEvent,
    QuoteBook,
    QuoteStatus,
    Slot,
    Stamp,
    WorkingQuote,
    batch_commands,
)
from shared.schema import (
    AmendOrder,
    BookLevels,
    CancelOrder,
    ClientOrderId,
    OrderAccepted,
    OrderAmended,
    OrderPartiallyFilled,
    OrderSide,
    SubmitOrder,
    Symbol,
    Trade,
)

SIDES = (OrderSide.BUY, OrderSide.SELL)


@dataclass(frozen=True, slots=True)
class Target:
    """The quote the pricing stages want on one side: price and qty (resting, unfilled)."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class RequoteKnobs:
    price_tolerance_ticks: int = 0  # a target this close to the working price is no change
    qty_tolerance: Decimal = Decimal(0)  # in qty units; a smaller leaves difference is none
    keep_max_ticks: int = 1  # queue-aware keep only this close to the target


@dataclass(frozen=True, slots=True)
class SideMarket:
    """What the diff needs about the market on one side (computed by the manager)."""

    tick_size: Decimal
    best_bid: Decimal | None
    best_ask: Decimal | None
    keep_value_bps: float = 0.0  # queue value of the working quote where it is (queue.py)
    move_value_bps: float = 0.0  # queue value of a new quote at the target


@dataclass(frozen=True, slots=True)
class Place:
    symbol: Symbol
    side: OrderSide
    target: Target


@dataclass(frozen=True, slots=True)
class Amend:
    client_order_id: ClientOrderId
    symbol: Symbol
    price: Decimal
    qty: Decimal  # the order's new total qty (fills included), as Bybit's amend takes it


@dataclass(frozen=True, slots=True)
class Cancel:
    client_order_id: ClientOrderId
    symbol: Symbol


Decision = Place | Amend | Cancel


def crosses(price: Decimal, side: OrderSide, market: SideMarket) -> bool:
    """Whether a limit at `price` would take liquidity from the other side's best."""
    if side is OrderSide.BUY:
        return market.best_ask is not None and price >= market.best_ask
    return market.best_bid is not None and price <= market.best_bid


def decide(
    slot: Slot,
    quote: WorkingQuote | None,
    target: Target | None,
    market: SideMarket,
    knobs: RequoteKnobs,
    *,
    hard: bool,
) -> Decision | None:
    """Return the one change that moves this side's quote to `target`, or None to keep it."""
    wanted = None if hard or target is None or target.qty <= 0 else target
    if quote is None:
        return None if wanted is None else Place(slot[0], slot[1], wanted)
    if quote.status is QuoteStatus.PENDING_CANCEL:
        return None
    if wanted is None:
        return Cancel(quote.client_order_id, quote.symbol)
    if quote.status is not QuoteStatus.WORKING:
        return None
    return _decide_working(quote, wanted, market, knobs)


def _decide_working(
    quote: WorkingQuote, target: Target, market: SideMarket, knobs: RequoteKnobs
) -> Decision | None:
    ticks = abs(target.price - quote.price) / market.tick_size
    qty_gap = target.qty - quote.leaves_qty
    cancel = Cancel(quote.client_order_id, quote.symbol)
    if ticks <= knobs.price_tolerance_ticks:
        if abs(qty_gap) <= knobs.qty_tolerance:
            return None
        if qty_gap > 0 and quote.amend_refused:
            return cancel
        return Amend(
            quote.client_order_id, quote.symbol, quote.price, quote.filled_qty + target.qty
        )
    if ticks <= knobs.keep_max_ticks and market.keep_value_bps > market.move_value_bps:
        return None
    if quote.amend_refused or crosses(target.price, quote.side, market):
        return cancel
    return Amend(quote.client_order_id, quote.symbol, target.price, quote.filled_qty + target.qty)


def compares_queue(
    quote: WorkingQuote, target: Target, tick_size: Decimal, knobs: RequoteKnobs, *, hard: bool
) -> bool:
    """Whether `decide` reads the side's queue values: a working quote, a target it keeps,
    more than the price tolerance away and at most `keep_max_ticks` (rule 5)."""
    if hard or target.qty <= 0 or quote.status is not QuoteStatus.WORKING:
        return False
    ticks = abs(target.price - quote.price) / tick_size
    return knobs.price_tolerance_ticks < ticks <= knobs.keep_max_ticks


@dataclass(frozen=True, slots=True)
class ManagerKnobs:
    requote: RequoteKnobs = field(default_factory=RequoteKnobs)
    fast_cancel: FastCancelKnobs = field(default_factory=FastCancelKnobs)
    horizon_s: float = 5.0  # the queue value's horizon [s]
    ttl_ns: int = 2 * NS_PER_S  # a command not sent within this is denied as stale


class QuoteManager:
    """The quote manager: quote book + queue board + the rules; inputs in, batches out.

    `on_targets` is the cycle (requote by difference); `on_book` and `on_trade` move the
    queue estimates and pull threatened quotes at once (fast-cancel); `on_event` applies
    our order events; `set_hard` cancels and stops new quotes. Pure: time comes as now_ns.
    """

    def __init__(self, strategy_id: str, knobs: ManagerKnobs, board: QueueBoard) -> None:
        self.book = QuoteBook(strategy_id)
        self.board = board
        self.knobs = knobs
        self.grid: dict[Symbol, tuple[Decimal, Decimal]] = {}  # (tick_size, qty_step)

    def set_rules(self, symbol: Symbol, tick_size: Decimal, qty_step: Decimal) -> None:
        self.grid[symbol] = (tick_size, qty_step)

    def on_book(self, levels: BookLevels, now_ns: int) -> list[BatchCommand]:
        """Move the queue estimates; pull the quotes the mid moved toward too far."""
        self.board.on_book(levels)
        mid, grid = mid_price(levels), self.grid.get(levels.symbol)
        if mid is None or grid is None:
            return []
        knobs = self.knobs.fast_cancel
        threatened = [
            q
            for q in pullable(self.book.quotes())
            if q.symbol == levels.symbol and threatened_by_mid(q, mid, grid[0], knobs)
        ]
        return self._cancel(threatened, Stamp(now_ns, self.knobs.ttl_ns, levels.trace_id))

    def on_trade(self, trade: Trade, now_ns: int) -> list[BatchCommand]:
        """Move the queue estimates; pull the quotes the trade printed at or through."""
        self.board.on_trade(trade, now_ns)
        knobs = self.knobs.fast_cancel
        threatened = [
            q for q in pullable(self.book.quotes()) if threatened_by_trade(q, trade, knobs)
        ]
        return self._cancel(threatened, Stamp(now_ns, self.knobs.ttl_ns, trade.trace_id))

    def set_hard(self, symbol: Symbol | None, now_ns: int) -> list[BatchCommand]:
        """HARD on `symbol` (None: all): cancel its quotes; no new quote from now on."""
        self.book.set_hard(symbol)
        quotes = [q for q in pullable(self.book.quotes()) if symbol in (None, q.symbol)]
        return self._cancel(quotes, Stamp(now_ns, self.knobs.ttl_ns), counter="hard_cancel")

    def on_event(self, event: OrderEvent) -> None:
        """Apply one of our order events to the quote book and the queue board."""
        quote = self.book.apply(event)
        if quote is None:
            return
        order_id = quote.client_order_id
        if self.book.by_id(order_id) is None:
            self.board.remove(order_id)
        elif isinstance(event, OrderAccepted) and order_id not in self.board.spots:
            step = self.grid[quote.symbol][1]
            self.board.place(
                order_id, quote.symbol, quote.side, quote.price, (quote.leaves_qty, step)
            )
        elif isinstance(event, OrderAmended | OrderPartiallyFilled):
            self.board.resize(order_id, quote.price, quote.leaves_qty)

    def on_targets(
        self, symbol: Symbol, targets: dict[OrderSide, Target | None], now_ns: int
    ) -> list[BatchCommand]:
        """The cycle: move each side's quote to its target by the smallest change."""
        levels, grid = self.board.books.get(symbol), self.grid.get(symbol)
        mid = None if levels is None else mid_price(levels)
        if levels is None or grid is None or mid is None:
            self.book.counters["targets_without_book"] += 1
            return []
        stamp = Stamp(now_ns, self.knobs.ttl_ns, levels.trace_id)
        commands: list[SubmitOrder | AmendOrder | CancelOrder] = []
        best_bid = levels.bids[0].price if levels.bids else None
        best_ask = levels.asks[0].price if levels.asks else None
        touch = SideMarket(grid[0], best_bid, best_ask)  # no queue values: rule 5 not reached
        hard = self.book.is_hard(symbol)
        for side in SIDES:
            quote, target = self.book.quote(symbol, side), targets.get(side)
            market = touch
            if quote is not None and target is not None:
                market = self._queue_values(quote, target, touch, (mid, now_ns), hard=hard)
            decision = decide((symbol, side), quote, target, market, self.knobs.requote, hard=hard)
            if decision is not None:
                commands.append(self._send(decision, levels, mid, stamp))
            elif quote is not None and quote.status is QuoteStatus.WORKING:
                quote.ref_mid = mid  # the cycle confirmed it at this mid: fast-cancel's origin
        cancels = [c for c in commands if isinstance(c, CancelOrder)]
        amends = [c for c in commands if isinstance(c, AmendOrder)]
        submits = [c for c in commands if isinstance(c, SubmitOrder)]
        return batch_commands(cancels, amends, submits, stamp, self.book.strategy_id)

    def _queue_values(
        self,
        quote: WorkingQuote,
        target: Target,
        touch: SideMarket,
        mid_now: tuple[Decimal, int],
        *,
        hard: bool,
    ) -> SideMarket:
        # The queue values only when `decide` compares them (rule 5): they were most of a
        # cycle's requote time and are unread otherwise. Either way the side's flow rate
        # decays to now, as when they were always computed: its float state, and so every
        # later value, stays what it was.
        mid, now_ns = mid_now
        if not compares_queue(quote, target, touch.tick_size, self.knobs.requote, hard=hard):
            self.board.decay_flow(quote.client_order_id, now_ns)
            return touch
        flow = (now_ns, self.knobs.horizon_s)
        keep, move = self.board.keep_and_move_bps(quote.client_order_id, target.price, mid, flow)
        return SideMarket(touch.tick_size, touch.best_bid, touch.best_ask, keep, move)

    def _send(
        self, decision: Decision, levels: BookLevels, mid: Decimal, stamp: Stamp
    ) -> SubmitOrder | AmendOrder | CancelOrder:
        if isinstance(decision, Place):
            target = (decision.target.price, decision.target.qty)
            order = self.book.new_order((decision.symbol, decision.side), target, levels, stamp)
            return self.book.send_new(order, mid)
        quote = self.book.by_id(decision.client_order_id)
        if quote is None:
            raise RuntimeError(f"decision for unknown quote {decision.client_order_id}")
        if isinstance(decision, Cancel):
            return self.book.send_cancel(quote, stamp)
        return self.book.send_amend(quote, (decision.price, decision.qty), mid, stamp)

    def _cancel(
        self, quotes: list[WorkingQuote], stamp: Stamp, counter: str = "fast_cancel"
    ) -> list[BatchCommand]:
        self.book.counters[counter] += len(quotes)
        if not quotes:  # the usual fast-cancel check: nothing threatened
            return []
        cancels = [self.book.send_cancel(q, stamp) for q in quotes]
        return batch_commands(cancels, [], [], stamp, self.book.strategy_id)
