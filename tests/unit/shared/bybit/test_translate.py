"""Wire to schema translation, and instrument rules (with hypothesis properties)."""

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.bybit import wire
from shared.bybit.translate import (
    InstrumentRules,
    decimal_or_none,
    instrument_rules,
    is_trade_execution,
    ms_to_ns,
    order_status,
    to_position,
    to_trade,
)
from shared.schema import OrderSide, OrderStatus
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _rest_result(name: str, result_type: type[msgspec.Struct]) -> object:
    envelope = msgspec.json.decode(_fixture(name), type=wire.RawResponse)
    return msgspec.json.decode(envelope.result, type=result_type)


def _rules(**overrides: str) -> InstrumentRules:
    values = {
        "tick_size": "0.10",
        "qty_step": "0.001",
        "min_qty": "0.001",
        "max_qty": "1190",
        "max_mkt_qty": "500",
        "min_notional": "5",
    } | overrides
    return InstrumentRules(symbol="BTCUSDT", **{k: Decimal(v) for k, v in values.items()})


# ------------------------------------------------------------------ order status


@pytest.mark.parametrize(
    ("venue", "expected"),
    [
        ("New", OrderStatus.ACCEPTED),
        ("PartiallyFilled", OrderStatus.PARTIALLY_FILLED),
        ("Filled", OrderStatus.FILLED),
        ("Cancelled", OrderStatus.CANCELED),
        ("Deactivated", OrderStatus.CANCELED),
        ("PartiallyFilledCanceled", OrderStatus.CANCELED),
        ("Rejected", OrderStatus.REJECTED),
        ("Untriggered", OrderStatus.ACCEPTED),
        ("Triggered", OrderStatus.ACCEPTED),
    ],
)
def test_order_status_maps_every_venue_status(venue: str, expected: OrderStatus) -> None:
    assert order_status(venue, Decimal(0), Decimal(1)) is expected


def test_order_status_of_open_order_with_fills_is_partially_filled() -> None:
    assert order_status("New", Decimal("0.4"), Decimal(1)) is OrderStatus.PARTIALLY_FILLED


def test_order_status_of_cancelled_order_with_fills_is_canceled() -> None:
    assert order_status("Cancelled", Decimal("0.4"), Decimal(1)) is OrderStatus.CANCELED


def test_order_status_unknown_raises_with_the_status() -> None:
    with pytest.raises(ValueError, match="'Expired'"):
        order_status("Expired", Decimal(0), Decimal(1))


# ------------------------------------------------------------------ trades, positions, fills


def test_public_trade_fixture_becomes_trade_with_ns_times() -> None:
    message = msgspec.json.decode(
        _fixture("ws_public_linear_publicTrade.json"), type=wire.PublicTradeMessage
    )

    trade = to_trade(message.data[0], epoch=3, ts_recv_ns=42)

    assert trade.symbol == "BTCUSDT"
    assert trade.epoch == 3
    assert trade.price == Decimal("65114.20")
    assert trade.qty == Decimal("0.004")
    assert trade.taker_side is OrderSide.SELL
    assert trade.trade_id == "a9188a0a-82bc-50de-be60-03eedbe3cdd7"
    assert trade.ts_event_ns == 1786310819680 * 1_000_000
    assert trade.ts_recv_ns == 42


def test_short_rest_position_has_negative_qty_and_avg_price() -> None:
    positions = _rest_result("rest_position_list_response_docexample.json", wire.PositionList)
    assert isinstance(positions, wire.PositionList)

    position = to_position(positions.list[0])

    assert position.qty == Decimal("-300")
    assert position.avg_entry_price == Decimal("27464.50441675")
    assert position.unrealised_pnl == Decimal("-0.00029413")
    assert position.realised_pnl == Decimal("0.00013123")


def test_flat_ws_position_has_zero_qty_and_entry_price() -> None:
    message = msgspec.json.decode(
        _fixture("ws_private_position_linear_docexample.json"),
        type=wire.PrivateMessage[wire.PositionEvent],
    )

    position = to_position(message.data[0])

    assert position.qty == 0
    assert position.avg_entry_price == Decimal(0)


def test_long_position_with_empty_prices_reads_them_as_zero() -> None:
    info = wire.PositionInfo(
        symbol="ETHUSDT", side="Buy", size=Decimal("2"), avg_price="", unrealised_pnl=""
    )

    position = to_position(info)

    assert position.qty == Decimal(2)
    assert position.avg_entry_price == 0
    assert position.unrealised_pnl == 0


def test_position_with_unknown_side_raises() -> None:
    info = wire.PositionInfo(symbol="ETHUSDT", side="Long", size=Decimal(1), avg_price="1")

    with pytest.raises(ValueError, match="'Long'"):
        to_position(info)


def test_only_trade_executions_are_fills() -> None:
    executions = _rest_result("rest_execution_list_response_docexample.json", wire.ExecutionList)
    assert isinstance(executions, wire.ExecutionList)
    trade = executions.list[0]
    funding = msgspec.structs.replace(trade, exec_type="Funding")

    assert is_trade_execution(trade)
    assert not is_trade_execution(funding)


# ------------------------------------------------------------------ scalars


def test_decimal_or_none_reads_empty_as_none() -> None:
    assert decimal_or_none("") is None
    assert decimal_or_none("0.10") == Decimal("0.10")


