"""shared.pnl: the average entry price method, against hand-worked fills and cash flows."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.pnl import ZERO, Holding, apply_fill

D = Decimal


def test_adding_moves_the_average_entry_and_realises_nothing() -> None:
    held, realised = apply_fill(Holding(D("0.002"), D("100")), D("0.002"), D("110"))
    assert held == Holding(D("0.004"), D("105"))
    assert realised == 0


def test_reducing_a_long_realises_against_the_entry_which_stays() -> None:
    held, realised = apply_fill(Holding(D("0.004"), D("105")), D("-0.001"), D("115"))
    assert held == Holding(D("0.003"), D("105"))
    assert realised == D("0.010")


def test_reducing_a_short_realises_the_other_way() -> None:
    held, realised = apply_fill(Holding(D("-2"), D("50")), D("1"), D("48"))
    assert held == Holding(D("-1"), D("50"))
    assert realised == D("2")


def test_crossing_zero_closes_everything_and_opens_the_rest_at_the_fill_price() -> None:
    held, realised = apply_fill(Holding(D("1"), D("100")), D("-3"), D("90"))
    assert held == Holding(D("-2"), D("90"))
    assert realised == D("-10")


def test_closing_exactly_leaves_flat() -> None:
    assert apply_fill(Holding(D("1"), D("100")), D("-1"), D("101")) == (Holding(), D("1"))


_qty = st.decimals(min_value=D("0.001"), max_value=D("5"), places=3)
_price = st.decimals(min_value=D("1"), max_value=D("100000"), places=1)
_fills = st.lists(st.tuples(st.booleans(), _qty, _price), min_size=1, max_size=30)


@given(_fills, _price)
def test_a_round_trip_realises_its_cash_flow(fills: list[tuple[bool, D, D]], close: D) -> None:
    """Whatever the path, once flat again the realised PnL is what was received for the
    sells less what was paid for the buys."""
    held, total, cash = Holding(), ZERO, ZERO
    for buy, qty, price in fills:
        signed = qty if buy else -qty
        held, realised = apply_fill(held, signed, price)
        total += realised
        cash -= signed * price
    closing = -held.qty
    held, realised = apply_fill(held, closing, close)
    total += realised
    cash -= closing * close
    assert held == Holding()
    assert abs(total - cash) < D("1e-12")
