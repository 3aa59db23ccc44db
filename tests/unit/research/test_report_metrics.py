"""The backtest report's metrics: hand-computed cases, properties of the math (hypothesis),
and what the ledger keeps for them (arrival mids, markouts, the bounded marks grid)."""

import math
from decimal import Decimal
from itertools import pairwise

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from research.backtest.result import (
    MARK_POINTS_MAX,
    BacktestResult,
    FillRow,
    Ledger,
    MarkPoint,
    OrderRow,
    Summary,
)
from research.report.metrics import (
    RoundTrip,
    adverse_bps,
    compute,
    equity_grid,
    inventory,
    max_drawdown,
    periods_per_year,
    profit_factor,
    round_trips,
    sharpe,
    slippage_bps,
    sortino,
    utc_text,
    win_rate_pct,
)
from shared.pnl import Holding, apply_fill
from shared.schema import (
    OrderFilled,
    OrderSide,
    OrderType,
    Quote,
    SubmitOrder,
    Symbol,
    TimeInForce,
    Trade,
)

S = 1_000_000_000
ETH = Symbol("ETHUSDT")
D = Decimal
prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
sides = st.sampled_from(["Buy", "Sell"])


def fill(ts_s: float, side: str, qty: str, price: str, fee: str = "0", **extra: object) -> FillRow:
    return FillRow(
        ts_ns=round(ts_s * S),
        client_order_id=extra.pop("order", "o1"),  # type: ignore[arg-type]
        exec_id=f"e{ts_s}",
        side=side,
        qty=D(qty),
        price=D(price),
        fee=D(fee),
        is_maker=bool(extra.pop("maker", False)),
        symbol="ETHUSDT",
        **extra,  # type: ignore[arg-type]
    )


def with_positions(fills: list[FillRow]) -> list[FillRow]:
    """The fills with `position_after` as the ledger books it."""
    out, holding = [], Holding()
    for f in fills:
        holding, _ = apply_fill(holding, f.qty if f.side == "Buy" else -f.qty, f.price)
        out.append(msgspec.structs.replace(f, position_after=holding.qty))
    return out


def result_of(
    fills: list[FillRow], orders: list[OrderRow] | None = None, marks: list[MarkPoint] | None = None
) -> BacktestResult:
    orders, marks = orders or [], marks or []
    summary = Summary(
        first_ns=0,
        last_ns=10 * S,
        frames=1,
        orders=len(orders),
        entries=0,
        round_trips=0,
        fills=len(fills),
        maker_fills=0,
        taker_fills=0,
        maker_share="",
        position_qty=D(0),
        realised_pnl=D(0),
        unrealised_pnl=D(0),
        pnl_gross=D(0),
        fees=D(0),
        pnl_net=D(0),
        venue_wallet_change=D(0),
        ledger_matches_venue=True,
    )
    return BacktestResult(
        settings={"symbol": "ETHUSDT"},
        summary=summary,
        counters={},
        orders=orders,
        fills=fills,
        equity=[],
        marks=marks,
        mark_bucket_ns=S,
        starting_balance=D(1000),
    )


def order(oid: str, side: str, qty: str, arrival: str | None, **extra: object) -> OrderRow:
    return OrderRow(
        client_order_id=oid,
        submitted_ns=0,
        side=side,
        order_type=str(extra.pop("order_type", "Market")),
        time_in_force="IOC",
        qty=D(qty),
        limit_price=None,
        reduce_only=False,
        symbol="ETHUSDT",
        arrival_mid=None if arrival is None else D(arrival),
        **extra,  # type: ignore[arg-type]
    )


# -- hand-computed cases


def test_a_round_trip_books_its_realised_pnl_and_fees() -> None:
    (trip,) = round_trips(
        with_positions([fill(1, "Buy", "1", "100", "0.1"), fill(2, "Sell", "1", "110", "0.1")])
    )
    assert trip == RoundTrip(
        symbol="ETHUSDT",
        opened_ns=1 * S,
        closed_ns=2 * S,
        pnl_gross_usdt=D(10),
        fees_usdt=D("0.2"),
        pnl_net_usdt=D("9.8"),
    )


def test_a_flip_closes_one_trip_and_opens_the_next_with_its_fee_split_by_qty() -> None:
    fills = [
        fill(1, "Buy", "1", "100", "1"),
        fill(2, "Sell", "3", "90", "3"),  # closes 1 (fee 1), opens a short of 2 (fee 2)
        fill(3, "Buy", "2", "80", "0"),
    ]
    first, second = round_trips(with_positions(fills))
    assert (first.pnl_gross_usdt, first.fees_usdt, first.pnl_net_usdt) == (D(-10), D(2), D(-12))
    assert (second.opened_ns, second.closed_ns) == (2 * S, 3 * S)
    assert (second.pnl_gross_usdt, second.fees_usdt, second.pnl_net_usdt) == (D(20), D(2), D(18))
    assert win_rate_pct([first, second]) == 50.0
    assert profit_factor([first, second]) == 1.5


