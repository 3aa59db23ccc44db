"""The last-line risk check: examples per rule, quantization, then hypothesis properties."""

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.executor.risk import (
    NS_PER_MINUTE,
    Exposure,
    PositionExposure,
    RiskLimits,
    check_order,
    daily_loss_breached,
    orders_in_last_minute,
    quantize_order,
    reduces_position,
)
from shared.bybit.translate import InstrumentRules
from shared.schema import (
    ClientOrderId,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)

D = Decimal
NOW = 1_763_700_000_000_000_000
LIMITS = RiskLimits(
    max_order_notional_usdt=D("1000"),
    max_position_notional_usdt=D("5000"),
    max_open_orders=5,
    max_orders_per_minute=10,
    price_band_bps=D("100"),
    allowed_symbols=frozenset({"ETHUSDT", "BTCUSDT"}),
    daily_loss_limit_usdt=D("200"),
)
RULES = InstrumentRules(
    symbol="ETHUSDT",
    tick_size=D("0.01"),
    qty_step=D("0.01"),
    min_qty=D("0.01"),
    max_qty=D("1000"),
    max_mkt_qty=D("500"),
    min_notional=D("5"),
)


def order(
    qty: str = "0.1",
    price: str | None = "1500",
    side: OrderSide = OrderSide.BUY,
    *,
    reduce_only: bool = False,
    symbol: str = "ETHUSDT",
) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=ClientOrderId("mom1-3-h"),
        strategy_id="mom1",
        epoch=3,
        symbol=Symbol(symbol),
        side=side,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        time_in_force=TimeInForce.IOC if price is None else TimeInForce.GTC,
        qty=D(qty),
        limit_price=None if price is None else D(price),
        reduce_only=reduce_only,
        ts_created_ns=NOW - 1_000,
        expires_at_ns=NOW + 1_000_000_000,
        ts_trigger_recv_ns=NOW - 2_000,
        ts_trigger_event_ns=NOW - 3_000,
    )


def exposure(position: str = "0", last: str | None = "1500", **kwargs: object) -> Exposure:
    return Exposure(
        positions={"ETHUSDT": PositionExposure(qty=D(position), avg_price=D("1500"))},
        last_trade_price={} if last is None else {"ETHUSDT": D(last)},
        **kwargs,  # type: ignore[arg-type]
    )


def check(
    command: SubmitOrder,
    exp: Exposure | None = None,
    state: TradingState = TradingState.ACTIVE,
    *,
    reconciled: bool = True,
) -> str | None:
    return check_order(command, LIMITS, exp or exposure(), state, reconciled, NOW)


def test_order_within_every_limit_passes() -> None:
    assert check(order()) is None


def test_order_denied_when_notional_exceeds_limit() -> None:
    assert check(order(qty="1")) == "notional 1500 exceeds max_order_notional_usdt 1000"


def test_market_order_is_valued_at_the_last_trade() -> None:
    assert check(order(qty="1", price=None)) == "notional 1500 exceeds max_order_notional_usdt 1000"


def test_market_order_denied_without_a_last_trade() -> None:
    reason = check(order(price=None), exposure(last=None))
    assert reason == "no last trade price for ETHUSDT: notional and price band unknown"


def test_limit_price_outside_the_band_is_denied() -> None:
    reason = check(order(price="1520"))
    assert reason == "price 1520 is 133.3 bps from last trade 1500, beyond price_band_bps 100"


def test_limit_price_on_the_band_edge_passes() -> None:
    assert check(order(price="1515")) is None


def test_position_notional_counts_the_existing_position() -> None:
    reason = check(order(qty="0.5"), exposure(position="3"))
    assert reason == "position notional 5250 would exceed max_position_notional_usdt 5000"


def test_position_notional_counts_working_orders_on_the_same_side_as_if_filled() -> None:
    # 3 ETH held and 0.2 more bought, not yet filled: 0.3 more would make 3.5 (5250 USDT).
    working = {"ETHUSDT": (D("0.2"), D("2"))}

    buy = check(order(qty="0.3"), exposure(position="3", working_qty=working))
    sell = check(order(qty="0.3", side=OrderSide.SELL), exposure(position="3", working_qty=working))

    assert buy == "position notional 5250 would exceed max_position_notional_usdt 5000"
    assert sell is None  # 3 - 2 - 0.3: sells working against the position only lower it


