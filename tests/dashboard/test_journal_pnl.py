"""Today's realised PnL and fees from the executor's journal, as scripts/status computes them.

The journal is written with the executor's own Journal; the figure is compared with
services/executor/journal_reader.read_day (scripts/status's "pnl realised today").
"""

from decimal import Decimal
from pathlib import Path

import msgspec

from services.dashboard.journal import JournalPnl
from services.dashboard.money import fold_day_pnl
from services.dashboard.view import Header, View
from services.executor.journal import Journal
from services.executor.journal_reader import read_day
from services.executor.journal_records import Fill
from shared.journal_read import JOURNAL_FILE as JOURNAL
from shared.schema import ClientOrderId, OrderSide, VenueOrderId
from tests.helpers.samples import T, make_submit

D = Decimal
DAY = 86_400 * 1_000_000_000
HEADER = Header(mode="paper", run_dir="/run", controls_enabled=False, daily_loss_limit_usdt=None)


class Book:
    """Orders and fills journaled as the executor does (one order per fill)."""

    def __init__(self, run_dir: Path) -> None:
        self.journal = Journal(run_dir / JOURNAL)
        self.n = 0

    def fill(self, side: OrderSide, qty: str, price: str, ts_ns: int, fee: str = "0.01") -> None:
        self.n += 1
        coid = ClientOrderId(f"mom1-3-{self.n}")
        command = msgspec.structs.replace(make_submit(), client_order_id=coid, side=side)
        self.journal.record_intent(command, ts_ns, sent_ns=ts_ns)
        self.journal.record_ack(coid, ts_ns + 1, VenueOrderId(f"v{self.n}"), ts_ns)
        fill = Fill(
            f"e{self.n}", coid, VenueOrderId(f"v{self.n}"), D(qty), D(price), D(fee), True, ts_ns
        )
        self.journal.record_fill(fill, ts_ns + 2)


def _status_figure(run_dir: Path, now_ns: int) -> Decimal | None:
    return read_day(run_dir / JOURNAL, now_ns).realised_pnl_usdt


def test_the_days_realised_pnl_accumulates_over_positions_that_close(tmp_path: Path) -> None:
    # Arrange: two round trips, each closing its position at a loss (the venue's
    # curRealisedPnl, a PositionChanged's realised_pnl, is back to 0 after each)
    book = Book(tmp_path)
    book.fill(OrderSide.BUY, "1", "100", T)
    book.fill(OrderSide.SELL, "1", "60", T + 1_000)  # -40
    book.fill(OrderSide.SELL, "2", "50", T + 2_000)
    book.fill(OrderSide.BUY, "2", "55", T + 3_000)  # -10
    view = View(HEADER)

    # Act
    fold_day_pnl(view, JournalPnl(tmp_path).read(T + 10_000))

    # Assert: -50 less four fees of 0.01, as scripts/status says
    money = view.state["money"]
    assert money["realised_pnl"][-1] == [T + 3_000, "-50.04"]
    assert D(money["realised_pnl"][-1][1]) == _status_figure(tmp_path, T + 10_000)
    assert money["fees_usdt"] == "0.04"
    assert money["pnl_unknown_reason"] == ""
    book.journal.close()


def test_a_restarted_dashboard_reads_the_same_figure_and_the_days_series(tmp_path: Path) -> None:
    book = Book(tmp_path)
    book.fill(OrderSide.BUY, "1", "100", T)
    book.fill(OrderSide.SELL, "1", "90", T + 1_000)
    first = View(HEADER)
    fold_day_pnl(first, JournalPnl(tmp_path).read(T + 5_000))

    again = View(HEADER)  # a new dashboard process: nothing but the journal
    fold_day_pnl(again, JournalPnl(tmp_path).read(T + 6_000))

    assert again.state["money"]["realised_pnl"] == first.state["money"]["realised_pnl"]
    assert again.state["money"]["realised_pnl"] == [[T, "-0.01"], [T + 1_000, "-10.02"]]
    assert again.state["money"]["fees_usdt"] == "0.02"
    book.journal.close()


