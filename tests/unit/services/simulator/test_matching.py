from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.book import Book, RestingOrder
from services.simulator.depth import SyntheticDepth
from services.simulator.matching import Fill, Matcher, market_taker

NOW = 1_000_000


def _book(*, bid0: int = 1000, ask0: int = 1001, lots: int = 10, levels: int = 60) -> Book:
    depth = SyntheticDepth(
        book_lots=lots, max_levels=levels, refill_ms=1000, salt=7, bid0=bid0, ask0=ask0
    )
    return Book(depth)


def _order(order_id: str, is_buy: bool, price: int, lots: int) -> RestingOrder:
    return RestingOrder(order_id=order_id, account="acct", is_buy=is_buy, price=price, leaves=lots)


class Tape:
    """Collects fills."""

    def __init__(self) -> None:
        self.fills: list[Fill] = []

    def __call__(self, fill: Fill) -> None:
        self.fills.append(fill)


def test_levels_are_sorted_best_first_and_include_account_orders() -> None:
    book = _book(ask0=1004)  # a three-tick spread
    book.add(_order("inside", True, 1002, 5), NOW)
    bids, asks = book.top(5, NOW)
    assert [p for p, _ in bids] == [1002, 1000, 999, 998, 997]
    assert [p for p, _ in asks] == [1004, 1005, 1006, 1007, 1008]
    assert bids[0] == (1002, 5)
    assert all(size > 0 for _, size in bids + asks)


def test_synthetic_levels_get_thicker_away_from_the_top() -> None:
    book = _book(levels=300)
    bids, _ = book.top(250, NOW)
    assert len(bids) == 250
    near = sum(size for _, size in bids[:3]) / 3
    far = sum(size for _, size in bids[-50:]) / 50
    assert far > 3 * near


def test_a_resting_order_queues_behind_the_size_already_there() -> None:
    book = _book()
    ahead = book.market_lots(book.bids, 1000, NOW)
    ours = _order("ours", True, 1000, 4)
    book.add(ours, NOW)
    assert ours.ahead == ahead
    tape = Tape()
    Matcher(book, NOW, tape).take(market_taker(False, ahead - 1), None)
    assert ours.leaves == 4, "not reached yet"
    Matcher(book, NOW, tape).take(market_taker(False, 3), None)
    assert ours.leaves == 2, "partly filled once the size ahead was consumed"
    ours_fills = [f for f in tape.fills if f.maker is ours]
    assert [(f.price, f.lots) for f in ours_fills] == [(1000, 2)]
    assert sum(f.lots for f in tape.fills) == ahead - 1 + 3


def test_later_synthetic_size_queues_behind_an_account_order() -> None:
    book = _book()
    size = book.market_lots(book.bids, 1000, NOW)
    first = _order("first", True, 1000, 3)
    book.add(first, NOW)
    Matcher(book, NOW, Tape()).take(market_taker(False, size), None)  # consume what was ahead
    assert first.ahead == 0
    later = NOW + 5000  # the consumed synthetic size has come back, behind our order
    assert book.market_lots(book.bids, 1000, later) == size
    tape = Tape()
    Matcher(book, later, tape).take(market_taker(False, 2), None)
    assert [(f.maker is first, f.lots) for f in tape.fills] == [(True, 2)]


def test_a_taker_never_goes_beyond_its_limit() -> None:
    book = _book()
    taker = _order("taker", True, 1002, 10_000)
    tape = Tape()
    filled = Matcher(book, NOW, tape).take(taker, 1002)
    assert {f.price for f in tape.fills} == {1001, 1002}
    assert filled == sum(f.lots for f in tape.fills) < 10_000
    assert taker.leaves == 10_000 - filled
    bids, asks = book.top(1, NOW)
    assert asks[0][0] == 1003, "the sweep moved the top"
    assert bids[0][0] == 1000


def test_consumed_liquidity_refills_later() -> None:
    book = _book()
    before = book.market_lots(book.asks, 1001, NOW)
    Matcher(book, NOW, Tape()).take(market_taker(True, 1), None)
    assert book.market_lots(book.asks, 1001, NOW + 999) == before - 1
    assert book.market_lots(book.asks, 1001, NOW + 1000) == before


