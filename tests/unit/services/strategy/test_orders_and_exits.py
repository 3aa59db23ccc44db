"""Sizing, routing, the command builders, and the exit levels."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.strategy.exits import MAX_HOLD, STOP_LOSS, TAKE_PROFIT, exit_levels, exit_reason
from services.strategy.orders import (
    EntryKnobs,
    EntryPlan,
    Listing,
    NoTrade,
    OrderFactory,
    Route,
    Trigger,
    choose_route,
    plan_entry,
    size_entry,
)
from services.strategy.signals import TopOfBook
from shared.bybit.translate import InstrumentRules
from shared.order_ids import parse_client_order_id
from shared.schema import OrderSide, OrderType, TimeInForce
from tests.unit.services.strategy.support import BTC, T0, make_rules, quote

D = Decimal
steps = st.sampled_from([D("0.001"), D("0.01"), D("0.1"), D("1")])
money = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@given(notional=money, mid=money, step=steps, min_notional=st.sampled_from([D(0), D(5)]))
def test_sized_qty_fits_notional_step_and_minimums_or_says_why(
    notional: Decimal, mid: Decimal, step: Decimal, min_notional: Decimal
) -> None:
    # Arrange
    rules = InstrumentRules(
        symbol="X",
        tick_size=D("0.01"),
        qty_step=step,
        min_qty=step,
        max_qty=D(10**6),
        max_mkt_qty=D(10**6),
        min_notional=min_notional,
    )

    # Act
    sized = size_entry(notional, mid, rules)

    # Assert
    if isinstance(sized, NoTrade):
        floored = rules.floor_qty(notional / mid)
        assert sized.reason
        assert floored < rules.min_qty or floored * mid < min_notional
    else:
        assert sized * mid <= notional
        assert sized % step == 0
        assert sized >= rules.min_qty
        assert sized * mid >= min_notional


def test_no_trade_when_notional_is_below_one_step() -> None:
    sized = size_entry(D("10"), D("50000"), make_rules())
    assert isinstance(sized, NoTrade)
    assert "min_qty" in sized.reason


def _top(spread: float, qty: float) -> TopOfBook:
    return TopOfBook(bid=100.0, bid_qty=qty, ask=100.0 + spread, ask_qty=qty, recv_ns=T0)


@pytest.mark.parametrize(
    ("spread", "top_qty", "expected"),
    [
        (0.01, 10.0, Route.MARKET_IOC),  # 1 bps, 10x our qty
        (0.05, 10.0, Route.POST_ONLY),  # 5 bps: too wide to take
        (0.01, 4.0, Route.POST_ONLY),  # tight, but only 4x our qty
    ],
)
def test_route_takes_only_a_tight_liquid_book(
    spread: float, top_qty: float, expected: Route
) -> None:
    assert choose_route(_top(spread, top_qty), OrderSide.BUY, 1.0, 2.0, 5.0) is expected


def test_post_only_entry_rests_at_our_sides_best_price() -> None:
    knobs = EntryKnobs(notional_usdt=D(100), market_max_spread_bps=2.0, liquidity_multiple=5.0)
    q = quote("49990", "50010", T0)
    top = TopOfBook(bid=49990.0, bid_qty=1.0, ask=50010.0, ask_qty=1.0, recv_ns=T0)

    buy = plan_entry(OrderSide.BUY, q, top, make_rules(), knobs)
    sell = plan_entry(OrderSide.SELL, q, top, make_rules(), knobs)

    assert buy == EntryPlan(OrderSide.BUY, D("0.002"), Route.POST_ONLY, D("49990.0"))
    assert sell == EntryPlan(OrderSide.SELL, D("0.002"), Route.POST_ONLY, D("50010.0"))


def test_factory_ids_are_unique_and_parse_back() -> None:
    factory = OrderFactory("mom1", ttl_ms=1_000)
    plan = EntryPlan(OrderSide.BUY, D("0.002"), Route.MARKET_IOC, None)
    first = factory.entry(plan, Listing(BTC, 3), Trigger(T0 - 5, T0 - 9), T0)
    second = factory.exit(Listing(BTC, 3), OrderSide.SELL, D("0.002"), Trigger(T0, T0), T0)

    assert first.client_order_id != second.client_order_id
    assert parse_client_order_id(second.client_order_id) == ("mom1", 3, T0 + 1)
    assert (first.order_type, first.time_in_force) == (OrderType.MARKET, TimeInForce.IOC)
    assert (first.ts_trigger_recv_ns, first.ts_trigger_event_ns) == (T0 - 5, T0 - 9)
    assert first.expires_at_ns == T0 + 1_000_000_000
    assert second.reduce_only
    assert (second.order_type, second.time_in_force) == (OrderType.MARKET, TimeInForce.IOC)


entry_prices = st.floats(min_value=0.001, max_value=1e6, allow_nan=False)
pcts = st.floats(min_value=0.01, max_value=50.0, allow_nan=False)


@given(entry_prices, pcts, pcts)
def test_stop_below_and_target_above_entry_for_a_long_and_the_opposite_for_a_short(
    entry: float, stop_pct: float, take_pct: float
) -> None:
    long = exit_levels(True, entry, stop_pct, take_pct, T0)
    short = exit_levels(False, entry, stop_pct, take_pct, T0)
    assert long.stop_price < entry < long.take_price
    assert short.take_price < entry < short.stop_price


@pytest.mark.parametrize(
    ("is_long", "bid", "ask", "now", "expected"),
    [
        (True, 99.8, 99.81, T0, STOP_LOSS),  # long exits on the bid
        (True, 100.3, 100.31, T0, TAKE_PROFIT),
        (True, 100.0, 99.0, T0, None),
        (False, 99.0, 100.2, T0, STOP_LOSS),  # short exits on the ask
        (False, 99.0, 99.7, T0, TAKE_PROFIT),
        (False, 99.0, 100.0, T0, None),
        (True, 100.0, 100.01, T0 + 60, MAX_HOLD),
    ],
)
def test_exit_reason_uses_the_price_we_would_get(
    is_long: bool, bid: float, ask: float, now: int, expected: str | None
) -> None:
    levels = exit_levels(is_long, 100.0, 0.2, 0.3, deadline_ns=T0 + 60)
    top = TopOfBook(bid=bid, bid_qty=1.0, ask=ask, ask_qty=1.0, recv_ns=T0)
    assert exit_reason(levels, top, now) == expected
