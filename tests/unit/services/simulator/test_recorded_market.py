"""The venue core against a recorded market: takers walk the recorded ladder, resting orders
queue in it and fill as the recorded trades say (market_source "recorded")."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.book import RestingOrder
from services.simulator.market_events import BookTop, DepthUpdate, Level, RecordedTrade
from services.simulator.venue import ExchangeConfig, Venue
from shared.bybit import wire

D = Decimal
SYMBOL = "ETHUSDT"  # tick 0.01, lot 0.01
T0 = 1_723_161_256_000
BID, ASK = 268_100, 268_101  # 2681.00 / 2681.01 in ticks
BIDS: list[Level] = [(BID, 50), (BID - 1, 30), (BID - 2, 100)]
ASKS: list[Level] = [(ASK, 40), (ASK + 1, 60), (ASK + 2, 200)]


def recorded(**overrides: Any) -> Venue:
    """A recorded ETHUSDT market holding the snapshot BIDS / ASKS at T0."""
    config: dict[str, Any] = {
        "seed": 3,
        "symbols": (SYMBOL,),
        "history_minutes": 60,
        "market_source": "recorded",
    }
    config.update(overrides)
    v = Venue(ExchangeConfig(**config), T0 - 1_000)
    depth(v, T0, BIDS, ASKS, snapshot=True)
    return v


def depth(
    v: Venue, t: int, bids: list[Level], asks: list[Level], *, snapshot: bool = False
) -> None:
    v.on_market(DepthUpdate(SYMBOL, t, 500, snapshot, tuple(bids), tuple(asks)))


def trade(v: Venue, t: int, taker_is_buy: bool, price: int, lots: int) -> None:
    v.on_market(RecordedTrade(SYMBOL, t, taker_is_buy, price, lots))


def order(
    v: Venue, side: str, lots: int, price: int | None, t: int, **fields: Any
) -> wire.OrderIds:
    request = wire.OrderCreateRequest(
        symbol=SYMBOL,
        side=side,
        order_type="Market" if price is None else "Limit",
        qty=str(D(lots) / 100),
        price=None if price is None else str(D(price) / 100),
        **fields,
    )
    return v.submit("alice", request, t)


def fills(v: Venue) -> list[tuple[Decimal, Decimal, bool]]:
    """(price, qty, is_maker) of alice's fills since the last call."""
    return [
        (p.exec_price, p.exec_qty, p.is_maker)
        for who, topic, p in v.drain_reports()
        if who == "alice" and isinstance(p, wire.ExecutionEvent)
    ]


def status(v: Venue, ids: wire.OrderIds) -> tuple[str, str, Decimal]:
    (o,) = v.orders("alice", order_id=ids.order_id)
    return o.order_status, o.reject_reason, o.cum_exec_qty


def resting(v: Venue, is_buy: bool, price: int) -> RestingOrder:
    book = v.state.markets[SYMBOL].book
    (queued,) = (book.bids if is_buy else book.asks).orders[price]
    return queued


def test_the_book_and_the_mark_are_the_recording() -> None:
    v = recorded()
    bids, asks = v.book_top(SYMBOL, 2)
    assert bids == [(D("2681.00"), D("0.50")), (D("2680.99"), D("0.30"))]
    assert asks == [(D("2681.01"), D("0.40")), (D("2681.02"), D("0.60"))]
    (ticker,) = v.tickers(SYMBOL)
    assert ticker.mark_price == "2681.00"  # the recorded mid, in ticks rounded down
    v.advance(T0 + 3_600_000)
    assert v.book_top(SYMBOL, 1) == (bids[:1], asks[:1]), "time alone changes nothing"


