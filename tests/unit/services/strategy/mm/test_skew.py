"""GLFT numbers by hand; quotes ordered, inside the book, monotone in inventory; limits."""

import math
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.skew import (
    Glft,
    combined_quotes,
    glft,
    glft_quotes,
    order_qty,
    post_only_prices,
    sides_allowed,
    to_tick,
    venue_quotes,
)

SETTINGS = MarketMakerSettings()
TICK = Decimal("0.01")
positive = st.floats(min_value=1e-3, max_value=1e3)
inventory = st.floats(min_value=-1e3, max_value=1e3)
prices = st.integers(min_value=1, max_value=1_000_000)  # in ticks


def test_glft_hand_computed_unit_case() -> None:
    # A = k = gamma = xi = delta = sigma = 1: c1 = ln 2, c2 = √(1/2 · 2²) = √2
    model = glft(sigma=1.0, a_per_s=1.0, k=1.0, gamma=1.0, xi=1.0, delta=1.0)
    assert model.half_spread == pytest.approx(math.log(2) + math.sqrt(2) / 2)
    assert model.skew == pytest.approx(math.sqrt(2))
    bid, ask = glft_quotes(100.0, 1.0, sigma=1.0, a_per_s=1.0, k=1.0, gamma=1.0, xi=1.0, delta=1.0)
    assert (bid, ask) == pytest.approx((97.185532, 99.986040), abs=1e-6)


def test_glft_hand_computed_second_case() -> None:
    # A 2/s, k 4 per price unit, gamma = xi = 2, sigma 0.5 price/√s: ξΔ/k = 0.5,
    # c1 = ln(1.5)/2 = 0.2027326, c2 = √(2/16 · 1.5³) = 0.6495191
    model = glft(sigma=0.5, a_per_s=2.0, k=4.0, gamma=2.0, xi=2.0, delta=1.0)
    assert model.half_spread == pytest.approx(0.2027326 + 0.25 * 0.6495191, abs=1e-7)
    assert model.skew == pytest.approx(0.5 * 0.6495191, abs=1e-7)


def test_glft_refuses_non_positive_parameters() -> None:
    with pytest.raises(ValueError, match="GLFT needs"):
        glft(sigma=1.0, a_per_s=0.0, k=1.0, gamma=1.0, xi=1.0, delta=1.0)


@given(inventory, inventory, st.tuples(positive, positive, positive, positive, positive))
def test_glft_total_spread_does_not_depend_on_inventory(
    q1: float, q2: float, model: tuple[float, float, float, float, float]
) -> None:
    sigma, a, k, gamma, xi = model
    kw = {"sigma": sigma, "a_per_s": a, "k": k, "gamma": gamma, "xi": xi, "delta": 1.0}
    bid1, ask1 = glft_quotes(1000.0, q1, **kw)
    bid2, ask2 = glft_quotes(1000.0, q2, **kw)
    assert ask1 - bid1 == pytest.approx(ask2 - bid2, rel=1e-9, abs=1e-6)
    assert bid1 < ask1


models = st.builds(Glft, st.floats(0, 100), st.floats(0, 10))
spreads = st.floats(min_value=0.0, max_value=50.0)
fairs = st.floats(min_value=1.0, max_value=1e5)


@given(fairs, inventory, models, spreads)
def test_combined_total_spread_stays_within_bounds(
    fair: float, q: float, model: Glft, spread_bps: float
) -> None:
    bid, ask = combined_quotes(fair, q, model, spread_bps, SETTINGS)
    total_bps = (ask - bid) / fair * 1e4
    assert SETTINGS.min_spread_bps - 1e-6 <= total_bps <= SETTINGS.max_spread_bps + 1e-6
    assert bid < ask


def test_combined_uses_the_wider_of_glft_and_the_adaptive_spread() -> None:
    wide = Glft(half_spread=0.2, skew=0.01)  # 2 bps total on 2000, above the 1 bps floor
    bid, ask = combined_quotes(2000.0, 2.0, wide, 1.0, SETTINGS)
    assert (bid, ask) == pytest.approx((2000.0 - 0.2 - 0.02, 2000.0 + 0.2 - 0.02))
    narrow = Glft(half_spread=0.01, skew=0.0)
    bid, ask = combined_quotes(2000.0, 0.0, narrow, 1.0, SETTINGS)
    assert ask - bid == pytest.approx(0.2)  # the adaptive 1 bps


def _book(bid_ticks: int, width_ticks: int) -> tuple[Decimal, Decimal]:
    return bid_ticks * TICK, (bid_ticks + width_ticks) * TICK


@given(prices, st.integers(1, 50), st.floats(-1e4, 1e4), st.floats(0, 1e3))
def test_post_only_quotes_never_cross_the_book_and_bid_stays_below_ask(
    best_bid_ticks: int, width: int, offset: float, half: float
) -> None:
    best_bid, best_ask = _book(best_bid_ticks, width)
    fair = float(best_bid + best_ask) / 2 + offset
    assume(half > 0)
    result = post_only_prices(fair - half, fair + half, TICK, best_bid, best_ask)
    assert result is not None
    bid, ask = result
    assert bid < best_ask
    assert ask > best_bid
    assert bid < ask
    assert bid % TICK == 0
    assert ask % TICK == 0


def test_rounding_goes_down_for_bids_and_up_for_asks() -> None:
    assert to_tick(2681.625, TICK, up=False) == Decimal("2681.62")
    assert to_tick(2681.625, TICK, up=True) == Decimal("2681.63")
    assert to_tick(2681.62, TICK, up=False) == Decimal("2681.62")  # no float artefact