@pytest.mark.parametrize("text", ["abc", "NaN", "Infinity"])
def test_decimal_or_none_refuses_non_numbers(text: str) -> None:
    with pytest.raises(ValueError, match=text):
        decimal_or_none(text)


def test_ms_to_ns_accepts_numbers_and_strings() -> None:
    assert ms_to_ns(1672304486865) == 1672304486865_000_000
    assert ms_to_ns("1672304486865") == 1672304486865_000_000


def test_ms_to_ns_refuses_empty() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        ms_to_ns("")


# ------------------------------------------------------------------ instrument rules


def test_rules_of_btcusdt_come_from_instruments_info() -> None:
    page = _rest_result("rest_market_instruments_info_linear.json", wire.InstrumentsPage)
    assert isinstance(page, wire.InstrumentsPage)
    btc = next(i for i in page.list if i.symbol == "BTCUSDT")

    rules = instrument_rules(btc)

    assert rules.symbol == "BTCUSDT"
    assert rules.tick_size == btc.price_filter.tick_size
    assert rules.qty_step == btc.lot_size_filter.qty_step
    assert rules.min_qty == btc.lot_size_filter.min_order_qty
    assert rules.max_qty == btc.lot_size_filter.max_order_qty
    assert rules.max_mkt_qty == btc.lot_size_filter.max_mkt_order_qty
    assert rules.min_notional == btc.lot_size_filter.min_notional_value


@pytest.mark.parametrize(
    ("qty", "price", "market", "reason"),
    [
        ("0.0005", "60000", False, "qty 0.0005 below min_qty 0.001"),
        ("1191", "60000", False, "qty 1191 above max_qty 1190"),
        ("501", "60000", True, "qty 501 above max_qty 500"),
        ("0.0015", "60000", False, "qty 0.0015 not a multiple of qty_step 0.001"),
        ("0.001", "60000.05", False, "price 60000.05 not a multiple of tick_size 0.10"),
        ("0.001", "0", False, "price 0 not positive"),
        ("0.001", "4000", False, "notional 4.000 below min_notional 5"),
    ],
)
def test_check_names_the_broken_rule(qty: str, price: str, market: bool, reason: str) -> None:
    assert _rules().check(Decimal(qty), Decimal(price), market=market) == reason


def test_check_accepts_an_order_that_fits() -> None:
    assert _rules().check(Decimal("0.001"), Decimal("60000.10")) is None


def test_market_check_ignores_tick_of_the_reference_price() -> None:
    assert _rules().check(Decimal("0.001"), Decimal("60000.05"), market=True) is None


TICKS = st.sampled_from(["0.0001", "0.001", "0.01", "0.10", "0.5", "1", "5"]).map(Decimal)
STEPS = st.sampled_from(["0.001", "0.01", "0.1", "1", "10", "100"]).map(Decimal)
PRICES = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=6)
QTYS = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=6)


@given(tick=TICKS, price=PRICES)
def test_buy_price_rounds_down_onto_the_tick(tick: Decimal, price: Decimal) -> None:
    rounded = _rules(tick_size=str(tick)).round_price(price, OrderSide.BUY)

    assert rounded % tick == 0
    assert rounded <= price
    assert price - rounded < tick


@given(tick=TICKS, price=PRICES)
def test_sell_price_rounds_up_onto_the_tick(tick: Decimal, price: Decimal) -> None:
    rounded = _rules(tick_size=str(tick)).round_price(price, OrderSide.SELL)

    assert rounded % tick == 0
    assert rounded >= price
    assert rounded - price < tick


@given(tick=TICKS, price=PRICES, side=st.sampled_from(OrderSide))
def test_rounding_a_rounded_price_changes_nothing(
    tick: Decimal, price: Decimal, side: OrderSide
) -> None:
    rules = _rules(tick_size=str(tick))
    rounded = rules.round_price(price, side)

    assert rules.round_price(rounded, side) == rounded


@given(step=STEPS, qty=QTYS)
def test_floor_qty_rounds_down_onto_the_step(step: Decimal, qty: Decimal) -> None:
    floored = _rules(qty_step=str(step)).floor_qty(qty)

    assert floored % step == 0
    assert floored <= qty
    assert qty - floored < step


@given(step=STEPS, tick=TICKS, qty=QTYS, price=PRICES, side=st.sampled_from(OrderSide))
def test_check_accepts_rounded_orders_within_limits(
    step: Decimal, tick: Decimal, qty: Decimal, price: Decimal, side: OrderSide
) -> None:
    rules = _rules(
        qty_step=str(step),
        min_qty=str(step),
        tick_size=str(tick),
        max_qty="100000",
        min_notional="5",
    )
    order_qty = rules.floor_qty(qty)
    order_price = rules.round_price(price, side)

    reason = rules.check(order_qty, order_price)

    fits = order_qty >= rules.min_qty and order_price > 0 and order_qty * order_price >= 5
    assert (reason is None) == fits


@given(step=STEPS, fraction=st.decimals(min_value=0, max_value=Decimal("0.999"), places=3))
def test_check_refuses_every_qty_below_the_minimum(step: Decimal, fraction: Decimal) -> None:
    rules = _rules(qty_step=str(step), min_qty=str(step * 10), min_notional="0")
    qty = rules.min_qty * fraction

    reason = rules.check(qty, Decimal("100"))

    assert reason == f"qty {qty} below min_qty {rules.min_qty}"