def test_a_taker_walks_the_ladder_and_what_it_took_stays_taken_until_the_level_updates() -> None:
    v = recorded()
    ids = order(v, "Buy", 70, ASK + 1, T0 + 10)
    assert fills(v) == [(D("2681.01"), D("0.40"), False), (D("2681.02"), D("0.30"), False)]
    assert status(v, ids) == ("Filled", "EC_NoError", D("0.70"))
    assert v.book_top(SYMBOL, 1)[1] == [(D("2681.02"), D("0.30"))]
    v.advance(T0 + 60_000)
    assert v.book_top(SYMBOL, 1)[1] == [(D("2681.02"), D("0.30"))], "no refill with time"
    depth(v, T0 + 60_010, [], [(ASK + 1, 55)])  # the level's next recorded update
    assert v.book_top(SYMBOL, 1)[1] == [(D("2681.02"), D("0.55"))]
    depth(v, T0 + 60_020, [], [(ASK, 7)])
    assert v.book_top(SYMBOL, 1)[1] == [(D("2681.01"), D("0.07"))]


def test_a_limit_order_fills_what_it_can_and_rests_the_rest() -> None:
    v = recorded()
    ids = order(v, "Buy", 120, ASK + 1, T0 + 10)
    assert [qty for _, qty, _ in fills(v)] == [D("0.40"), D("0.60")]
    assert status(v, ids) == ("PartiallyFilled", "EC_NoError", D("1.00"))
    assert v.book_top(SYMBOL, 1) == ([(D("2681.02"), D("0.20"))], [(D("2681.03"), D("2.00"))])


def test_ioc_cancels_its_remainder_and_fok_fills_all_or_nothing() -> None:
    v = recorded()
    ioc = order(v, "Buy", 120, ASK + 1, T0 + 10, time_in_force="IOC")
    assert sum(qty for _, qty, _ in fills(v)) == D("1.00")
    assert status(v, ioc) == ("Cancelled", "EC_NoError", D("1.00"))
    fok = order(v, "Sell", 181, BID - 2, T0 + 20, time_in_force="FOK")
    assert fills(v) == []
    assert status(v, fok) == ("Cancelled", "EC_NoEnoughQtyToFill", D("0"))
    fok = order(v, "Sell", 180, BID - 2, T0 + 30, time_in_force="FOK")
    assert sum(qty for _, qty, _ in fills(v)) == D("1.80")
    assert status(v, fok)[0] == "Filled"


def test_post_only_is_rejected_when_it_would_cross_the_recorded_book() -> None:
    v = recorded()
    crossing = order(v, "Buy", 5, ASK, T0 + 10, time_in_force="PostOnly")
    assert status(v, crossing) == ("Cancelled", "EC_PostOnlyWillTakeLiquidity", D("0"))
    joining = order(v, "Buy", 5, BID, T0 + 20, time_in_force="PostOnly")
    assert status(v, joining)[0] == "New"
    assert resting(v, True, BID).ahead == 50, "behind the recorded size at its price"


def test_reduce_only_is_capped_to_the_position() -> None:
    v = recorded()
    order(v, "Buy", 30, None, T0 + 10)
    fills(v)
    ids = order(v, "Sell", 50, None, T0 + 20, reduce_only=True)
    assert fills(v) == [(D("2681.00"), D("0.30"), False)]
    assert status(v, ids)[2] == D("0.30")
    (position,) = v.positions("alice", SYMBOL)
    assert position.size == 0


def test_a_resting_order_fills_once_recorded_trades_consumed_what_was_ahead() -> None:
    v = recorded()
    ids = order(v, "Buy", 10, BID, T0 + 10)
    fills(v)
    trade(v, T0 + 20, False, BID, 30)
    assert fills(v) == []
    assert resting(v, True, BID).ahead == 20
    trade(v, T0 + 30, False, BID, 25)  # 20 ahead, then 5 of ours
    assert fills(v) == [(D("2681.00"), D("0.05"), True)]
    assert status(v, ids)[0] == "PartiallyFilled"
    trade(v, T0 + 40, False, BID, 9)
    trade(v, T0 + 50, False, BID + 1, 100)  # a sell at a better bid: not ours
    assert fills(v) == [(D("2681.00"), D("0.05"), True)]
    assert status(v, ids) == ("Filled", "EC_NoError", D("0.10"))
    (print_,) = [t for t in v.take_public_trades() if t.T == T0 + 30]
    assert (print_.p, print_.v, print_.S) == (D("2681.00"), D("0.25"), "Sell"), "printed once"