def test_a_bid_through_the_ask_is_pulled_back_one_tick() -> None:
    book = (Decimal("100.00"), Decimal("100.02"))
    assert post_only_prices(100.5, 101.0, TICK, *book) == (Decimal("100.01"), Decimal("101.00"))
    assert post_only_prices(99.0, 99.5, TICK, *book) == (Decimal("99.00"), Decimal("100.01"))


def test_a_crossed_book_gives_no_quotes() -> None:
    assert post_only_prices(99.0, 101.0, TICK, Decimal("100.02"), Decimal("100.00")) is None


@given(inventory, inventory, models, spreads, prices, st.integers(1, 20))
def test_longer_inventory_never_raises_either_quote(
    q1: float, q2: float, model: Glft, spread_bps: float, best_bid_ticks: int, width: int
) -> None:
    lo, hi = sorted((q1, q2))
    best_bid, best_ask = _book(best_bid_ticks, width)
    fair = float(best_bid + best_ask) / 2
    quotes = [
        post_only_prices(
            *combined_quotes(fair, q, model, spread_bps, SETTINGS),
            TICK,
            *_book(best_bid_ticks, width),
        )
        for q in (lo, hi)
    ]
    assert quotes[0] is not None
    assert quotes[1] is not None
    assert quotes[1][0] <= quotes[0][0]
    assert quotes[1][1] <= quotes[0][1]


@given(
    st.floats(-20, 20),
    st.floats(0.01, 5),
    st.floats(100, 5000),
    st.floats(0, 5_000),
)
def test_at_the_inventory_limit_no_quote_adds_to_it(
    position: float, qty: float, mid: float, others_usdt: float
) -> None:
    gross = abs(position) * mid + others_usdt
    bid_ok, ask_ok = sides_allowed(position, qty, mid, gross, SETTINGS)
    for ok, signed in ((bid_ok, qty), (ask_ok, -qty)):
        after = abs(position + signed)
        if ok and after > abs(position):
            assert after * mid <= SETTINGS.max_symbol_inventory_usdt + 1e-9
            assert gross + (after - abs(position)) * mid <= SETTINGS.max_total_inventory_usdt + 1e-6


def test_a_long_position_at_its_limit_quotes_only_the_ask() -> None:
    # 0.5 ETH at 2000 = 1000 USDT, the symbol's limit: buying more is refused
    assert sides_allowed(0.5, 0.05, 2000.0, 1000.0, SETTINGS) == (False, True)
    assert sides_allowed(-0.5, 0.05, 2000.0, 1000.0, SETTINGS) == (True, False)
    # flat, but the other symbols use the whole total limit: nothing may add
    assert sides_allowed(0.0, 0.05, 2000.0, 3000.0, SETTINGS) == (False, False)


def test_venue_quotes_zero_the_refused_side_and_convert_to_decimal() -> None:
    qty = order_qty(2000.0, Decimal("0.01"), 1.0, SETTINGS)  # 100 / 2000 = 0.05
    book = (Decimal("2000.00"), Decimal("2000.01"))
    targets = venue_quotes(1999.904, 2000.106, TICK, book, (False, True), qty)
    assert targets is not None
    assert (targets.bid_price, targets.bid_qty) == (Decimal("1999.90"), Decimal(0))
    assert (targets.ask_price, targets.ask_qty) == (Decimal("2000.11"), Decimal("0.05"))


def test_order_qty_floors_to_the_lot_and_refuses_an_unknown_mid() -> None:
    assert order_qty(2681.62, Decimal("0.01"), 0.5, SETTINGS) == Decimal("0.01")
    assert order_qty(math.nan, Decimal("0.01"), 1.0, SETTINGS) == Decimal(0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_glft_refuses_a_sigma_that_is_not_a_finite_non_negative_number(bad: float) -> None:
    with pytest.raises(ValueError, match="GLFT needs"):
        glft(sigma=bad, a_per_s=1.0, k=1.0, gamma=1.0, xi=1.0, delta=1.0)


def test_stages_compose_into_venue_quotes_for_a_long_eth_position() -> None:
    # ETH at 2681.625 (best 2681.62 / 2681.63), sigma 0.87 bps/√s, A 1 per s, k 4 per USDT,
    # gamma = xi = 0.05 per (USDT · order), position 0.15 ETH = 3 orders of 0.05 (q = 3)
    fair, sigma_price = 2681.625, 0.87e-4 * 2681.625
    model = glft(sigma=sigma_price, a_per_s=1.0, k=4.0, gamma=0.05, xi=0.05, delta=1.0)
    bid, ask = combined_quotes(fair, 3.0, model, spread_bps=1.0, settings=SETTINGS)
    # GLFT's half-spread (0.264 USDT) is above the 1 bps floor (0.134) and under the cap (0.335)
    assert ask - bid == pytest.approx(2 * model.half_spread)
    assert (bid + ask) / 2 == pytest.approx(fair - 3.0 * model.skew)  # skewed down: long
    qty = order_qty(fair, Decimal("0.01"), 1.0, SETTINGS)
    sides = sides_allowed(0.15, float(qty), fair, 0.15 * fair, SETTINGS)
    book = (Decimal("2681.62"), Decimal("2681.63"))
    targets = venue_quotes(bid, ask, TICK, book, sides, qty)
    assert targets is not None
    assert targets.bid_price < book[0]
    assert targets.ask_price > book[0]
    assert (targets.bid_qty, targets.ask_qty) == (Decimal("0.03"), Decimal("0.03"))
