"""The semantic checks of decoded venue reports: any finite positive on-grid value passes,
any non-finite, non-positive or off-grid one is refused with the right defect."""

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bybit import wire
from shared.bybit.validate import (
    Defect,
    Grid,
    amount_defect,
    book_refusal,
    execution_refusal,
    order_refusal,
    position_refusal,
    price_defect,
    qty_defect,
    text_defect,
    trade_refusal,
    wallet_refusal,
)
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.samples import BTCUSDT_RULES

D = Decimal
_TICKS = st.sampled_from([D("0.01"), D("0.1"), D("0.5"), D("1"), D("0.0001"), D("25")])
_STEPS = st.sampled_from([D("0.001"), D("0.01"), D("1"), D("10"), D("0.00001")])
_UNITS = st.integers(min_value=1, max_value=10**15)
_NON_FINITE = st.sampled_from([D("NaN"), D("-NaN"), D("sNaN"), D("Infinity"), D("-Infinity")])
_FINITE = st.decimals(allow_nan=False, allow_infinity=False)
_RULES = BTCUSDT_RULES
_SETTINGS = settings(derandomize=True, max_examples=300, deadline=None)


@_SETTINGS
@given(tick=_TICKS, units=_UNITS)
def test_any_positive_price_on_the_tick_grid_passes(tick: Decimal, units: int) -> None:
    assert price_defect(tick * units, tick) is None
    assert price_defect(tick * units) is None


@_SETTINGS
@given(step=_STEPS, units=_UNITS, zero_allowed=st.booleans())
def test_any_positive_qty_on_the_step_grid_passes(
    step: Decimal, units: int, zero_allowed: bool
) -> None:
    assert qty_defect(step * units, step, zero_allowed=zero_allowed) is None


@_SETTINGS
@given(value=_NON_FINITE, tick=st.one_of(st.none(), _TICKS), zero_allowed=st.booleans())
def test_any_non_finite_value_is_refused_as_not_finite(
    value: Decimal, tick: Decimal | None, zero_allowed: bool
) -> None:
    assert price_defect(value, tick) is Defect.NOT_FINITE
    assert qty_defect(value, tick, zero_allowed=zero_allowed) is Defect.NOT_FINITE
    assert amount_defect(value) is Defect.NOT_FINITE
    assert text_defect(str(value)) is Defect.NOT_FINITE


@_SETTINGS
@given(
    value=st.decimals(max_value=D(0), allow_nan=False, allow_infinity=False),
    tick=st.one_of(st.none(), _TICKS),
)
def test_any_non_positive_price_or_fill_qty_is_refused(
    value: Decimal, tick: Decimal | None
) -> None:
    assert price_defect(value, tick) is Defect.NOT_POSITIVE
    assert qty_defect(value, tick) is Defect.NOT_POSITIVE


@_SETTINGS
@given(value=st.decimals(max_value=D("-1E-30"), allow_nan=False, allow_infinity=False), step=_STEPS)
def test_a_negative_book_size_is_refused_and_zero_deletes(value: Decimal, step: Decimal) -> None:
    assert qty_defect(value, step, zero_allowed=True) is Defect.NEGATIVE
    assert qty_defect(D(0), step, zero_allowed=True) is None
    assert qty_defect(D("-0"), step, zero_allowed=True) is None


@_SETTINGS
@given(
    tick=_TICKS,
    units=st.integers(min_value=0, max_value=10**12),
    fraction=st.decimals(min_value=D("0.000001"), max_value=D("0.999999"), places=6),
)
def test_any_price_between_two_ticks_is_refused_as_off_tick(
    tick: Decimal, units: int, fraction: Decimal
) -> None:
    assert price_defect((units + fraction) * tick, tick) is Defect.OFF_TICK


@_SETTINGS
@given(
    step=_STEPS,
    units=st.integers(min_value=0, max_value=10**12),
    fraction=st.decimals(min_value=D("0.000001"), max_value=D("0.999999"), places=6),
)
def test_any_qty_between_two_steps_is_refused_as_off_step(
    step: Decimal, units: int, fraction: Decimal
) -> None:
    assert qty_defect((units + fraction) * step, step) is Defect.OFF_STEP
    assert qty_defect((units + fraction) * step, step, zero_allowed=True) is Defect.OFF_STEP