def test_the_market_trades_through_resting_orders_at_their_price() -> None:
    book = _book()
    sell = _order("sell", False, 1005, 7)
    buy = _order("buy", True, 995, 3)
    book.add(sell, NOW)
    book.add(buy, NOW)
    book.move(1006, 1007)  # the mid moved up through our sell
    tape = Tape()
    Matcher(book, NOW, tape).trade_through()
    assert [(f.maker, f.price, f.lots, f.taker.is_buy) for f in tape.fills] == [
        (sell, 1005, 7, True)
    ]
    assert buy.leaves == 3
    book.move(990, 994)
    Matcher(book, NOW, tape).trade_through()
    assert tape.fills[-1].maker is buy
    assert tape.fills[-1].price == 995
    assert not book.has_orders


def test_fok_and_post_only_checks() -> None:
    book = _book()
    matcher = Matcher(book, NOW, Tape())
    top = book.market_lots(book.asks, 1001, NOW)
    assert matcher.fillable(True, 1001, top)
    assert not matcher.fillable(True, 1001, top + 1)
    assert matcher.fillable(True, 1002, top + 1)
    assert matcher.crosses(True, 1001)
    assert not matcher.crosses(True, 1000)
    assert matcher.crosses(False, 1000)
    assert not matcher.crosses(False, 1001)


def test_cancelled_orders_leave_the_book() -> None:
    book = _book()
    order = _order("x", False, 1003, 5)
    book.add(order, NOW)
    book.cancel(order)
    book.purge()
    assert not book.has_orders
    assert book.top(3, NOW)[1][2][1] == book.market_lots(book.asks, 1003, NOW)


def test_reduce_only_shrinking_during_a_match_is_respected() -> None:
    book = _book()
    first = _order("a", False, 1001, 5)
    second = _order("b", False, 1001, 5)
    book.add(first, NOW)
    book.add(second, NOW)

    def on_fill(fill: Fill) -> None:
        if fill.maker is first:
            second.leaves = 0  # e.g. the position is gone: the other reduce-only order shrinks
            book.cancel(second)

    taker = market_taker(True, 1000)
    Matcher(book, NOW, on_fill).take(taker, 1001)
    assert first.leaves == 0
    assert second.leaves == 0
    assert not book.has_orders


# ---------------------------------------------------------------- properties

_resting = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=0, max_value=30), st.integers(1, 40)),
    max_size=12,
)
_takers = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(min_value=1, max_value=400),
        st.one_of(st.none(), st.integers(min_value=-5, max_value=40)),
        st.integers(min_value=-6, max_value=6),  # top move
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=60, deadline=None)
@given(resting=_resting, takers=_takers)
def test_fills_respect_prices_quantities_and_priority(
    resting: list[tuple[bool, int, int]], takers: list[tuple[bool, int, int | None, int]]
) -> None:
    book = _book()
    orders: list[tuple[RestingOrder, int]] = []
    for i, (is_buy, offset, lots) in enumerate(resting):
        price = 1000 - offset if is_buy else 1001 + offset
        order = _order(f"o{i}", is_buy, price, lots)
        book.add(order, NOW)
        orders.append((order, lots))
    now = NOW
    for step, (is_buy, lots, offset, move) in enumerate(takers):
        now += 100 * step
        book.move(book.bid0 + move, book.ask0 + move)
        tape = Tape()
        matcher = Matcher(book, now, tape)
        matcher.trade_through()
        for fill in tape.fills:  # the market moved through these: their own price
            assert fill.maker is not None
            assert fill.price == fill.maker.price
        tape.fills.clear()
        limit = None if offset is None else (1000 + offset if is_buy else 1001 - offset)
        taker = market_taker(is_buy, lots)
        filled = matcher.take(taker, limit)
        assert 0 <= filled <= lots
        assert filled == sum(f.lots for f in tape.fills)
        for fill in tape.fills:
            assert fill.lots > 0
            if limit is not None:
                assert fill.price <= limit if is_buy else fill.price >= limit
            if fill.maker is not None:
                assert fill.price == fill.maker.price
        prices = [f.price for f in tape.fills]
        assert prices == sorted(prices, reverse=not is_buy), "best price first"
        bids, asks = book.top(1, now)
        if bids and asks:
            assert bids[0][0] < asks[0][0], "the book is never crossed"
    for order, original in orders:
        assert 0 <= order.leaves <= original
