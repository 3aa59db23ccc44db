"""The order journal on a tmp_path database, including a SIGKILL right after an intent."""

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

import shared.settings
from services.executor.journal import Journal, JournalVersionError
from services.executor.journal_records import EventKind, Fill
from services.executor.settings import ExecutorSettings
from shared.schema import ClientOrderId, OrderStatus, TradingState, VenueOrderId
from tests.helpers.samples import COID, T, make_submit

REPO_ROOT = Path(shared.settings.REPO_ROOT)
VOID = VenueOrderId("1321003749386327552")
D = Decimal


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    opened = Journal(path)
    yield opened
    opened.close()


def fill(exec_id: str, qty: str = "0.001") -> Fill:
    return Fill(exec_id, COID, VOID, D(qty), D("64000.1"), D("0.0128"), True, T + 5)


def count(path: Path, sql: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute(sql).fetchone()[0])


def test_database_is_in_wal_mode_with_normal_sync_by_default(journal: Journal, path: Path) -> None:
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_full_sync_stays_a_setting(tmp_path: Path) -> None:
    full = Journal(tmp_path / "full.sqlite", synchronous="FULL")
    assert full._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    full.close()
    assert ExecutorSettings(metrics_port=0).journal_synchronous == "NORMAL"
    assert (
        ExecutorSettings(metrics_port=0, journal_synchronous="FULL").journal_synchronous == "FULL"
    )


def test_intent_is_open_until_a_terminal_status(journal: Journal) -> None:
    assert journal.record_intent(make_submit(), ts_ns=T)
    assert journal.open_intents() == [make_submit()]

    journal.record_event(COID, EventKind.STATUS, T + 1, status=OrderStatus.CANCELED)

    assert journal.open_intents() == []
    found = journal.find(COID)
    assert found is not None
    assert found.status is OrderStatus.CANCELED


def test_same_intent_is_written_once(journal: Journal, path: Path) -> None:
    assert journal.record_intent(make_submit(), ts_ns=T)
    assert not journal.record_intent(make_submit(), ts_ns=T + 1)
    assert count(path, "SELECT count(*) FROM intents") == 1


def test_fill_exec_id_is_stored_once(journal: Journal, path: Path) -> None:
    journal.record_intent(make_submit(), ts_ns=T)

    first = journal.record_fill(fill("e1"), T + 10, status=OrderStatus.PARTIALLY_FILLED)
    again = journal.record_fill(fill("e1"), T + 11, status=OrderStatus.PARTIALLY_FILLED)

    assert (first, again) == (True, False)
    assert count(path, "SELECT count(*) FROM fills") == 1
    assert count(path, "SELECT count(*) FROM events WHERE kind = 'fill'") == 1


def test_load_rebuilds_the_order_after_a_restart(path: Path) -> None:
    # Arrange: a full life up to a partial fill, then the journal is closed
    with_intent = Journal(path)
    with_intent.record_intent(make_submit(), ts_ns=T)
    with_intent.record_event(COID, EventKind.SENT, T + 1, status=OrderStatus.SUBMITTED)
    with_intent.record_event(COID, EventKind.ACK, T + 2, venue_order_id=VOID)
    with_intent.record_event(COID, EventKind.STATUS, T + 3, status=OrderStatus.ACCEPTED)
    with_intent.record_fill(fill("e1"), T + 4, status=OrderStatus.PARTIALLY_FILLED)
    with_intent.record_trading_state(TradingState.HALTED, "daily loss limit", T + 5)
    with_intent.close()

    # Act
    reopened = Journal(path)
    state = reopened.load()
    reopened.close()

    # Assert
    (order,) = state.open_orders
    assert (order.status, order.venue_order_id, order.ts_request_sent_ns, order.ts_ack_ns) == (
        OrderStatus.PARTIALLY_FILLED,
        VOID,
        T + 1,
        T + 2,
    )
    assert order.fills == (fill("e1"),)
    assert state.exec_ids == ("e1",)
    assert (state.trading_state, state.trading_state_reason) == (
        TradingState.HALTED,
        "daily loss limit",
    )
    record, impossible = order.to_record()
    assert impossible == []
    assert (record.status, record.cum_filled_qty, record.seen_exec_ids) == (
        OrderStatus.PARTIALLY_FILLED,
        D("0.001"),
        {"e1"},
    )