def test_fills_read_as_they_come_give_what_one_replay_gives(tmp_path: Path) -> None:
    # Arrange: a dashboard reading after each fill, one of them journaled late (older
    # than one read before: replayed in time order, as scripts/status does)
    book, pnl, view = Book(tmp_path), JournalPnl(tmp_path), View(HEADER)
    now = T + 60_000
    steps = [
        (OrderSide.BUY, "1", "100", T),
        (OrderSide.BUY, "1", "110", T + 2_000),
        (OrderSide.SELL, "1", "120", T + 1_000),  # late: before the second buy
        (OrderSide.SELL, "1", "90", T + 3_000),
    ]

    # Act
    for side, qty, price, ts_ns in steps:
        book.fill(side, qty, price, ts_ns)
        fold_day_pnl(view, pnl.read(now))

    # Assert
    series = view.state["money"]["realised_pnl"]
    assert D(series[-1][1]) == _status_figure(tmp_path, now)
    assert [p[0] for p in series] == sorted(p[0] for p in series)
    fresh = View(HEADER)
    fold_day_pnl(fresh, JournalPnl(tmp_path).read(now))
    assert fresh.state["money"] == view.state["money"]
    book.journal.close()


def test_yesterdays_fills_open_positions_but_count_neither_for_pnl_nor_fees(
    tmp_path: Path,
) -> None:
    book = Book(tmp_path)
    book.fill(OrderSide.BUY, "2", "100", T - DAY, fee="5")  # yesterday's entry
    book.fill(OrderSide.SELL, "1", "103", T, fee="0.5")
    view = View(HEADER)

    fold_day_pnl(view, JournalPnl(tmp_path).read(T + 1_000))

    money = view.state["money"]
    assert money["realised_pnl"][-1][1] == "2.5"  # 3 realised today less today's fee
    assert D("2.5") == _status_figure(tmp_path, T + 1_000)
    assert money["fees_usdt"] == "0.5"
    book.journal.close()


def test_a_new_day_starts_from_zero(tmp_path: Path) -> None:
    book, pnl, view = Book(tmp_path), JournalPnl(tmp_path), View(HEADER)
    book.fill(OrderSide.BUY, "1", "100", T)
    book.fill(OrderSide.SELL, "1", "90", T + 1_000)
    fold_day_pnl(view, pnl.read(T + 2_000))

    fold_day_pnl(view, pnl.read(T + DAY))

    money = view.state["money"]
    assert money["realised_pnl"] == [[T + DAY, "0"]]
    assert money["fees_usdt"] == "0"
    assert money["pnl_day"] == read_day(tmp_path / JOURNAL, T + DAY).day
    book.journal.close()


def test_an_unreadable_journal_makes_pnl_and_fees_unknown_never_zero(tmp_path: Path) -> None:
    view = View(HEADER)

    fold_day_pnl(view, JournalPnl(tmp_path).read(T))

    money = view.state["money"]
    assert money["fees_usdt"] is None
    assert money["realised_pnl"] == [[T, None]]
    assert "does not exist" in money["pnl_unknown_reason"]


def test_a_fill_the_journal_cannot_explain_makes_the_figure_unknown_with_the_reason(
    tmp_path: Path,
) -> None:
    book = Book(tmp_path)
    book.fill(OrderSide.BUY, "1", "100", T)
    external = Fill(
        "x1", ClientOrderId("venue-9"), VenueOrderId("9"), D(1), D(90), D(0), False, T + 5
    )
    book.journal.record_fill(external, T + 6, detail={"external": "1"})  # no side said
    view = View(HEADER)

    fold_day_pnl(view, JournalPnl(tmp_path).read(T + 10))

    money = view.state["money"]
    assert money["realised_pnl"][-1] == [T + 5, None]
    assert "side of fill x1" in money["pnl_unknown_reason"]
    assert _status_figure(tmp_path, T + 10) is None  # scripts/status says unknown too
    book.journal.close()