def test_order_against_the_position_lowers_position_notional() -> None:
    assert check(order(qty="0.5", side=OrderSide.SELL), exposure(position="3.4")) is None


def test_open_order_limit() -> None:
    reason = check(order(), exposure(open_orders=5))
    assert reason == "open orders 5 reached max_open_orders 5"


def test_orders_per_minute_counts_only_the_last_minute() -> None:
    recent = tuple(NOW - i * 1_000_000_000 for i in range(10))
    counted = orders_in_last_minute(recent, NOW)
    assert check(order(), exposure(orders_last_minute=counted)) == (
        "orders per minute 10 reached max_orders_per_minute 10"
    )
    old = tuple(ts - NS_PER_MINUTE for ts in recent)
    assert check(order(), exposure(orders_last_minute=orders_in_last_minute(old, NOW))) is None


def test_expired_command_is_denied() -> None:
    command = msgspec.structs.replace(order(), expires_at_ns=NOW - 1)
    assert check(command) == f"expired: now {NOW} is after expires_at_ns {NOW - 1}"


def test_symbol_not_allowed_is_denied() -> None:
    assert check(order(symbol="DOGEUSDT")) == "symbol DOGEUSDT not in allowed_symbols"


def test_halted_denies_even_an_order_that_reduces() -> None:
    command = order(side=OrderSide.SELL, reduce_only=True)
    reason = check(command, exposure(position="1"), TradingState.HALTED)
    assert reason == "trading state Halted: no orders until an operator resumes"


@pytest.mark.parametrize(
    ("state", "reconciled", "reason"),
    [
        (
            TradingState.REDUCING,
            True,
            "trading state Reducing: only orders that reduce the position",
        ),
        (
            TradingState.ACTIVE,
            False,
            "not reconciled with the venue yet: only orders that reduce the position",
        ),
    ],
)
def test_reducing_or_unreconciled_allows_only_reducing_orders(
    state: TradingState, reconciled: bool, reason: str
) -> None:
    long_one = exposure(position="1")
    assert check(order(), long_one, state, reconciled=reconciled) == reason
    too_big = order(qty="1.5", side=OrderSide.SELL, reduce_only=True)
    assert check(too_big, long_one, state, reconciled=reconciled) == reason
    exit_ = order(qty="1", side=OrderSide.SELL, reduce_only=True)
    assert check(exit_, long_one, state, reconciled=reconciled) is None


def test_reducing_order_skips_exposure_limits() -> None:
    # A 10 ETH long (15000 USDT) is beyond every exposure limit; its exit must still pass.
    big = exposure(position="10", open_orders=50)
    exit_ = order(qty="10", price=None, side=OrderSide.SELL, reduce_only=True)
    assert check(exit_, big) is None


def test_reducing_order_passes_without_a_last_trade() -> None:
    exit_ = order(qty="1", side=OrderSide.BUY, reduce_only=True)
    assert check(exit_, exposure(position="-1", last=None), TradingState.REDUCING) is None


def test_reduces_position_needs_reduce_only_opposite_side_and_no_more_than_position() -> None:
    assert reduces_position(order(qty="1", side=OrderSide.SELL, reduce_only=True), D("1"))
    assert not reduces_position(order(qty="1", side=OrderSide.SELL), D("1"))
    assert not reduces_position(order(qty="1", side=OrderSide.BUY, reduce_only=True), D("1"))
    assert not reduces_position(order(qty="2", side=OrderSide.SELL, reduce_only=True), D("1"))
    assert not reduces_position(order(qty="1", side=OrderSide.SELL, reduce_only=True), D("0"))


@pytest.mark.parametrize(("pnl", "breached"), [("-200", True), ("-250", True), ("-199.99", False)])
def test_daily_loss_breached_at_the_limit(pnl: str, breached: bool) -> None:
    assert daily_loss_breached(LIMITS, D(pnl)) is breached