def test_an_ack_with_the_real_send_time_replaces_the_mark_written_before_the_send(
    path: Path,
) -> None:
    journal = Journal(path)
    journal.record_intent(make_submit(), ts_ns=T, sent_ns=T)
    journal.record_ack(COID, T + 9, VOID, sent_ns=T + 4)
    journal.record_event(COID, EventKind.STATUS, T + 10, status=OrderStatus.ACCEPTED)
    journal.close()

    reopened = Journal(path)
    (order,) = reopened.load().open_orders
    reopened.close()

    assert (order.ts_request_sent_ns, order.ts_ack_ns) == (T + 4, T + 9)


def test_load_applies_the_last_amend_to_the_intent(path: Path) -> None:
    journal = Journal(path)
    journal.record_intent(make_submit(), ts_ns=T, sent_ns=T)
    journal.record_event(COID, EventKind.ACK, T + 1, venue_order_id=VOID)
    for n, (qty, price) in enumerate((("0.003", "64000"), ("0.004", "63990.5"))):
        payload = {"qty": qty, "limit_price": price}
        journal.record_event(COID, EventKind.AMEND, T + 2 + n, payload=payload)
    journal.close()

    reopened = Journal(path)
    (order,) = reopened.load().open_orders
    reopened.close()

    assert (order.command.qty, order.command.limit_price) == (D("0.004"), D("63990.5"))
    record, _ = order.to_record()
    assert (record.qty, record.limit_price) == (D("0.004"), D("63990.5"))


def test_first_intent_time_is_none_until_an_intent(journal: Journal) -> None:
    assert journal.first_intent_ns() is None
    journal.record_intent(make_submit(), ts_ns=T + 5)
    journal.record_intent(msgspec.structs.replace(make_submit(), client_order_id=COID + "x"), T + 9)
    assert journal.first_intent_ns() == T + 5


def test_events_are_appended_with_their_payload(journal: Journal, path: Path) -> None:
    journal.record_intent(make_submit(), ts_ns=T)
    journal.record_event(COID, EventKind.IN_DOUBT, T + 1, status=OrderStatus.IN_DOUBT)
    journal.record_event(
        COID, EventKind.RESEND, T + 2, status=OrderStatus.SUBMITTED, payload={"qty": D("0.002")}
    )

    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT kind, status, payload FROM events ORDER BY id").fetchall()

    assert rows == [
        ("in_doubt", "InDoubt", "{}"),
        ("resend", "Submitted", '{"qty":"0.002"}'),
    ]
    found = journal.find(COID)
    assert found is not None
    assert found.ts_request_sent_ns == T + 2


def test_events_for_orders_without_an_intent_are_kept(journal: Journal, path: Path) -> None:
    adopted = ClientOrderId("external-order")
    journal.record_event(adopted, EventKind.CORRECTION, T, status=OrderStatus.ACCEPTED)
    assert count(path, "SELECT count(*) FROM events") == 1
    assert journal.find(adopted) is None


def test_a_journal_of_another_version_is_refused(path: Path) -> None:
    Journal(path).close()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(JournalVersionError, match="version 99"):
        Journal(path)


def test_intent_survives_sigkill_right_after_record_intent_returns(path: Path) -> None:
    # Arrange: a child journals one intent, says so, and blocks
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.journal_writer", str(path)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "recorded"

        # Act: kill -9, no chance to checkpoint or close
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()

    # Assert: the intent was in the write-ahead log, and reopening recovers it
    assert path.with_name(path.name + "-wal").stat().st_size > 0
    reopened = Journal(path)
    try:
        assert reopened.open_intents() == [make_submit()]
        assert msgspec.json.encode(reopened.open_intents()[0]) == msgspec.json.encode(make_submit())
    finally:
        reopened.close()