def test_a_recorded_trade_through_our_price_fills_us_whole_at_our_price() -> None:
    v = recorded()
    ids = order(v, "Sell", 25, ASK + 1, T0 + 10)  # behind 60 recorded lots
    fills(v)
    trade(v, T0 + 20, True, ASK + 2, 1)  # a buyer paid more than our ask
    assert fills(v) == [(D("2681.02"), D("0.25"), True)]
    assert status(v, ids)[0] == "Filled"


def test_cancellations_alone_never_fill_they_only_move_us_up() -> None:
    v = recorded()
    order(v, "Buy", 10, BID, T0 + 10)
    fills(v)
    depth(v, T0 + 20, [(BID, 20)], [])
    assert resting(v, True, BID).ahead == 20
    depth(v, T0 + 30, [(BID, 0)], [])  # the whole level gone
    depth(v, T0 + 40, [(BID, 70)], [])  # and back, behind us
    assert fills(v) == []
    assert resting(v, True, BID).ahead == 0
    trade(v, T0 + 50, False, BID, 3)
    assert fills(v) == [(D("2681.00"), D("0.03"), True)]


def test_a_trade_also_seen_in_the_next_depth_update_moves_us_up_once() -> None:
    v = recorded(queue_model="probabilistic")
    order(v, "Buy", 10, BID, T0 + 10)  # 50 ahead, nothing behind
    depth(v, T0 + 15, [(BID, 80)], [])  # 30 join behind us
    trade(v, T0 + 20, False, BID, 20)
    assert resting(v, True, BID).ahead == 30
    depth(v, T0 + 30, [(BID, 60)], [])  # down 20: the trade, no cancellation
    assert resting(v, True, BID).ahead == 30
    depth(v, T0 + 40, [(BID, 50)], [])  # 10 cancelled, 30 ahead and 30 behind: 5 of them ahead
    assert resting(v, True, BID).ahead == 25
    assert fills(v) == []


def test_the_recorded_book_moving_through_a_resting_order_fills_it_at_its_price() -> None:
    v = recorded()
    ids = order(v, "Buy", 10, BID - 1, T0 + 10)
    fills(v)
    depth(v, T0 + 20, [(BID, 0), (BID - 1, 0)], [(ASK, 0), (BID - 1, 12)])
    assert fills(v) == [(D("2680.99"), D("0.10"), True)]
    assert status(v, ids)[0] == "Filled"


def test_the_event_families_do_not_mix() -> None:
    v = recorded()
    with pytest.raises(ValueError, match="recorded-tops"):
        v.on_market(BookTop(SYMBOL, T0 + 10, bid=D("2681"), ask=D("2681.01")))
    synthetic = Venue(ExchangeConfig(seed=3, symbols=(SYMBOL,), history_minutes=60), T0)
    with pytest.raises(ValueError, match="'recorded'"):
        trade(synthetic, T0 + 10, True, ASK, 1)


# ---------------------------------------------------------------- properties