def test_an_open_trip_is_not_counted_in_win_rate_or_profit_factor() -> None:
    trips = round_trips(with_positions([fill(1, "Buy", "1", "100", "0.1")]))
    assert [t.closed_ns for t in trips] == [None]
    assert win_rate_pct(trips) is None
    assert profit_factor(trips) is None


def test_inventory_is_time_weighted_over_the_run() -> None:
    fills = with_positions([fill(2.5, "Buy", "2", "100"), fill(7.5, "Sell", "2", "100")])
    held = inventory(fills, 0, 10 * S)
    assert held.mean_abs == 1.0
    assert held.max_abs == D(2)
    assert held.flat_time_pct == 50.0


def test_the_equity_grid_is_forward_filled_from_the_starting_balance() -> None:
    mark = MarkPoint(0, D(1), D(1), D(1), D(0), D(0), D(1001))
    later = MarkPoint(3 * S, D(1), D(1), D(1), D(0), D(0), D(999))
    grid = equity_grid(result_of([], marks=[mark, later]))
    assert grid == [(0, D(1000)), (S, D(1001)), (2 * S, D(1001)), (3 * S, D(1001)), (4 * S, D(999))]
    dd = max_drawdown(grid)
    assert dd is not None
    assert (dd.amount_usdt, dd.peak_ns, dd.trough_ns) == (D(2), S, 4 * S)
    assert utc_text(dd.trough_ns) == "1970-01-01 00:00:04.000Z"


def test_unknowns_stay_unknown() -> None:
    fills = with_positions([fill(1, "Buy", "1", "100", order="o1", mid_at_fill=D(100))])
    m = compute(result_of(fills, [order("o1", "Buy", "1", None)]))
    assert m.slippage_mean_bps is None
    assert m.slippage_fills_known == 0
    assert m.adverse_1s_mean_bps is None
    assert m.adverse_5s_fills_known == 0
    assert m.sharpe_annualised is None  # no marks: no returns
    assert m.max_drawdown_usdt is None
    assert m.limit_fill_ratio_pct is None  # no limit orders


def test_compute_on_a_small_run() -> None:
    fills = with_positions(
        [
            fill(1, "Buy", "1", "100.1", "0.05", order="a", mid_at_fill=D(100), mid_1s_after=D(99)),
            fill(2, "Sell", "1", "101", "-0.02", order="b", maker=True, mid_at_fill=D(101)),
        ]
    )
    orders = [
        order("a", "Buy", "1", "100", status="Filled", filled_qty=D(1)),
        order("b", "Sell", "2", "101", status="Canceled", filled_qty=D(1), order_type="Limit"),
        order("c", "Buy", "1", "100", status="Denied"),
    ]
    m = compute(result_of(fills, orders))
    assert m.round_trips == 1
    assert m.win_rate_pct == 100.0
    assert m.profit_factor is None  # no losing trip: n/a, not infinite, not 0
    assert m.maker_share_pct == 50.0
    assert m.slippage_fills_known == 2
    assert m.slippage_mean_bps == pytest.approx((10 + 0) / 2)  # 0.1 above a mid of 100 = 10 bps
    assert m.adverse_1s_mean_bps == pytest.approx(100.0)  # bought at a mid of 100, then 99
    assert m.adverse_1s_fills_known == 1
    assert (m.orders_sent, m.orders_denied, m.orders_at_venue, m.orders_filled) == (3, 1, 2, 2)
    assert m.limit_fill_ratio_pct == 50.0
    assert m.traded_notional_usdt == D("201.1")
    assert m.position_max_abs == D(1)


def test_periods_a_year_count_every_second_of_365_days() -> None:
    assert periods_per_year(S) == 365 * 24 * 3600
    assert periods_per_year(60 * S) == 365 * 24 * 60


# -- properties


@given(sides, prices)
def test_a_fill_at_the_arrival_mid_has_no_slippage(side: str, mid: Decimal) -> None:
    assert slippage_bps(side, mid, mid) == 0


@given(sides, prices, st.decimals(min_value=D("0.01"), max_value=D(100), places=2))
def test_paying_up_or_selling_down_is_positive_slippage(
    side: str, mid: Decimal, off: Decimal
) -> None:
    worse = mid + off if side == "Buy" else mid - off
    if worse > 0:
        assert slippage_bps(side, worse, mid) > 0


@given(sides, prices, st.decimals(min_value=D("0.01"), max_value=D(100), places=2))
def test_a_move_against_the_fill_is_positive_adverse_selection(
    side: str, mid: Decimal, move: Decimal
) -> None:
    against = mid - move if side == "Buy" else mid + move
    assert adverse_bps(side, mid, against) > 0
    assert adverse_bps(side, mid, mid) == 0


