"""The cycle's stages in order, timed with a fake timer; targets, HARD and the taker want."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm import guards
from services.strategy.mm.estimators import IntensityFit
from services.strategy.mm.pipeline import (
    NO_TARGETS,
    STAGES,
    CycleInput,
    TakerOrder,
    run_cycle,
    taker_reduction,
)
from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.spread import SpreadInputs
from services.strategy.mm.taker_cap import TakerCap
from shared.schema import OrderSide
from tests.unit.services.strategy.mm.core_support import FakeTimer

D = Decimal
SETTINGS = MarketMakerSettings(order_notional_usdt=150.0)
T0 = 1_700_000_000 * 1_000_000_000


def view(
    position: str = "0", *, bid: str = "50000.0", ask: str = "50000.1", **obs: object
) -> CycleInput:
    mid = (float(bid) + float(ask)) / 2
    held = abs(float(position)) * mid
    guard_view = {
        "symbol_inventory_usdt": held,
        "total_inventory_usdt": held,
        "window_loss_usdt": 0.0,
        "daily_loss_usdt": 0.0,
        "ack_p95_ms": None,
        "feed_age_ms": 5.0,
        "book_crossed": False,
        "reject_rate_ratio": 0.0,
        "circuit_breaker_open": False,
        **obs,
    }
    return CycleInput(
        mid=mid,
        best=(D(bid), D(ask)),
        grid=(D("0.1"), D("0.001")),
        position_qty=D(position),
        total_gross_usdt=held,
        sigma_log_per_sqrt_s=1e-5,
        spread_inputs=SpreadInputs(0.5, 100_000.0, 60.0, 0.0),
        guard_view=guards.Observations(**guard_view),  # type: ignore[arg-type]
        fit=None,
        max_taker_qty=D("50"),
    )


def test_stages_run_in_order_each_timed_by_the_injected_timer() -> None:
    result = run_cycle(view(), SETTINGS, TakerCap(SETTINGS), T0, FakeTimer(step_ns=11))
    assert [name for name, _ in result.stage_ns] == list(STAGES[:4])
    assert {ns for _, ns in result.stage_ns} == {11}
    assert result.decision.level is guards.Level.NONE
    bid, ask = result.targets[OrderSide.BUY], result.targets[OrderSide.SELL]
    assert bid is not None
    assert ask is not None
    assert bid.price <= D("50000.0") < D("50000.1") <= ask.price
    assert bid.qty == ask.qty == D("0.002")


def test_hard_gives_no_targets_and_a_stale_feed_is_hard() -> None:
    result = run_cycle(view(feed_age_ms=None), SETTINGS, TakerCap(SETTINGS), T0, FakeTimer())
    assert result.decision.level is guards.Level.HARD
    assert result.targets == NO_TARGETS


def test_soft_shrinks_the_size_and_widens_the_spread() -> None:
    normal = run_cycle(view(), SETTINGS, TakerCap(SETTINGS), T0, FakeTimer())
    soft = run_cycle(view(window_loss_usdt=30.0), SETTINGS, TakerCap(SETTINGS), T0, FakeTimer())
    assert soft.decision.level is guards.Level.SOFT
    assert soft.spread.spread_bps >= normal.spread.spread_bps
    soft_bid = soft.targets[OrderSide.BUY]
    assert soft_bid is not None
    assert soft_bid.qty == D("0.001")  # 0.002 x 0.5


def test_a_long_position_skews_both_quotes_down_and_stops_adding_past_the_limit() -> None:
    flat = run_cycle(view(), SETTINGS, TakerCap(SETTINGS), T0, FakeTimer()).targets
    long = run_cycle(view("0.019"), SETTINGS, TakerCap(SETTINGS), T0, FakeTimer()).targets
    long_ask, flat_ask = long[OrderSide.SELL], flat[OrderSide.SELL]
    assert long_ask is not None
    assert flat_ask is not None
    assert long_ask.price <= flat_ask.price
    assert long[OrderSide.BUY] is None  # one more bid fill would pass 1000 USDT


def test_the_taker_is_wanted_only_over_the_hard_limit_and_while_the_cap_allows() -> None:
    assert taker_reduction(view("0.029"), SETTINGS) is None  # 1450 USDT: skew works it off
    assert taker_reduction(view("-0.04"), SETTINGS) == TakerOrder(OrderSide.BUY, D("0.02"))
    one = MarketMakerSettings(
        order_notional_usdt=150.0,
        taker_cap_calm_fills=1,
        taker_cap_normal_fills=1,
        taker_cap_volatile_fills=1,
    )
    cap = TakerCap(one)
    first = run_cycle(view("0.04"), one, cap, T0, FakeTimer())
    assert first.taker == TakerOrder(OrderSide.SELL, D("0.02"))
    cap.note_taker_fill(T0)
    second = run_cycle(view("0.04"), one, cap, T0 + 1, FakeTimer())
    assert second.taker is None
    assert second.capped


def test_with_an_intensity_fit_glft_prices_stay_inside_the_bounds() -> None:
    fit = IntensityFit(a_per_s=2.0, k_per_tick=0.5, k_per_price=5.0, points=10, r_squared=0.9)
    base = view("0.01")
    fitted = CycleInput(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "fit": fit})
    result = run_cycle(fitted, SETTINGS, TakerCap(SETTINGS), T0, FakeTimer())
    bid, ask = result.targets[OrderSide.BUY], result.targets[OrderSide.SELL]
    assert bid is not None
    assert ask is not None
    width_bps = float(ask.price - bid.price) / 50000.05 * 1e4
    assert width_bps <= SETTINGS.max_spread_bps + 2 * 0.1 / 50000 * 1e4  # ticks of rounding


@given(
    st.integers(400_000, 600_000),
    st.integers(1, 20),
    st.decimals(D("-0.05"), D("0.05"), places=3),
)
def test_targets_never_cross_the_book_and_bid_is_below_ask(
    bid_ticks: int, spread_ticks: int, position: Decimal
) -> None:
    bid, ask = D(bid_ticks) / 10, D(bid_ticks + spread_ticks) / 10
    result = run_cycle(
        view(str(position), bid=str(bid), ask=str(ask)),
        SETTINGS,
        TakerCap(SETTINGS),
        T0,
        FakeTimer(),
    )
    buy, sell = result.targets[OrderSide.BUY], result.targets[OrderSide.SELL]
    if buy is not None:
        assert buy.price < ask
    if sell is not None:
        assert sell.price > bid
    if buy is not None and sell is not None:
        assert buy.price < sell.price
