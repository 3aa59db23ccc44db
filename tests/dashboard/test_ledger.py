"""The day's ledger: read in batches it says what one replay says, and what scripts/status's
day summary (services/executor/day_summary.py) says."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.journal_pnl import DayLedger, FillRecord, JournalFill, day_bounds, realised_pnl
from shared.schema import OrderSide
from tests.helpers.samples import T

D = Decimal
DAY = 86_400 * 1_000_000_000

_fill = st.tuples(
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.integers(1, 5),  # qty
    st.integers(90, 110),  # price
    st.integers(-DAY // 2, DAY // 2),  # around T (yesterday and today)
    st.booleans(),  # reduce-only
)


def _journaled(rows: list[tuple[OrderSide, int, int, int, bool]]) -> list[JournalFill]:
    return [
        JournalFill(i + 1, f"e{i}", "BTCUSDT", side, D(qty), D(price), D("0.01"), reduce, T + dt)
        for i, (side, qty, price, dt, reduce) in enumerate(rows)
    ]


def _replay_order(fills: list[JournalFill]) -> list[JournalFill]:
    return sorted(fills, key=lambda f: (f.ts_event_ns, f.rowid))


def _read_in_batches(fills: list[JournalFill], cuts: list[int], now_ns: int) -> DayLedger:
    """What the dashboard's reads do: the rows journaled since the last read, each batch in
    replay order; a batch that does not fit means one replay of all rows so far."""
    ledger = DayLedger.new(now_ns, source=1)
    for end in [*sorted(set(cuts)), len(fills)]:
        batch = _replay_order([f for f in fills[:end] if f.rowid > ledger.last_rowid])
        if not ledger.fits(batch):
            ledger = DayLedger.new(now_ns, source=1)
            batch = _replay_order(fills[:end])
        ledger.take(batch)
    return ledger


@given(st.lists(_fill, max_size=25), st.lists(st.integers(0, 25), max_size=5))
def test_reading_in_batches_says_what_one_replay_and_scripts_status_say(
    rows: list[tuple[OrderSide, int, int, int, bool]], cuts: list[int]
) -> None:
    fills, now_ns = _journaled(rows), T + DAY // 2
    _, start, end = day_bounds(now_ns)

    batched = _read_in_batches(fills, cuts, now_ns)
    once = DayLedger.new(now_ns, source=1)
    once.take(_replay_order(fills))
    status = realised_pnl(
        (
            FillRecord(
                f.exec_id, f.symbol, f.side, f.qty, f.price, f.fee, f.reduce_only, f.ts_event_ns
            )
            for f in _replay_order(fills)
        ),
        start,
        end,
    )

    assert (batched.realised, batched.fees) == (once.realised, once.fees)
    assert once.realised == (status if isinstance(status, Decimal) else None)
    today = [f for f in fills if start <= f.ts_event_ns < end]
    assert once.fees == sum((f.fee for f in today), start=D(0))
