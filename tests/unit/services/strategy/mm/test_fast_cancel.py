"""Fast-cancel: a quote the market is about to trade through is pulled at once."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.fast_cancel import (
    FastCancelKnobs,
    mid_move_toward,
    threatened_by_mid,
    threatened_by_trade,
)
from services.strategy.mm.quote_book import QuoteStatus, WorkingQuote
from services.strategy.mm.quote_manager import ManagerKnobs
from services.strategy.mm.requote import Target
from shared.schema import CancelOrders, ClientOrderId, OrderSide
from tests.unit.services.strategy.mm.test_quote_book import BTC, ETH, T0, levels, trade
from tests.unit.services.strategy.mm.test_requote import manager, quoted

D = Decimal
TICK = D("0.1")
BUY, SELL = OrderSide.BUY, OrderSide.SELL
KNOBS = FastCancelKnobs(mid_move_ticks=2, mid_move_bps=D(5))


def quote(side: OrderSide, price: str, ref_mid: str = "100.1") -> WorkingQuote:
    return WorkingQuote(
        ClientOrderId("mm1-1-a"), BTC, side, D(price), D(1), D(ref_mid),
        status=QuoteStatus.WORKING, accepted=True,
    )  # fmt: skip


def test_bid_pulled_when_the_mid_falls_two_ticks() -> None:
    knobs = FastCancelKnobs(mid_move_ticks=2, mid_move_bps=None)
    assert not threatened_by_mid(quote(BUY, "100.0"), D("99.95"), TICK, knobs)
    assert threatened_by_mid(quote(BUY, "100.0"), D("99.9"), TICK, knobs)


def test_ask_pulled_when_the_mid_rises_beyond_the_bps_threshold() -> None:
    knobs = FastCancelKnobs(mid_move_ticks=None, mid_move_bps=D(5))
    assert not threatened_by_mid(quote(SELL, "100.2"), D("100.14"), TICK, knobs)
    assert threatened_by_mid(quote(SELL, "100.2"), D("100.16"), TICK, knobs)


def test_mid_moving_away_never_pulls() -> None:
    assert not threatened_by_mid(quote(BUY, "100.0"), D("105"), TICK, KNOBS)
    assert not threatened_by_mid(quote(SELL, "100.2"), D("95"), TICK, KNOBS)


def test_trade_at_or_through_the_price_pulls_on_its_side_only() -> None:
    bid = quote(BUY, "100.0")
    assert threatened_by_trade(bid, trade("100.0", "1", SELL), KNOBS)
    assert threatened_by_trade(bid, trade("99.9", "1", SELL), KNOBS)
    assert not threatened_by_trade(bid, trade("100.1", "1", SELL), KNOBS)
    assert not threatened_by_trade(bid, trade("99.9", "1", BUY), KNOBS)
    assert not threatened_by_trade(bid, trade("99.9", "1", SELL, symbol=ETH), KNOBS)
    through_only = FastCancelKnobs(on_trade_at_price=False)
    assert not threatened_by_trade(bid, trade("100.0", "1", SELL), through_only)


def test_manager_pulls_at_once_and_only_once() -> None:
    mgr = manager(ManagerKnobs(fast_cancel=KNOBS))
    bid = quoted(mgr, BUY, "100.0")
    out = mgr.on_trade(trade("100.0", "1", SELL), T0 + 1)
    assert [type(c) for c in out] == [CancelOrders]
    assert [c.client_order_id for c in out[0].cancels] == [bid.client_order_id]  # type: ignore[union-attr]
    assert mgr.on_trade(trade("99.9", "1", SELL), T0 + 2) == []
    assert mgr.book.counters["fast_cancel"] == 1


def test_manager_pulls_on_a_book_update_that_moves_the_mid() -> None:
    mgr = manager(ManagerKnobs(fast_cancel=KNOBS))
    ask = quoted(mgr, SELL, "100.2")
    quiet = mgr.on_book(levels([("100.0", "5")], [("100.2", "5")]), T0 + 1)
    out = mgr.on_book(levels([("100.1", "5")], [("100.3", "5")]), T0 + 2)
    assert quiet == []
    assert [c.client_order_id for c in out[0].cancels] == [ask.client_order_id]  # type: ignore[union-attr]
    assert mgr.on_targets(BTC, {SELL: Target(D("100.4"), D(1))}, T0 + 3) == []  # one per side


@given(ref=st.integers(900, 1100), now=st.integers(900, 1100), side=st.sampled_from([BUY, SELL]))
def test_mid_move_is_never_negative_and_only_toward_the_quote(
    ref: int, now: int, side: OrderSide
) -> None:
    q = quote(side, "100.0", str(D(ref) * TICK))
    moved = mid_move_toward(q, D(now) * TICK)
    assert moved >= 0
    toward = now < ref if side is BUY else now > ref
    assert (moved > 0) == toward


def test_a_quote_kept_by_the_cycle_is_measured_from_the_cycles_mid() -> None:
    mgr = manager(ManagerKnobs(fast_cancel=FastCancelKnobs(mid_move_ticks=2, mid_move_bps=None)))
    bid = quoted(mgr, BUY, "99.8")  # sent at mid 100.1
    assert mgr.on_book(levels([("99.9", "5")], [("100.1", "5")]), T0 + 1) == []  # mid 100.0
    assert mgr.on_targets(BTC, {BUY: Target(D("99.8"), D(1))}, T0 + 2) == []  # kept
    assert bid.ref_mid == D("100.0")
    assert mgr.on_book(levels([("99.8", "5")], [("100.0", "5")]), T0 + 3) == []  # mid 99.9
