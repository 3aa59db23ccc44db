"""A value far below one grid unit (found by scripts/bench fuzz: execQty "1e-999999999") is
off the grid. Its remainder by the unit underflows Decimal's exponent range and rounds to
0, which read as "on the grid": the fill was journaled, then adding it to the order's
filled qty rounded to 0 and the average price divided 0 by 0."""

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bybit import wire
from shared.bybit.validate import (
    Defect,
    book_refusal,
    execution_refusal,
    price_defect,
    qty_defect,
    trade_refusal,
)
from tests.helpers.fixtures import BYBIT_FIXTURES
from tests.helpers.samples import BTCUSDT_RULES

D = Decimal
RULES = BTCUSDT_RULES
# Below Decimal's smallest exponent (Etiny of the default context is -1000026).
_TINY = st.builds(
    lambda digits, exponent: D(f"{digits}E-{exponent}"),
    st.integers(1, 10**6),
    st.integers(1_000_030, 999_999_999),
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(value=_TINY)
def test_a_value_far_below_its_grid_unit_is_off_the_grid(value: Decimal) -> None:
    assert price_defect(value, RULES.tick_size) is Defect.OFF_TICK
    assert qty_defect(value, RULES.qty_step) is Defect.OFF_STEP
    assert qty_defect(value, RULES.qty_step, zero_allowed=True) is Defect.OFF_STEP


@settings(derandomize=True, max_examples=200, deadline=None)
@given(value=_TINY)
def test_the_hot_paths_shortcuts_refuse_a_tiny_value_too(value: Decimal) -> None:
    book = wire.OrderBookData(
        s="BTCUSDT", b=[(D("64000.1"), value)], a=[(value, D("1"))], u=2, seq=2
    )
    refusal = book_refusal(book, RULES)
    assert refusal is not None
    assert (refusal.field, refusal.defect) == ("b[0].size", Defect.OFF_STEP)
    trade = wire.PublicTradeData(T=1, s="BTCUSDT", S="Sell", v=D("0.001"), p=value, i="t")
    refusal = trade_refusal(trade, RULES)
    assert refusal is not None
    assert refusal.defect is Defect.OFF_TICK


def test_an_execution_of_a_tiny_qty_is_refused() -> None:
    raw = (BYBIT_FIXTURES / "ws_private_execution_linear_docexample.json").read_bytes()
    (execution,) = msgspec.json.decode(raw, type=wire.PrivateMessage[wire.Execution]).data
    tiny = msgspec.structs.replace(execution, exec_qty=D("1e-999999999"))
    refusal = execution_refusal(tiny, RULES)
    assert refusal is not None
    assert (refusal.field, refusal.defect) == ("qty", Defect.OFF_STEP)