P = BID - 1  # our resting buy: 30 recorded lots ahead at first
_events = st.lists(
    st.one_of(
        st.tuples(st.just("depth"), st.integers(min_value=0, max_value=80)),
        st.tuples(st.just("trade"), st.integers(min_value=-2, max_value=2), st.integers(1, 40)),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(events=_events, model=st.sampled_from(["risk-averse", "probabilistic"]))
def test_queue_fills_come_only_from_trades_at_or_through_our_price(
    events: list[tuple[Any, ...]], model: str
) -> None:
    v = recorded(queue_model=model)
    ids = order(v, "Buy", 40, P, T0 + 1)
    fills(v)
    ladder = v.state.markets[SYMBOL].book.depth
    leaves, t = 40, T0 + 1
    for event in events:
        t += 10
        queued = resting(v, True, P) if leaves else None
        ahead = queued.ahead if queued else 0
        if event[0] == "depth":
            depth(v, t, [(P, event[1])], [])
            assert fills(v) == [], "a depth update below the asks fills nothing"
        else:
            _, offset, lots = event
            trade(v, t, False, P + offset, lots)
            filled = sum(int(qty * 100) for _, qty, _ in fills(v))
            if offset < 0:
                assert filled == leaves, "a trade through our price fills us whole"
            elif offset > 0:
                assert filled == 0, "a trade at a better bid is not ours"
            else:
                assert filled == min(leaves, max(0, lots - ahead)), "the excess over ahead"
            leaves -= filled
        if leaves:
            queued = resting(v, True, P)
            assert queued.ahead >= 0
            if model == "risk-averse":
                assert queued.ahead <= ladder.lots(True, P, t), "never more than the level"
    assert status(v, ids)[2] == D(40 - leaves) / 100


def test_the_same_events_and_orders_give_the_same_fills() -> None:
    def run() -> list[Any]:
        v = recorded(queue_model="probabilistic")
        order(v, "Buy", 10, BID, T0 + 10)
        order(v, "Sell", 10, ASK + 1, T0 + 10)
        for i in range(1, 200):
            t = T0 + 10 * i
            depth(v, t, [(BID, 50 - i % 37)], [(ASK + 1, 60 + i % 11)])
            trade(v, t, i % 3 == 0, ASK + 1 if i % 3 == 0 else BID, 1 + i % 5)
        return v.drain_reports()

    first, second = run(), run()
    assert [e[2] for e in first if e[1] == "execution"]
    assert first == second


# ---------------------------------------------------------------- the venue's clock


def timed_depth(
    v: Venue, t: int, match_ms: int, bids: list[Level], asks: list[Level], *, depth_n: int = 500
) -> None:
    snapshot = depth_n == 1  # orderbook.1 frames are snapshots
    v.on_market(
        DepthUpdate(SYMBOL, t, depth_n, snapshot, tuple(bids), tuple(asks), match_ms=match_ms)
    )


def timed_trade(v: Venue, t: int, match_ms: int, taker_is_buy: bool, price: int, lots: int) -> None:
    v.on_market(RecordedTrade(SYMBOL, t, taker_is_buy, price, lots, match_ms=match_ms))


def test_a_taker_after_a_trade_the_book_already_shows_finds_the_level() -> None:
    v = recorded()
    timed_depth(v, T0 + 100, T0 + 100, [], [(ASK, 10)])  # the step's book, net of its trade
    timed_trade(v, T0 + 101, T0 + 90, True, ASK, 30)  # the trade frame after it
    order(v, "Buy", 10, None, T0 + 102, time_in_force="IOC")
    assert fills(v) == [(D("2681.01"), D("0.10"), False)], "not taken off twice"


def test_a_taker_after_a_trade_later_than_the_book_finds_it_taken() -> None:
    v = recorded()
    timed_depth(v, T0 + 100, T0 + 100, [], [(ASK, 40)])
    timed_trade(v, T0 + 101, T0 + 110, True, ASK, 30)  # real data: the trade, then the book
    order(v, "Buy", 20, None, T0 + 102, time_in_force="IOC")
    assert fills(v) == [(D("2681.01"), D("0.10"), False), (D("2681.02"), D("0.10"), False)]


def test_a_taker_fills_at_the_newer_top_not_at_the_stale_deeper_levels() -> None:
    v = recorded()
    timed_depth(v, T0 + 100, T0 + 100, [], [])  # the deeper book as of T0 + 100
    timed_depth(v, T0 + 120, T0 + 120, [(BID + 1, 5)], [(ASK + 2, 7)], depth_n=1)
    timed_depth(v, T0 + 125, T0 + 110, [], [(ASK, 40)])  # a stale deeper delta after it
    ids = order(v, "Buy", 10, None, T0 + 130, time_in_force="IOC")
    assert fills(v) == [(D("2681.03"), D("0.07"), False)], "the top's size, no stale ask"
    assert status(v, ids) == ("Cancelled", "EC_NoError", D("0.07"))
    timed_depth(v, T0 + 140, T0 + 130, [], [(ASK, 40)])  # a newer deeper delta: it stands
    order(v, "Buy", 10, None, T0 + 141, time_in_force="IOC")
    assert fills(v) == [(D("2681.01"), D("0.10"), False)]