@_SETTINGS
@given(value=_FINITE)
def test_any_finite_amount_passes_whatever_its_sign(value: Decimal) -> None:
    assert amount_defect(value) is None  # a negative fee is a maker rebate
    assert text_defect(str(value)) is None


def test_a_value_far_beyond_its_grid_is_out_of_range() -> None:
    assert price_defect(D("1E+60"), D("0.01")) is Defect.OUT_OF_RANGE
    assert price_defect(D("1E+60")) is None  # no grid known: sign and finiteness only


@pytest.mark.parametrize(
    ("text", "required", "defect"),
    [("", False, None), ("", True, Defect.NOT_A_NUMBER), ("abc", False, Defect.NOT_A_NUMBER)],
)
def test_text_decimals(text: str, required: bool, defect: Defect | None) -> None:
    assert text_defect(text, required=required) is defect


# ---------------------------------------------------------------- whole reports


def _book(b: list[tuple[str, str]], a: list[tuple[str, str]]) -> wire.OrderBookData:
    levels = [[(D(p), D(q)) for p, q in side] for side in (b, a)]
    return wire.OrderBookData(s="BTCUSDT", b=levels[0], a=levels[1], u=2, seq=2)


@pytest.mark.parametrize(
    ("bids", "asks", "field", "defect"),
    [
        ([("100.1", "-1")], [], "b[0].size", Defect.NEGATIVE),
        ([("100.1", "1")], [("0", "1")], "a[0].price", Defect.NOT_POSITIVE),
        ([("100.1", "1"), ("NaN", "1")], [], "b[1].price", Defect.NOT_FINITE),
        ([], [("100.15", "1")], "a[0].price", Defect.OFF_TICK),
        ([], [("100.2", "0.0015")], "a[0].size", Defect.OFF_STEP),
    ],
)
def test_the_first_bad_book_level_is_named(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], field: str, defect: Defect
) -> None:
    refusal = book_refusal(_book(bids, asks), _RULES)
    assert refusal is not None
    assert (refusal.field, refusal.defect) == (field, defect)


def test_a_good_book_with_deletions_passes() -> None:
    assert (
        book_refusal(_book([("100.1", "0"), ("100", "2.5")], [("100.2", "0.001")]), _RULES) is None
    )


def _trade(p: str, v: str) -> wire.PublicTradeData:
    return wire.PublicTradeData(T=1, s="BTCUSDT", S="Buy", v=D(v), p=D(p), i="t1")


@pytest.mark.parametrize(
    ("p", "v", "field", "defect"),
    [
        ("100.1", "0", "v", Defect.NOT_POSITIVE),
        ("100.1", "-1", "v", Defect.NOT_POSITIVE),
        ("-5", "1", "p", Defect.NOT_POSITIVE),
        ("Infinity", "1", "p", Defect.NOT_FINITE),
        ("100.1", "0.0001", "v", Defect.OFF_STEP),
    ],
)
def test_a_bad_trade_is_refused(p: str, v: str, field: str, defect: Defect) -> None:
    refusal = trade_refusal(_trade(p, v), _RULES)
    assert refusal is not None
    assert (refusal.field, refusal.defect) == (field, defect)
    assert trade_refusal(_trade("100.1", "0.002"), _RULES) is None