def test_quantize_rounds_price_in_the_orders_favour_and_floors_qty() -> None:
    buy = quantize_order(order(qty="0.129", price="1500.019"), RULES, D("1500"))
    sell = quantize_order(order(qty="0.129", price="1500.011", side=OrderSide.SELL), RULES, None)
    assert isinstance(buy, SubmitOrder)
    assert isinstance(sell, SubmitOrder)
    assert (buy.qty, buy.limit_price) == (D("0.12"), D("1500.01"))
    assert (sell.qty, sell.limit_price) == (D("0.12"), D("1500.02"))


def test_quantize_returns_the_same_command_when_on_the_grid() -> None:
    command = order()
    assert quantize_order(command, RULES, None) is command


@pytest.mark.parametrize(
    ("command", "last", "reason"),
    [
        (order(qty="0.009"), None, "qty 0.00 below min_qty 0.01"),
        (order(qty="0.01", price="400"), None, "notional 4.00 below min_notional 5"),
        (order(qty="0.01", price=None), D("400"), "notional 4.00 below min_notional 5"),
        (order(price=None), None, "no last trade price for ETHUSDT: min notional unknown"),
    ],
)
def test_quantize_reports_what_the_venue_would_refuse(
    command: SubmitOrder, last: Decimal | None, reason: str
) -> None:
    assert quantize_order(command, RULES, last) == reason


# ---- properties

_states = st.sampled_from(list(TradingState))
_qtys = st.decimals(min_value=D("0.01"), max_value=D("100"), places=2)
_prices = st.decimals(min_value=D("1"), max_value=D("100000"), places=2)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_qtys, _prices, _states, st.booleans(), st.booleans(), st.sampled_from(list(OrderSide)))
def test_any_order_above_max_notional_that_does_not_reduce_is_denied(
    qty: Decimal,
    price: Decimal,
    state: TradingState,
    reconciled: bool,
    market: bool,
    side: OrderSide,
) -> None:
    if qty * price <= LIMITS.max_order_notional_usdt:
        return
    command = order(str(qty), None if market else str(price), side)
    assert check(command, exposure(last=str(price)), state, reconciled=reconciled) is not None


@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    position=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
    long=st.booleans(),
    fraction=st.decimals(min_value=D("0.01"), max_value=D("1"), places=2),
    state=_states,
    reconciled=st.booleans(),
    market=st.booleans(),
    open_orders=st.integers(min_value=0, max_value=100),
    last=st.one_of(st.none(), _prices),
    pnl=st.decimals(min_value=D("-10000"), max_value=D("10000"), places=2),
)
def test_an_order_that_really_reduces_is_never_denied_for_exposure(
    *,
    position: Decimal,
    long: bool,
    fraction: Decimal,
    state: TradingState,
    reconciled: bool,
    market: bool,
    open_orders: int,
    last: Decimal | None,
    pnl: Decimal,
) -> None:
    # Arrange: an exit of part of the position, at the last trade (inside any band)
    signed = position if long else -position
    qty = max(D("0.01"), (position * fraction).quantize(D("0.01")))
    side = OrderSide.SELL if long else OrderSide.BUY
    price = None if market or last is None else str(last)
    command = order(str(qty), price, side, reduce_only=True)
    exp = exposure(str(signed), None if last is None else str(last), open_orders=open_orders)
    exp = msgspec.structs.replace(exp, pnl_today_usdt=pnl)

    # Act
    reason = check(command, exp, state, reconciled=reconciled)
    denied_symbol = check(msgspec.structs.replace(command, symbol=Symbol("XUSDT")), exp, state)

    # Assert
    halted = "trading state Halted: no orders until an operator resumes"
    assert reason == (halted if state is TradingState.HALTED else None)
    assert denied_symbol == "symbol XUSDT not in allowed_symbols"


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20_000_000_000), min_size=1, max_size=80))
def test_orders_per_minute_never_exceed_the_limit(gaps_ns: list[int]) -> None:
    approved: list[int] = []
    now = NOW
    for gap in gaps_ns:
        now += gap
        command = msgspec.structs.replace(order(), expires_at_ns=now + 1)
        exp = exposure(orders_last_minute=orders_in_last_minute(tuple(approved), now))
        if check_order(command, LIMITS, exp, TradingState.ACTIVE, True, now) is None:
            approved.append(now)
    for ts in approved:
        assert orders_in_last_minute(tuple(approved), ts) <= LIMITS.max_orders_per_minute
