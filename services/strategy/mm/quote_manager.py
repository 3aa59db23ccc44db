"""The quote manager: quote book, queue board and requote rules; inputs in, batches out.

`QuoteManager.on_targets` is the cycle's requote stage (requote.py's rules, by difference,
queue-aware: a side's queue values are worked out only when rule 5 compares them);
`on_book` and `on_trade` move the queue estimates and pull threatened quotes at once
(fast_cancel.py); `on_event` applies our order events to the book and the board;
`set_hard` cancels and stops new quotes. Pure: time comes as now_ns. Commands go out
batched per kind, at most MAX_BATCH a request (quote_book.py `batch_commands`).
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
    Stamp,
    WorkingQuote,
    batch_commands,
)
from services.strategy.mm.requote import (
    SIDES,
    Cancel,
    Decision,
    Place,
    RequoteKnobs,
    SideMarket,
    Target,
    compares_queue,
    decide,
)
from shared.schema import (
    AmendOrder,
    BookLevels,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderPartiallyFilled,
    OrderSide,
    SubmitOrder,
    Symbol,
    Trade,
)


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
