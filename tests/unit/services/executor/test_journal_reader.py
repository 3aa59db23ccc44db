"""Reading the journal read-only from another process's point of view (scripts/status)."""

import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from services.executor.journal import Journal
from services.executor.journal_reader import read_day
from services.executor.journal_records import SCHEMA_VERSION, EventKind, Fill
from shared.journal_read import READABLE_VERSIONS, JournalUnreadable
from shared.schema import ClientOrderId, OrderSide, OrderStatus, VenueOrderId
from tests.helpers.samples import T, make_submit

D = Decimal
DAY = 86_400 * 1_000_000_000


def submit(
    journal: Journal, n: int, side: OrderSide, ts_ns: int, reduce_only: bool = False
) -> None:
    command = msgspec.structs.replace(
        make_submit(), client_order_id=f"mom1-3-{n}", side=side, reduce_only=reduce_only
    )
    journal.record_intent(command, ts_ns, sent_ns=ts_ns)
    journal.record_ack(command.client_order_id, ts_ns + 1, VenueOrderId(f"v{n}"), ts_ns)


def fill(journal: Journal, n: int, exec_id: str, qty: str, price: str, ts_ns: int) -> None:
    coid = ClientOrderId(f"mom1-3-{n}")
    journal.record_fill(
        Fill(exec_id, coid, VenueOrderId(f"v{n}"), D(qty), D(price), D("0.01"), True, ts_ns),
        ts_ns + 1,
        OrderStatus.FILLED,
    )


def test_counts_and_pnl_survive_a_restart_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    first = Journal(path)
    submit(first, 1, OrderSide.BUY, T - DAY)  # yesterday's entry
    fill(first, 1, "e1", "0.002", "100", T - DAY)
    submit(first, 2, OrderSide.SELL, T, reduce_only=True)
    fill(first, 2, "e2", "0.001", "110", T)
    first.close()  # the executor is killed and started again

    second = Journal(path)
    submit(second, 3, OrderSide.SELL, T + 10, reduce_only=True)
    fill(second, 3, "e3", "0.001", "120", T + 10)
    second.record_event(ClientOrderId("mom1-3-3"), EventKind.IN_DOUBT, T + 11)
    summary = read_day(path, T + 20)  # while the writer has it open
    second.close()

    assert (summary.orders_sent, summary.accepted, summary.fills, summary.in_doubt) == (2, 2, 2, 1)
    # 0.001 * (110 - 100) + 0.001 * (120 - 100), less two fees of 0.01
    assert summary.realised_pnl_usdt == D("0.010")


def test_an_external_fill_takes_its_side_from_the_journaled_event(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    submit(journal, 1, OrderSide.BUY, T)
    fill(journal, 1, "e1", "0.002", "100", T)
    stop = Fill(
        "e2", ClientOrderId("venue-9"), VenueOrderId("9"), D("0.002"), D("95"), D(0), False, T + 5
    )
    journal.record_fill(stop, T + 6, detail={"external": "1", "symbol": "BTCUSDT", "side": "Sell"})
    journal.close()

    summary = read_day(path, T)

    assert summary.fills == 2
    assert summary.realised_pnl_usdt == D("-0.01") + D("0.002") * D(-5)


def test_a_fill_row_that_is_no_number_makes_only_the_pnl_unknown(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    submit(journal, 1, OrderSide.BUY, T)
    fill(journal, 1, "e1", "0.002", "100", T)
    journal.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE fills SET price = 'garbage'")
        db.commit()

    summary = read_day(path, T)

    assert summary.fills == 1
    assert summary.realised_pnl_usdt is None
    assert summary.pnl_unknown_reason.startswith("fill e1 is no fill")


def test_the_reader_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    before = path.read_bytes()
    read_day(path, T)
    assert path.read_bytes() == before


def test_a_missing_journal_is_unreadable_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable, match="does not exist"):
        read_day(tmp_path / "nowhere.sqlite", T)
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_another_schema_version_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE schema_version SET version = 99")
        db.commit()
    with pytest.raises(JournalUnreadable, match="version 99"):
        read_day(path, T)


def test_the_shared_reader_reads_the_version_the_executor_writes() -> None:
    assert SCHEMA_VERSION in READABLE_VERSIONS
