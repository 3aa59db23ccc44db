"""The quote cycle's shortcuts decide what the full work decided: the queue values are
skipped only where `decide` does not read them, and a symbol's top is worked out once per
book but always of the book it holds now."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.market import SymbolMarket
from services.strategy.mm.quote_book import QuoteStatus, WorkingQuote
from services.strategy.mm.requote import RequoteKnobs, SideMarket, Target, compares_queue, decide
from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.spread import near_touch_usdt
from shared.schema import ClientOrderId, OrderSide
from tests.unit.services.strategy.mm.test_quote_book import BTC, levels

D = Decimal
TICK = D("0.1")
TOUCH = SideMarket(TICK, D("100.0"), D("100.2"))


@given(
    held=st.tuples(st.sampled_from(list(QuoteStatus)), st.sampled_from(list(OrderSide))),
    ticks=st.tuples(st.integers(990, 1010), st.integers(990, 1010), st.integers(0, 3)),
    tolerances=st.tuples(st.integers(0, 2), st.integers(0, 4)),
    hard=st.booleans(),
    values=st.tuples(st.floats(-5, 5), st.floats(-5, 5)),
)
def test_decide_reads_no_queue_value_where_they_are_skipped(
    held: tuple[QuoteStatus, OrderSide],
    ticks: tuple[int, int, int],
    tolerances: tuple[int, int],
    hard: bool,
    values: tuple[float, float],
) -> None:
    # Arrange
    (status, side), (quote_ticks, target_ticks, target_lots) = held, ticks
    quote = WorkingQuote(
        ClientOrderId("mm1-1-a"), BTC, side, quote_ticks * TICK, D(1), D("100.1"), status=status
    )
    target = Target(target_ticks * TICK, D(target_lots))
    knobs = RequoteKnobs(price_tolerance_ticks=tolerances[0], keep_max_ticks=tolerances[1])
    valued = SideMarket(TICK, TOUCH.best_bid, TOUCH.best_ask, *values)

    # Act
    compared = compares_queue(quote, target, TICK, knobs, hard=hard)
    with_values = decide((BTC, side), quote, target, valued, knobs, hard=hard)
    without = decide((BTC, side), quote, target, TOUCH, knobs, hard=hard)

    # Assert
    assert compared or with_values == without


def test_the_top_and_the_depth_follow_the_book_the_symbol_holds() -> None:
    # Arrange
    market = SymbolMarket(BTC, (TICK, D("0.001")), MarketMakerSettings())
    first = levels([("100.0", "5")], [("100.2", "5")])
    second = levels([("99.0", "1"), ("98.9", "2")], [("99.1", "3")])

    # Act
    market.on_levels(first, 1)
    before = (market.mid(), market.best(), market.near_touch_usdt(2.0))
    market.levels = second  # set directly: nothing worked out for the first may remain
    after = (market.mid(), market.best(), market.near_touch_usdt(2.0))
    wide = market.near_touch_usdt(200.0)
    market.levels = None

    # Assert
    near = near_touch_usdt([(100.0, 5.0)], [(100.2, 5.0)], 2.0)
    assert before == (100.1, (D("100.0"), D("100.2")), near)
    assert after[:2] == (float(D("99.0") + D("99.1")) / 2, (D("99.0"), D("99.1")))
    assert after[2] == near_touch_usdt([(99.0, 1.0), (98.9, 2.0)], [(99.1, 3.0)], 2.0)
    assert wide == near_touch_usdt([(99.0, 1.0), (98.9, 2.0)], [(99.1, 3.0)], 200.0)
    assert (market.mid(), market.best(), market.near_touch_usdt(2.0)) == (None, None, None)