def _execution(**changes: object) -> wire.Execution:
    raw = (FIXTURES / "rest_execution_list_response_docexample.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    execution = msgspec.json.decode(result, type=wire.ExecutionList).list[0]
    return msgspec.structs.replace(execution, **changes)


@pytest.mark.parametrize(
    ("changes", "field", "defect"),
    [
        ({"exec_price": D(0)}, "price", Defect.NOT_POSITIVE),
        ({"exec_price": D("-1")}, "price", Defect.NOT_POSITIVE),
        ({"exec_price": D("NaN")}, "price", Defect.NOT_FINITE),
        ({"exec_fee": D("NaN")}, "fee", Defect.NOT_FINITE),
        ({"exec_fee": D("Infinity")}, "fee", Defect.NOT_FINITE),
        ({"exec_qty": D(0)}, "qty", Defect.NOT_POSITIVE),
    ],
)
def test_a_bad_execution_is_refused(changes: dict[str, object], field: str, defect: Defect) -> None:
    refusal = execution_refusal(_execution(**changes))
    assert refusal is not None
    assert (refusal.field, refusal.defect) == (field, defect)


def test_a_good_execution_passes_and_a_rebate_is_a_fee() -> None:
    assert execution_refusal(_execution()) is None
    assert execution_refusal(_execution(exec_fee=D("-0.01"))) is None


def test_wallet_position_and_order_reports() -> None:
    raw = (FIXTURES / "ws_private_wallet.json").read_bytes()
    (wallet,) = msgspec.json.decode(raw, type=wire.PrivateMessage[wire.Wallet]).data
    assert wallet_refusal(wallet) is None
    infinite = msgspec.structs.replace(wallet, total_equity="Infinity")
    assert str(wallet_refusal(infinite)) == "totalEquity=Infinity not_finite"
    coin = msgspec.structs.replace(wallet.coin[0], equity=D("Infinity"))
    refusal = wallet_refusal(msgspec.structs.replace(wallet, coin=[coin]))
    assert refusal is not None
    assert refusal.defect is Defect.NOT_FINITE

    raw = (FIXTURES / "ws_private_position_linear_docexample.json").read_bytes()
    (position,) = msgspec.json.decode(raw, type=wire.PrivateMessage[wire.PositionEvent]).data
    assert position_refusal(position) is None
    refusal = position_refusal(msgspec.structs.replace(position, size=D("NaN")))
    assert refusal is not None
    assert (refusal.field, refusal.defect) == ("size", Defect.NOT_FINITE)

    raw = (FIXTURES / "rest_order_realtime_response_docexample.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    order = msgspec.json.decode(result, type=wire.OrderList).list[0]
    assert order_refusal(order) is None
    refusal = order_refusal(msgspec.structs.replace(order, cum_exec_qty=D("NaN")))
    assert refusal is not None
    assert (refusal.field, refusal.defect) == ("cumExecQty", Defect.NOT_FINITE)
    overfilled = msgspec.structs.replace(order, cum_exec_qty=order.qty + 1)
    refusal = order_refusal(overfilled)  # reconciliation would take it and raise InvalidFill
    assert refusal is not None
    assert (refusal.field, refusal.defect) == ("cumExecQty", Defect.IMPOSSIBLE)


_ANY_VALUE = st.one_of(
    st.integers(min_value=-5, max_value=10**9).map(lambda n: D(n) * D("0.1")),
    st.decimals(min_value=D("-1000"), max_value=D("100000"), places=4),
    _NON_FINITE,
    st.sampled_from([D(0), D("-0"), D("1E+35"), D("1E+60"), D("1E-40")]),
)
_LEVELS = st.lists(st.tuples(_ANY_VALUE, _ANY_VALUE), max_size=6)


def _level_by_level(data: wire.OrderBookData, grid: Grid | None) -> tuple[str, Defect] | None:
    tick = None if grid is None else grid.tick_size
    step = None if grid is None else grid.qty_step
    for side, levels in (("b", data.b), ("a", data.a)):
        for i, (price, size) in enumerate(levels):
            if defect := price_defect(price, tick):
                return f"{side}[{i}].price", defect
            if defect := qty_defect(size, step, zero_allowed=True):
                return f"{side}[{i}].size", defect
    return None


@settings(derandomize=True, max_examples=1000, deadline=None)
@given(bids=_LEVELS, asks=_LEVELS, with_grid=st.booleans())
def test_the_books_shortcut_refuses_exactly_what_the_level_by_level_checks_refuse(
    bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], with_grid: bool
) -> None:
    # with the instrument's grid, and without one (the backtest's feed: another venue's grid)
    grid = _RULES if with_grid else None
    data = wire.OrderBookData(s="BTCUSDT", b=bids, a=asks, u=2, seq=2)
    refusal = book_refusal(data, grid)
    found = None if refusal is None else (refusal.field, refusal.defect)
    assert found == _level_by_level(data, grid)


@settings(derandomize=True, max_examples=1000, deadline=None)
@given(price=_ANY_VALUE, size=_ANY_VALUE)
def test_the_trades_shortcut_refuses_exactly_what_the_value_checks_refuse(
    price: Decimal, size: Decimal
) -> None:
    refusal = trade_refusal(
        wire.PublicTradeData(T=1, s="BTCUSDT", S="Sell", v=size, p=price, i="t"), _RULES
    )
    expected = price_defect(price, _RULES.tick_size) or qty_defect(size, _RULES.qty_step)
    assert (None if refusal is None else refusal.defect) == expected
