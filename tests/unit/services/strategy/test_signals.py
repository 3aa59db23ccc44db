"""The momentum signal (VWAP window) and the entry filters."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.strategy.signals import (
    COOLDOWN,
    HOURLY_CAP,
    STALE_QUOTE,
    STALE_TRADE,
    THIN_BOOK,
    WIDE_SPREAD,
    EntryGate,
    TopOfBook,
    TradeWindow,
    momentum,
    vwap,
)
from tests.unit.services.strategy.support import MS, S_NS, T0, make_settings

prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False, allow_infinity=False)
qtys = st.floats(min_value=1e-6, max_value=1e4, allow_nan=False, allow_infinity=False)
trades = st.lists(st.tuples(prices, qtys), min_size=1, max_size=60)


@given(trades, st.integers(min_value=1, max_value=30))
def test_vwap_lies_within_the_window_prices(
    window_trades: list[tuple[float, float]], capacity: int
) -> None:
    # Arrange
    window = TradeWindow(capacity)

    # Act
    for price, qty in window_trades:
        window.push(price, qty, T0)

    # Assert
    last = [p for p, _ in window_trades[-capacity:]]
    value = window.current_vwap()
    tolerance = 1e-9 * max(last)
    assert min(last) - tolerance <= value <= max(last) + tolerance


@given(trades)
def test_momentum_sign_matches_last_price_against_vwap(
    window_trades: list[tuple[float, float]],
) -> None:
    # Arrange
    window = TradeWindow(len(window_trades))

    # Act
    for price, qty in window_trades:
        window.push(price, qty, T0)

    # Assert
    average = window.current_vwap()
    assert np.sign(window.momentum) == np.sign(momentum(window.last_price, average))
    if window.last_price > average:
        assert window.momentum > 0
    elif window.last_price < average:
        assert window.momentum < 0


def test_momentum_is_zero_until_the_window_is_full() -> None:
    window = TradeWindow(3)
    window.push(100.0, 1.0, T0)
    window.push(110.0, 1.0, T0)
    assert not window.full
    assert window.momentum == 0.0
    window.push(120.0, 1.0, T0)
    assert window.full
    assert window.momentum == pytest.approx((120 - 110) / 110)


def test_window_keeps_only_the_last_n_trades() -> None:
    window = TradeWindow(2)
    for price in (1.0, 100.0, 200.0):
        window.push(price, 1.0, T0)
    assert window.current_vwap() == pytest.approx(150.0)


def test_vwap_weights_by_qty() -> None:
    assert vwap(np.array([100.0, 200.0]), np.array([3.0, 1.0])) == pytest.approx(125.0)


def _top(
    bid: float = 50_000.0, ask: float = 50_000.5, qty: float = 1.0, recv_ns: int = T0
) -> TopOfBook:
    return TopOfBook(bid=bid, bid_qty=qty, ask=ask, ask_qty=qty, recv_ns=recv_ns)


@pytest.mark.parametrize(
    ("top", "trade_ns", "now_ns", "expected"),
    [
        (_top(), T0, T0 + 50 * MS, None),
        (_top(), T0 + 100 * MS, T0 + 101 * MS, STALE_QUOTE),
        (_top(recv_ns=T0 + 100 * MS), T0, T0 + 101 * MS, STALE_TRADE),
        (_top(ask=50_100.0), T0, T0, WIDE_SPREAD),
        (_top(qty=0.01), T0, T0, THIN_BOOK),
    ],
    ids=["fresh", "stale quote", "stale trade", "wide spread", "thin book"],
)
def test_gate_reports_the_first_failing_filter(
    top: TopOfBook, trade_ns: int, now_ns: int, expected: str | None
) -> None:
    gate = EntryGate(make_settings())
    assert gate.block_reason(top, trade_ns, now_ns) == expected


def test_gate_blocks_during_cooldown_after_an_exit() -> None:
    gate = EntryGate(make_settings(cooldown_s=5.0))
    gate.start_cooldown(T0)
    assert gate.block_reason(_top(recv_ns=T0 + S_NS), T0 + S_NS, T0 + S_NS) == COOLDOWN
    later = T0 + 5 * S_NS
    assert gate.block_reason(_top(recv_ns=later), later, later) is None


def test_gate_blocks_above_the_hourly_entry_cap() -> None:
    gate = EntryGate(make_settings(max_entries_per_hour=2))
    gate.record_entry(T0)
    gate.record_entry(T0 + S_NS)
    now = T0 + 2 * S_NS
    assert gate.block_reason(_top(recv_ns=now), now, now) == HOURLY_CAP
    hour_later = T0 + 3_600 * S_NS
    assert gate.block_reason(_top(recv_ns=hour_later), hour_later, hour_later) is None
