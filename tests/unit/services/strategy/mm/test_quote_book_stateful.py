"""The quote manager against a small venue model under random markets, targets and answers.

Invariants: at most one order per (symbol, side) at the venue or on its way there; no new
quote after HARD; every order event for an id the manager does not hold is counted.
"""

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from services.strategy.mm.queue import QueueBoard
from services.strategy.mm.quote_book import BatchCommand, OrderEvent
from services.strategy.mm.quote_manager import ManagerKnobs, QuoteManager
from services.strategy.mm.requote import RequoteKnobs, Target
from shared.queue_position import QueueModel
from shared.schema import (
    AmendOrder,
    AmendOrders,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    OrderSide,
    SubmitOrder,
    SubmitOrders,
    Symbol,
)
from tests.unit.services.strategy.mm.test_quote_book import (
    BTC,
    ETH,
    SID,
    T0,
    accepted,
    amended,
    canceled,
    denied,
    fill,
    levels,
    rejected,
    trade,
)

D = Decimal
TICK = D("0.1")
STEP = D("0.001")
SYMBOLS = st.sampled_from([BTC, ETH])
SIDES = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
TICKS = st.integers(990, 1010)
TARGETS = st.one_of(st.none(), st.builds(Target, TICKS.map(lambda n: n * TICK), st.just(D(1))))
Request = SubmitOrder | AmendOrder | CancelOrder


@dataclass
class VenueOrder:
    symbol: Symbol
    side: OrderSide
    price: Decimal
    qty: Decimal
    filled: Decimal = Decimal(0)
    live: bool = False  # resting at the venue (accepted, not ended)
    ended: bool = False


class QuoteManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        board = QueueBoard(QueueModel("probabilistic"), flow_tau_ns=5_000_000_000)
        self.mgr = QuoteManager(SID, ManagerKnobs(requote=RequoteKnobs(keep_max_ticks=1)), board)
        for symbol in (BTC, ETH):
            self.mgr.set_rules(symbol, TICK, STEP)
        self.now = T0
        self.venue: dict[ClientOrderId, VenueOrder] = {}
        self.pending: list[Request] = []
        self.hard: set[Symbol | None] = set()
        self.expected_unknown = 0

    # ------------------------------------------------------------ inputs

    @initialize()
    def books(self) -> None:
        for symbol in (BTC, ETH):
            self.market(symbol, 1000, 2, 5)

    @rule(symbol=SYMBOLS, bid=TICKS, spread=st.integers(1, 3), qty=st.integers(0, 9))
    def market(self, symbol: Symbol, bid: int, spread: int, qty: int) -> None:
        size = str(qty * STEP)
        bids = [(str(bid * TICK), size), (str((bid - 1) * TICK), "0.005")]
        asks = [(str((bid + spread) * TICK), size), (str((bid + spread + 1) * TICK), "0.005")]
        self._send(self.mgr.on_book(levels(bids, asks, symbol, self._tick()), self.now))

    @rule(symbol=SYMBOLS, taker=SIDES, price=TICKS, qty=st.integers(0, 9))
    def market_trade(self, symbol: Symbol, taker: OrderSide, price: int, qty: int) -> None:
        print_ = trade(str(price * TICK), str(qty * STEP), taker, symbol, self._tick())
        self._send(self.mgr.on_trade(print_, self.now))

    @rule(symbol=SYMBOLS, bid=TARGETS, ask=TARGETS)
    def targets(self, symbol: Symbol, bid: Target | None, ask: Target | None) -> None:
        wanted = {OrderSide.BUY: bid, OrderSide.SELL: ask}
        self._send(self.mgr.on_targets(symbol, wanted, self._tick()))

    @rule(symbol=st.one_of(st.none(), SYMBOLS), roll=st.integers(0, 15))
    def hard_guard(self, symbol: Symbol | None, roll: int) -> None:
        if roll:  # HARD ends quoting for good: rare, so the steps before it explore the rest
            return
        self.hard.add(symbol)
        self._send(self.mgr.set_hard(symbol, self._tick()))

    # ------------------------------------------------------------ the venue's answers

    @precondition(lambda self: self.pending)
    @rule(pick=st.integers(0, 100), refuse=st.booleans(), deny=st.booleans())
    def answer(self, pick: int, refuse: bool, deny: bool) -> None:
        request = self.pending.pop(pick % len(self.pending))
        order_id = request.client_order_id
        order = self.venue[order_id]
        if isinstance(request, SubmitOrder):
            order.live, order.ended = not refuse, refuse
            refusal = denied(order_id, "SubmitOrder") if deny else rejected(order_id, order.symbol)
            self._event(refusal if refuse else accepted(order_id, order.symbol))
        elif isinstance(request, AmendOrder):
            self._answer_amend(request, order, refuse)
        elif order.live:
            order.live, order.ended = False, True
            self._event(canceled(request.client_order_id, order.symbol))
        else:
            self._event(denied(request.client_order_id, "CancelOrder"))

    def _answer_amend(self, request: AmendOrder, order: VenueOrder, refuse: bool) -> None:
        qty = request.qty or order.qty
        if refuse or not order.live or qty <= order.filled:
            self._event(denied(request.client_order_id, "AmendOrder"))
            return
        order.qty, order.price = qty, request.limit_price or order.price
        self._event(amended(request.client_order_id, order.qty, order.price, order.symbol))

    @precondition(lambda self: any(o.live for o in self.venue.values()))
    @rule(pick=st.integers(0, 100), whole=st.booleans())
    def venue_fill(self, pick: int, whole: bool) -> None:
        live = [(i, o) for i, o in self.venue.items() if o.live]
        order_id, order = live[pick % len(live)]
        order.filled = order.qty if whole else order.filled + (order.qty - order.filled) / 2
        if order.filled == order.qty:
            order.live, order.ended = False, True
        leaves = order.qty - order.filled
        self._event(fill(order_id, order.side, order.filled, leaves, order.symbol))

    @precondition(lambda self: any(o.live for o in self.venue.values()))
    @rule(pick=st.integers(0, 100))
    def venue_cancel(self, pick: int) -> None:
        """The venue ends an order on its own (a PostOnly that would cross, a liquidation)."""
        live = [(i, o) for i, o in self.venue.items() if o.live]
        order_id, order = live[pick % len(live)]
        order.live, order.ended = False, True
        self._event(canceled(order_id, order.symbol))

    @rule(kind=st.sampled_from(["canceled", "accepted", "denied"]))
    def stray_event(self, kind: str) -> None:
        order_id = ClientOrderId("other-1-1")
        if kind == "canceled":
            self._event(canceled(order_id))
        elif kind == "accepted":
            self._event(accepted(order_id))
        else:
            self._event(denied(order_id, "SubmitOrder"))

    # ------------------------------------------------------------ invariants

    @invariant()
    def one_order_per_side_at_the_venue(self) -> None:
        slots = [(o.symbol, o.side) for o in self.venue.values() if not o.ended]
        assert len(slots) == len(set(slots)), slots
        held = [q.slot for q in self.mgr.book.quotes()]
        assert len(held) == len(set(held))

    @invariant()
    def unknown_events_are_counted(self) -> None:
        counters = self.mgr.book.counters
        counted = sum(n for name, n in counters.items() if name.startswith("unknown_"))
        assert counted == self.expected_unknown

    # ------------------------------------------------------------ plumbing

    def _tick(self) -> int:
        self.now += 1_000_000
        return self.now

    def _send(self, commands: list[BatchCommand]) -> None:
        for command in commands:
            requests: tuple[Request, ...]
            match command:
                case SubmitOrders():
                    requests = command.orders
                case AmendOrders():
                    requests = command.amends
                case CancelOrders():
                    requests = command.cancels
            for request in requests:
                self._record(request)

    def _record(self, request: Request) -> None:
        if isinstance(request, SubmitOrder):
            assert None not in self.hard, "new after HARD"
            assert request.symbol not in self.hard, "new after HARD on its symbol"
            assert request.client_order_id not in self.venue
            price = request.limit_price or D(0)
            self.venue[request.client_order_id] = VenueOrder(
                request.symbol, request.side, price, request.qty
            )
        assert request.client_order_id in self.venue, "a command for an order never sent"
        self.pending.append(request)

    def _event(self, event: OrderEvent) -> None:
        if self.mgr.book.by_id(event.client_order_id) is None:
            self.expected_unknown += 1
        self.mgr.on_event(event)


QuoteManagerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None
)
test_quote_manager = QuoteManagerMachine.TestCase
