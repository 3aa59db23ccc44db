"""The journal's day summary: counts and realised PnL of one UTC day, pure."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.executor.day_summary import EventRecord, JournalRecords, summarise
from shared.journal_pnl import FillRecord, day_bounds, realised_pnl
from shared.schema import OrderSide

D = Decimal
DAY = 86_400 * 1_000_000_000
NOON = 1_765_022_400 * 1_000_000_000  # 2025-12-06 12:00 UTC
_, START, END = day_bounds(NOON)


def fill(
    exec_id: str,
    side: OrderSide | None,
    qty: str,
    price: str,
    *,
    ts_ns: int = NOON,
    fee: str = "0",
    reduce_only: bool = False,
) -> FillRecord:
    return FillRecord(exec_id, "BTCUSDT", side, D(qty), D(price), D(fee), reduce_only, ts_ns)


def test_day_bounds_are_the_utc_calendar_day() -> None:
    assert day_bounds(NOON) == ("2025-12-06", NOON - DAY // 2, NOON + DAY // 2)
    assert day_bounds(START)[1] == START
    assert day_bounds(END)[0] == "2025-12-07"


def test_counts_only_today() -> None:
    yesterday = NOON - DAY
    records = JournalRecords(
        intent_ts_ns=(yesterday, NOON, NOON + 1),
        events=(
            EventRecord("ack", None, yesterday),
            EventRecord("ack", None, NOON),
            EventRecord("status", "Rejected", NOON),
            EventRecord("status", "Canceled", NOON),
            EventRecord("in_doubt", "InDoubt", NOON),
        ),
        fills=(
            fill("a", OrderSide.BUY, "1", "100", ts_ns=yesterday),
            fill("b", OrderSide.SELL, "1", "110", fee="0.5"),
            fill("c", OrderSide.BUY, "1", "105"),
        ),
    )

    summary = summarise(records, NOON)

    assert (summary.orders_sent, summary.accepted, summary.rejected) == (2, 1, 1)
    assert (summary.in_doubt, summary.fills) == (1, 2)
    assert summary.realised_pnl_usdt == D("9.5")  # yesterday's entry at 100, today's exit
    assert summary.day == "2025-12-06"


def test_pnl_is_unknown_without_the_side_of_a_fill() -> None:
    result = realised_pnl([fill("x", None, "1", "100")], START, END)
    assert result == "the journal does not hold the side of fill x"


def test_pnl_is_unknown_for_a_reduce_only_fill_without_its_position() -> None:
    result = realised_pnl([fill("x", OrderSide.SELL, "1", "100", reduce_only=True)], START, END)
    assert isinstance(result, str)
    assert "opened before the journal began" in result


def test_pnl_is_unknown_for_a_row_that_is_no_fill() -> None:
    for qty, price in (("0", "100"), ("1", "NaN"), ("1", "-1"), ("Infinity", "1")):
        result = realised_pnl([fill("x", OrderSide.BUY, qty, price)], START, END)
        assert isinstance(result, str)
        assert result.startswith("fill x is no fill")


def test_tomorrows_fills_do_not_count() -> None:
    fills = [fill("a", OrderSide.BUY, "1", "100"), fill("b", OrderSide.SELL, "1", "120", ts_ns=END)]
    assert realised_pnl(fills, START, END) == 0


_fills = st.lists(
    st.tuples(
        st.booleans(),
        st.decimals(min_value=D("0.001"), max_value=D("2"), places=3),
        st.decimals(min_value=D("10"), max_value=D("1000"), places=1),
        st.decimals(min_value=D("-0.01"), max_value=D("0.5"), places=4),
        st.integers(min_value=START - DAY, max_value=END + DAY),
    ),
    max_size=40,
).map(
    lambda rows: [
        fill(
            str(i), OrderSide.BUY if buy else OrderSide.SELL, str(q), str(p), ts_ns=ts, fee=str(fee)
        )
        for i, (buy, q, p, fee, ts) in enumerate(sorted(rows, key=lambda r: r[4]))
    ]
)


@given(_fills)
def test_days_add_up_to_the_whole(fills: list[FillRecord]) -> None:
    """Yesterday's, today's and tomorrow's realised PnL sum to all of it: no fill is lost
    or counted twice at a day's edge (up to Decimal's 28 digits of an average price)."""
    days = [realised_pnl(fills, s, s + DAY) for s in (START - DAY, START, END)]
    whole = realised_pnl(fills, START - DAY, END + DAY)
    known = [d for d in days if isinstance(d, Decimal)]
    assert len(known) == 3
    assert isinstance(whole, Decimal)
    assert abs(sum(known, D(0)) - whole) < D("1e-20")


@given(_fills)
def test_fees_are_subtracted_once_each(fills: list[FillRecord]) -> None:
    """Each fee of the day lowers the realised PnL by itself (up to Decimal's 28 digits of
    an average price: the two sums round at different places)."""
    free = [
        FillRecord(f.exec_id, f.symbol, f.side, f.qty, f.price, D(0), False, f.ts_event_ns)
        for f in fills
    ]
    with_fees, without = realised_pnl(fills, START, END), realised_pnl(free, START, END)
    assert isinstance(with_fees, Decimal)
    assert isinstance(without, Decimal)
    fees = sum((f.fee for f in fills if START <= f.ts_event_ns < END), D(0))
    assert abs(without - with_fees - fees) < D("1e-20")