equities = st.lists(
    st.decimals(min_value=D(1), max_value=D(10**6), places=4), min_size=1, max_size=40
)


@given(equities)
def test_max_drawdown_is_the_largest_peak_to_later_trough_fall(values: list[Decimal]) -> None:
    points = [(i * S, v) for i, v in enumerate(values)]
    dd = max_drawdown(points)
    assert dd is not None
    assert dd.amount_usdt >= 0
    falls = [values[i] - values[j] for i in range(len(values)) for j in range(i, len(values))]
    assert dd.amount_usdt == max(falls)
    assert dd.peak_ns <= dd.trough_ns
    assert values[dd.peak_ns // S] - values[dd.trough_ns // S] == dd.amount_usdt


returns = st.lists(
    st.floats(min_value=-0.05, max_value=0.05, allow_nan=False), min_size=2, max_size=50
)


@given(returns)
def test_sharpe_has_the_sign_of_the_mean_return(rs: list[float]) -> None:
    value = sharpe(rs, S)
    mean = math.fsum(rs) / len(rs)
    if value is not None and abs(mean) > 1e-12:
        assert math.copysign(1, value) == math.copysign(1, mean)


@given(returns)
def test_sortino_is_unknown_without_a_loss_and_has_the_means_sign(rs: list[float]) -> None:
    value = sortino(rs, S)
    if all(r >= 0 for r in rs):
        assert value is None
    mean = math.fsum(rs) / len(rs)
    if value is not None and abs(mean) > 1e-12:
        assert math.copysign(1, value) == math.copysign(1, mean)


trip_pnls = st.lists(st.decimals(min_value=D(-100), max_value=D(100), places=2), max_size=30)


@given(trip_pnls)
def test_win_rate_and_profit_factor_follow_their_definitions(pnls: list[Decimal]) -> None:
    trips = [
        RoundTrip(
            symbol="X", opened_ns=0, closed_ns=1, pnl_gross_usdt=p, fees_usdt=D(0), pnl_net_usdt=p
        )
        for p in pnls
    ]
    rate = win_rate_pct(trips)
    assert (rate is None) == (not pnls)
    if rate is not None:
        assert 0 <= rate <= 100
    factor = profit_factor(trips)
    lost = -sum((p for p in pnls if p < 0), D(0))
    won = sum((p for p in pnls if p > 0), D(0))
    if lost:
        assert factor == pytest.approx(float(won / lost), rel=1e-3, abs=1e-4)
    else:
        assert factor is None


plans = st.lists(
    st.tuples(sides, st.integers(1, 5), st.integers(90, 110), st.integers(0, 3)), max_size=25
)


@given(plans)
def test_round_trips_book_every_realised_pnl_and_fee(plan: list[tuple[str, int, int, int]]) -> None:
    fills = with_positions(
        [fill(k, side, str(q), str(p), str(fee)) for k, (side, q, p, fee) in enumerate(plan)]
    )
    holding, realised = Holding(), D(0)
    for f in fills:
        holding, r = apply_fill(holding, f.qty if f.side == "Buy" else -f.qty, f.price)
        realised += r
    trips = round_trips(fills)
    assert sum((t.pnl_gross_usdt for t in trips), D(0)) == realised.quantize(D("1E-10"))
    fees = sum((f.fee for f in fills), D(0))
    assert abs(sum((t.fees_usdt for t in trips), D(0)) - fees) < D("1E-8")
    assert [t.closed_ns is None for t in trips].count(True) == (1 if holding.qty else 0)


# -- what the ledger keeps


def quote(bid: str, ask: str, t_ns: int) -> Quote:
    return Quote(
        symbol=ETH,
        epoch=1,
        bid_price=D(bid),
        bid_qty=D(1),
        ask_price=D(ask),
        ask_qty=D(1),
        venue_update_id=1,
        ts_event_ns=t_ns,
        ts_recv_ns=t_ns,
    )


def filled(t_ns: int) -> OrderFilled:
    return OrderFilled(
        client_order_id="o1",  # type: ignore[arg-type]
        venue_order_id="v1",  # type: ignore[arg-type]
        strategy_id="bt",
        symbol=ETH,
        side=OrderSide.BUY,
        exec_id="e1",
        fill_qty=D(1),
        fill_price=D(101),
        cum_filled_qty=D(1),
        leaves_qty=D(0),
        fee=D("0.05"),
        is_maker=False,
        ts_event_ns=t_ns,
        ts_trigger_recv_ns=t_ns,
        ts_request_sent_ns=t_ns,
        ts_ack_ns=t_ns,
    )


def submit(t_ns: int) -> SubmitOrder:
    return SubmitOrder(
        client_order_id="o1",  # type: ignore[arg-type]
        strategy_id="bt",
        epoch=1,
        symbol=ETH,
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        qty=D(1),
        limit_price=None,
        ts_created_ns=t_ns,
        expires_at_ns=t_ns + S,
        ts_trigger_recv_ns=t_ns,
        ts_trigger_event_ns=t_ns,
    )


def test_the_ledger_keeps_the_arrival_mid_and_resolves_markouts_with_the_mid_in_force() -> None:
    ledger = Ledger(D(1000))
    ledger.on_command(submit(0), 0)  # before any quote: unknown
    assert ledger.orders["o1"].arrival_mid is None
    ledger.on_event(quote("99", "101", 0), 0)
    ledger.on_command(submit(S // 10), S // 10)
    assert ledger.orders["o1"].arrival_mid == D(100)
    ledger.on_event(filled(S), S)
    ledger.on_event(quote("101", "103", S + S // 2), S + S // 2)  # in force at fill + 1 s
    ledger.on_event(quote("103", "105", 2 * S + S // 10), 2 * S + S // 10)
    (row,) = ledger.fills
    assert (row.mid_at_fill, row.mid_1s_after, row.mid_5s_after) == (D(100), D(102), None)
    ledger.on_event(
        Trade(
            symbol=ETH,
            epoch=1,
            price=D(104),
            qty=D(1),
            taker_side=OrderSide.BUY,
            trade_id="t",
            ts_event_ns=7 * S,
            ts_recv_ns=7 * S,
        ),
        7 * S,
    )
    assert ledger.fills[0].mid_5s_after == D(104)  # a later trade: the last quote was in force
    assert ledger.fills[0].position_after == D(1)
    assert ledger.fills[0].symbol == "ETHUSDT"


def test_the_marks_grid_stays_bounded_and_keeps_the_extremes() -> None:
    ledger = Ledger(D(1000))
    step = S // 20  # 50 ms: two quotes a 100 ms bucket
    count = 3 * MARK_POINTS_MAX
    for k in range(count):
        bid = 100 + (50 if k == count // 2 else 0)
        ledger.on_event(quote(str(bid), str(bid + 2), k * step), k * step)
    marks = ledger.marks_now()
    assert len(marks) <= MARK_POINTS_MAX
    assert ledger.mark_bucket_ns == 200_000_000  # doubled once: 3,000 s / 20,000 > 100 ms
    assert max(m.mid_high for m in marks) == D(151)
    assert min(m.mid_low for m in marks) == D(101)
    assert marks[-1].mid_last == D(101)
    starts = [m.ts_ns for m in marks]
    assert starts == sorted(starts)
    assert all(b - a == ledger.mark_bucket_ns for a, b in pairwise(starts))


@given(
    st.lists(
        st.tuples(st.sampled_from([0, 1, 50, 300, 7_000, 900_000]), st.integers(0, 30)),
        min_size=1,
        max_size=400,
    ),
    st.integers(2, 50),
)
def test_each_mark_is_the_low_high_and_last_mid_of_its_bucket(
    steps: list[tuple[int, int]], cap: int
) -> None:
    """Quotes with gaps of any size (the grid widens under them): every kept bucket holds
    exactly the lowest, highest and last mid of the quotes in it, on the final grid."""
    ledger = Ledger(D(1000))
    ledger_cap = pytest.MonkeyPatch()
    ledger_cap.setattr("research.backtest.result.MARK_POINTS_MAX", cap)
    try:
        t, seen = 0, []
        for gap_ms, tick in steps:
            t += gap_ms * 1_000_000
            bid = D(100) + D(tick) / 10
            ledger.on_event(quote(str(bid), str(bid + 1), t), t)
            seen.append((t, bid + D("0.5")))
        marks = ledger.marks_now()
    finally:
        ledger_cap.undo()
    width, origin = ledger.mark_bucket_ns, seen[0][0]
    assert (seen[-1][0] - origin) // width < cap
    buckets: dict[int, list[Decimal]] = {}
    for ts, mid in seen:
        buckets.setdefault(origin + (ts - origin) // width * width, []).append(mid)
    assert [m.ts_ns for m in marks] == list(buckets)
    for m in marks:
        mids = buckets[m.ts_ns]
        assert (m.mid_low, m.mid_high, m.mid_last) == (min(mids), max(mids), mids[-1])


def test_at_the_end_of_the_data_markouts_due_by_the_last_frame_take_the_mid_in_force() -> None:
    ledger = Ledger(D(1000))
    ledger.on_event(quote("99", "101", 0), 0)
    ledger.on_event(filled(S), S)  # no market message after it
    ledger.data_ended(3 * S)  # the last frame: 2 s after the fill
    (row,) = ledger.fills
    assert (row.mid_1s_after, row.mid_5s_after) == (D(100), None)  # 5 s after: unknown
