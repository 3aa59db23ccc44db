"""Unrealised PnL at the dashboard's mark (the mid): the math (properties), then the fold:
it follows the mark and the position, the totals with it, and an unknown is null."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from services.dashboard.events import fold
from services.dashboard.market import QuoteSampler
from services.dashboard.money import unrealised_pnl
from services.dashboard.view import Header, View
from shared.schema import (
    ExecutionSnapshot,
    Position,
    PositionChanged,
    Quote,
    Symbol,
    TradingState,
)

HEADER = Header(mode="paper", run_dir="/run", controls_enabled=False, daily_loss_limit_usdt=None)
NS = 10**9

prices = st.decimals(min_value=D("0.0001"), max_value=D("1000000"), places=4)
qtys = st.decimals(min_value=D("-1000"), max_value=D("1000"), places=3)


@given(qty=qtys, entry=prices)
def test_unrealised_is_zero_at_the_entry_price(qty: D, entry: D) -> None:
    assert unrealised_pnl(qty, entry, entry) == 0


@given(qty=qtys.filter(lambda q: q != 0), entry=prices, mark=prices)
def test_a_long_gains_and_a_short_loses_when_the_mark_rises(qty: D, entry: D, mark: D) -> None:
    pnl = unrealised_pnl(qty, entry, mark)
    if mark == entry:
        assert pnl == 0
    else:
        rising = mark > entry
        assert (pnl > 0) == (rising == (qty > 0))


@given(qty=qtys, k=st.integers(min_value=-50, max_value=50), entry=prices, mark=prices)
def test_unrealised_is_linear_in_qty(qty: D, k: int, entry: D, mark: D) -> None:
    assert unrealised_pnl(qty * k, entry, mark) == k * unrealised_pnl(qty, entry, mark)
    assert unrealised_pnl(-qty, entry, mark) == -unrealised_pnl(qty, entry, mark)


def _position(symbol: str, qty: str, entry: str, venue_upnl: str = "0.02") -> PositionChanged:
    return PositionChanged(
        symbol=Symbol(symbol),
        qty=D(qty),
        avg_entry_price=D(entry),
        unrealised_pnl=D(venue_upnl),
        realised_pnl=D("0"),
        ts_event_ns=1,
    )


def _quote(symbol: str, bid: str, ask: str) -> Quote:
    return Quote(
        symbol=Symbol(symbol),
        epoch=1,
        bid_price=D(bid),
        bid_qty=D("1"),
        ask_price=D(ask),
        ask_qty=D("1"),
        venue_update_id=1,
        ts_event_ns=1,
        ts_recv_ns=1,
    )


def _mark(view: View, sampler: QuoteSampler, quote: Quote, now_ns: int) -> None:
    sampler.offer(quote, now_ns)
    sampler.emit(view, now_ns)


def test_the_unrealised_pnl_follows_the_mid_not_the_venues_last_position_update() -> None:
    # The operator's case: short 0.001 from 96,692.8, the mid at 96,567.6, the venue's
    # figure (+0.02) from an older PositionChanged.
    view, sampler = View(HEADER), QuoteSampler(4)
    fold(view, _position("BTCUSDT", "-0.001", "96692.8", venue_upnl="0.02"), 0)
    _mark(view, sampler, _quote("BTCUSDT", "96567.5", "96567.7"), NS)

    position = view.state["money"]["positions"]["BTCUSDT"]
    assert position["mark_price"] == "96567.6"
    assert D(position["unrealised_pnl"]) == D("0.1252")
    assert position["unrealised_at"] == "mid"
    assert position["venue_unrealised_pnl"] == "0.02"  # kept, beside
    assert D(view.state["money"]["unrealised_pnl_usdt"]) == D("0.1252")

    # the mark moves, no PositionChanged: the figure and the total move with it
    _mark(view, sampler, _quote("BTCUSDT", "96700.7", "96700.9"), 2 * NS)
    position = view.state["money"]["positions"]["BTCUSDT"]
    assert D(position["unrealised_pnl"]) == D("-0.0080")
    assert D(view.state["money"]["unrealised_pnl_usdt"]) == D("-0.0080")


def test_a_position_change_is_marked_at_once_at_the_last_mid() -> None:
    view, sampler = View(HEADER), QuoteSampler(4)
    _mark(view, sampler, _quote("ETHUSDT", "1999", "2001"), NS)  # mid 2000
    fold(view, _position("ETHUSDT", "0.5", "1990"), 0)
    assert D(view.state["money"]["positions"]["ETHUSDT"]["unrealised_pnl"]) == D("5")

    fold(view, _position("ETHUSDT", "1.5", "1995"), 0)  # added to it
    assert D(view.state["money"]["positions"]["ETHUSDT"]["unrealised_pnl"]) == D("7.5")
    assert D(view.state["money"]["unrealised_pnl_usdt"]) == D("7.5")


def test_without_a_quote_the_unrealised_pnl_and_the_total_are_null_never_zero() -> None:
    view, sampler = View(HEADER), QuoteSampler(4)
    assert view.state["money"]["unrealised_pnl_usdt"] == "0"  # flat: nothing unrealised
    _mark(view, sampler, _quote("ETHUSDT", "1999", "2001"), NS)
    fold(view, _position("ETHUSDT", "1", "1990"), 0)
    fold(view, _position("SOLUSDT", "-2", "150"), 0)  # no quote of SOLUSDT yet

    positions = view.state["money"]["positions"]
    assert positions["SOLUSDT"]["mark_price"] is None
    assert positions["SOLUSDT"]["unrealised_pnl"] is None
    assert view.state["money"]["unrealised_pnl_usdt"] is None  # a partial sum would mislead

    _mark(view, sampler, _quote("SOLUSDT", "149", "149.2"), NS)  # mid 149.1: +1.8
    assert D(view.state["money"]["unrealised_pnl_usdt"]) == D("11.8")

    fold(view, _position("ETHUSDT", "0", "0"), 0)  # closed
    assert D(view.state["money"]["unrealised_pnl_usdt"]) == D("1.8")
    fold(view, _position("SOLUSDT", "0", "0"), 0)
    assert view.state["money"]["unrealised_pnl_usdt"] == "0"


def test_the_executors_snapshot_marks_its_positions_and_drops_the_rest_from_the_total() -> None:
    view, sampler = View(HEADER), QuoteSampler(4)
    _mark(view, sampler, _quote("ETHUSDT", "1999", "2001"), NS)
    fold(view, _position("SOLUSDT", "-2", "150"), 0)  # unknown: no SOLUSDT quote
    assert view.state["money"]["unrealised_pnl_usdt"] is None
    snapshot = ExecutionSnapshot(
        open_orders=(),
        positions=(
            Position(
                symbol=Symbol("ETHUSDT"),
                qty=D("-1"),
                avg_entry_price=D("2010"),
                unrealised_pnl=D("9"),
                realised_pnl=D("0"),
            ),
        ),
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=1,
    )
    fold(view, snapshot, 0)
    assert set(view.state["money"]["positions"]) == {"ETHUSDT"}
    assert D(view.state["money"]["positions"]["ETHUSDT"]["unrealised_pnl"]) == D("10")
    assert D(view.state["money"]["unrealised_pnl_usdt"]) == D("10")


def test_a_quote_of_a_symbol_without_a_position_leaves_the_total_alone() -> None:
    view, sampler = View(HEADER), QuoteSampler(4)
    view.take()
    _mark(view, sampler, _quote("BTCUSDT", "1", "3"), NS)
    paths = [change["path"] for change in view.take()[0]]
    assert ["money", "unrealised_pnl_usdt"] not in paths
    assert view.state["money"]["positions"] == {}
