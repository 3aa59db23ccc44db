"""The market maker core against a small venue model under random books, answers and fills.

Invariants: at most one quote per (symbol, side) at the venue or on its way there; no new
quote after HARD; every quote sent or amended rests without crossing the book it was
priced on, its bid below its ask.
"""

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.strategy.api import Output
from shared.schema import (
    AmendOrder,
    CancelOrder,
    ClientOrderId,
    OrderAmended,
    OrderDenied,
    OrderRejected,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    VenueOrderId,
)
from tests.unit.services.strategy.mm.core_support import (
    SID,
    START,
    accepted,
    amends,
    book,
    canceled,
    cancels,
    filled,
    maker,
    mm_settings,
    submits,
)
from tests.unit.services.strategy.support import BTC, MS, position_changed

D = Decimal
TICK = D("0.1")
Request = SubmitOrder | AmendOrder | CancelOrder


@dataclass
class VenueOrder:
    symbol: Symbol
    side: OrderSide
    price: Decimal
    qty: Decimal
    taker: bool
    live: bool = False
    ended: bool = False


class MakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mm = maker(mm_settings(fast_cancel_mid_ticks=3, deny_backoff_ms=1))
        self.now = START
        self.venue: dict[ClientOrderId, VenueOrder] = {}
        self.pending: list[Request] = []
        self.best = (D("50000.0"), D("50000.1"))
        self.hard = False

    def _take(self, out: list[Output]) -> None:
        news = submits(out)
        for order in news:
            is_limit = order.order_type is OrderType.LIMIT
            if is_limit:
                assert not self.hard, "a new quote after HARD"
                assert order.limit_price is not None
                if order.side is OrderSide.BUY:
                    assert order.limit_price < self.best[1]
                else:
                    assert order.limit_price > self.best[0]
            price = order.limit_price or self.best[0]
            self.venue[order.client_order_id] = VenueOrder(
                order.symbol, order.side, price, order.qty, taker=not is_limit
            )
        prices = {o.side: o.limit_price for o in news if o.order_type is OrderType.LIMIT}
        if len(prices) == 2:
            assert prices[OrderSide.BUY] < prices[OrderSide.SELL]  # type: ignore[operator]
        for amend in amends(out):  # an amended order can take: never priced through the book
            side, to = self.venue[amend.client_order_id].side, amend.limit_price
            if to is not None and side is OrderSide.BUY:
                assert to < self.best[1]
            elif to is not None:
                assert to > self.best[0]
        self.pending += [*news, *amends(out), *cancels(out)]

    def _tick(self) -> int:
        self.now += MS
        return self.now

    @rule(step_ticks=st.integers(-4, 4), spread_ticks=st.integers(1, 4))
    def move_book(self, step_ticks: int, spread_ticks: int) -> None:
        bid = self.best[0] + step_ticks * TICK
        ask = bid + spread_ticks * TICK
        self.best = (bid, ask)
        self._take(book(self.mm, str(bid), str(ask), self._tick()))

    @precondition(lambda self: self.pending)
    @rule(index=st.integers(0, 50), refuse=st.booleans())
    def answer(self, index: int, refuse: bool) -> None:
        request = self.pending.pop(index % len(self.pending))
        order = self.venue[request.client_order_id]
        now = self._tick()
        if isinstance(request, SubmitOrder):
            if refuse:
                order.ended = True
                event = _rejected(request, now)
                self._take(self.mm.on_message(event, now))
                return
            order.live = not order.ended
            self._take(self.mm.on_message(accepted(request, now), now))
        elif isinstance(request, AmendOrder):
            if order.ended or refuse:
                self._take(self.mm.on_message(_denied(request, now), now))
                return
            order.price = request.limit_price or order.price
            order.qty = request.qty or order.qty
            self._take(self.mm.on_message(_amended(request, order, now), now))
        else:
            if order.ended:
                self._take(self.mm.on_message(_denied(request, now), now))
                return
            order.ended, order.live = True, False
            self._take(self.mm.on_message(canceled(request.client_order_id, BTC, now), now))

    @precondition(lambda self: any(o.live and not o.ended for o in self.venue.values()))
    @rule(index=st.integers(0, 50))
    def fill(self, index: int) -> None:
        live = [(i, o) for i, o in self.venue.items() if o.live and not o.ended]
        order_id, order = live[index % len(live)]
        order.ended, order.live = True, False
        command = SubmitOrder(
            client_order_id=order_id,
            strategy_id=SID,
            epoch=1,
            symbol=order.symbol,
            side=order.side,
            order_type=OrderType.LIMIT,
            time_in_force="PostOnly",  # type: ignore[arg-type]
            qty=order.qty,
            limit_price=order.price,
            ts_created_ns=0,
            expires_at_ns=0,
            ts_trigger_recv_ns=0,
            ts_trigger_event_ns=0,
        )
        now = self._tick()
        self._take(self.mm.on_message(filled(command, now, maker=not order.taker), now))

    @rule()
    def timer(self) -> None:
        self._take(self.mm.on_timer(self._tick()))

    @precondition(lambda self: not self.hard)
    @rule()
    def go_hard(self) -> None:
        self.hard = True
        now = self._tick()
        self.mm.on_message(position_changed(BTC, "0.1", "50000"), now)
        self._take(self.mm.on_timer(now))

    @invariant()
    def one_quote_per_side(self) -> None:
        for side in (OrderSide.BUY, OrderSide.SELL):
            open_quotes = [
                o for o in self.venue.values() if o.side is side and not o.ended and not o.taker
            ]
            assert len(open_quotes) <= 1


def _rejected(order: SubmitOrder, now: int) -> OrderRejected:
    return OrderRejected(
        client_order_id=order.client_order_id,
        strategy_id=SID,
        symbol=order.symbol,
        reason="EC_PostOnlyWillTakeLiquidity",
        venue_code=0,
        ts_event_ns=now,
    )


def _denied(request: Request, now: int) -> OrderDenied:
    return OrderDenied(
        client_order_id=request.client_order_id,
        strategy_id=SID,
        command_kind=type(request).__name__,
        reason="refused",
        ts_event_ns=now,
    )


def _amended(request: AmendOrder, order: VenueOrder, now: int) -> OrderAmended:
    return OrderAmended(
        client_order_id=request.client_order_id,
        venue_order_id=VenueOrderId("v"),
        strategy_id=SID,
        symbol=order.symbol,
        qty=order.qty,
        limit_price=order.price,
        ts_event_ns=now,
        ts_command_recv_ns=now,
        ts_request_sent_ns=now - MS,
        ts_ack_ns=now,
    )


MakerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestMaker = MakerMachine.TestCase
