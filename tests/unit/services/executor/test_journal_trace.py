"""The journal keeps each intent's trace id (issue 14): stored, found, read back, migrated."""

import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from services.executor.journal import Journal
from services.executor.journal_reader import read_day, read_stories
from services.executor.journal_records import SCHEMA_VERSION, EventKind, Fill
from shared.schema import ClientOrderId, OrderStatus, VenueOrderId
from tests.helpers.samples import COID, T, make_submit

D = Decimal
VOID = VenueOrderId("1321003749386327552")
TRACE = "mj4k2x9a-1842"

# The journal's tables as version 1 wrote them (before intents.trace_id).
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE intents (
    client_order_id TEXT PRIMARY KEY, strategy_id TEXT NOT NULL, symbol TEXT NOT NULL,
    command TEXT NOT NULL, ts_recorded_ns INTEGER NOT NULL, status TEXT NOT NULL,
    venue_order_id TEXT, ts_request_sent_ns INTEGER NOT NULL DEFAULT 0,
    ts_ack_ns INTEGER NOT NULL DEFAULT 0);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT, venue_order_id TEXT, payload TEXT NOT NULL, ts_ns INTEGER NOT NULL);
CREATE TABLE fills (
    exec_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, venue_order_id TEXT NOT NULL,
    qty TEXT NOT NULL, price TEXT NOT NULL, fee TEXT NOT NULL, is_maker INTEGER NOT NULL,
    ts_event_ns INTEGER NOT NULL, ts_recorded_ns INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


def v1_journal(path: Path, commands: list[str]) -> None:
    """A version 1 journal holding one submitted intent per command JSON."""
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(V1_SCHEMA)
        for n, command in enumerate(commands):
            db.execute(
                "INSERT INTO intents (client_order_id, strategy_id, symbol, command,"
                " ts_recorded_ns, status) VALUES (?, 'mom1', 'BTCUSDT', ?, ?, 'Submitted')",
                (f"mom1-3-{n}", command, T + n),
            )


def command_json(n: int, trace_id: str = "") -> str:
    command = msgspec.structs.replace(
        make_submit(trace_id=trace_id), client_order_id=ClientOrderId(f"mom1-3-{n}")
    )
    data = msgspec.to_builtins(command)
    if not trace_id:
        del data["trace_id"]  # as a version 1 executor wrote it: no such field yet
    return msgspec.json.encode(data).decode()


def test_an_intent_keeps_its_commands_trace_id_through_find_and_load(path: Path) -> None:
    journal = Journal(path)
    journal.record_intent(make_submit(trace_id=TRACE), T, sent_ns=T)

    found, loaded = journal.find(COID), journal.load().open_orders
    journal.close()

    assert found is not None
    assert found.trace_id == TRACE
    assert found.command.trace_id == TRACE
    assert [order.trace_id for order in loaded] == [TRACE]


def test_find_traced_returns_every_order_of_the_frame_and_none_for_no_trace(path: Path) -> None:
    journal = Journal(path)
    for n, trace_id in enumerate([TRACE, "other-1", TRACE, ""]):
        command = msgspec.structs.replace(
            make_submit(trace_id=trace_id), client_order_id=ClientOrderId(f"mom1-3-{n}")
        )
        journal.record_intent(command, T + n)

    traced, untraced = journal.find_traced(TRACE), journal.find_traced("")
    journal.close()

    assert [order.command.client_order_id for order in traced] == ["mom1-3-0", "mom1-3-2"]
    assert untraced == []


def test_a_version_1_journal_opens_migrated_with_its_orders(path: Path) -> None:
    v1_journal(path, [command_json(0), command_json(1, trace_id=TRACE)])

    journal = Journal(path)
    old, traced = journal.find(ClientOrderId("mom1-3-0")), journal.find(ClientOrderId("mom1-3-1"))
    journal.record_intent(make_submit(trace_id="new-1"), T + 5)
    new = journal.find(COID)
    journal.close()

    with closing(sqlite3.connect(path)) as db:
        version = db.execute("SELECT version FROM schema_version").fetchall()
    assert version == [(SCHEMA_VERSION,)] == [(2,)]
    assert old is not None
    assert (old.trace_id, old.status) == ("", OrderStatus.SUBMITTED)
    assert traced is not None
    assert traced.trace_id == TRACE  # taken from the command at the migration
    assert new is not None
    assert new.trace_id == "new-1"


def test_a_migrated_journal_opens_again_unchanged(path: Path) -> None:
    v1_journal(path, [command_json(0, trace_id=TRACE)])
    Journal(path).close()

    journal = Journal(path)
    order = journal.find(ClientOrderId("mom1-3-0"))
    journal.close()

    assert order is not None
    assert order.trace_id == TRACE


def test_the_reader_reads_a_version_1_journal_without_migrating_it(path: Path) -> None:
    v1_journal(path, [command_json(0, trace_id=TRACE)])

    stories = read_stories(path, TRACE)
    summary = read_day(path, T)

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    assert [s.command.client_order_id for s in stories] == ["mom1-3-0"]
    assert summary is not None


def test_the_reader_finds_an_order_by_its_client_venue_or_trace_id(path: Path) -> None:
    journal = Journal(path)
    journal.record_intent(make_submit(trace_id=TRACE), T, sent_ns=T + 10)
    journal.record_ack(COID, T + 30, VOID, T + 10)
    fill = Fill("e1", COID, VOID, D("0.002"), D("64000.1"), D("0.01"), True, T + 40)
    journal.record_fill(fill, T + 50, OrderStatus.FILLED)
    journal.close()

    by_coid, by_venue, by_trace = (read_stories(path, i) for i in (COID, VOID, TRACE))

    assert by_coid == by_venue == by_trace
    (story,) = by_trace
    assert (story.trace_id, story.venue_order_id, story.status) == (TRACE, VOID, "Filled")
    assert (story.ts_recorded_ns, story.ts_request_sent_ns, story.ts_ack_ns) == (T, T + 10, T + 30)
    assert [(e.kind, e.ts_ns) for e in story.events] == [(EventKind.ACK, T + 30), ("fill", T + 50)]
    assert [(f.exec_id, f.qty, f.ts_recorded_ns) for f in story.fills] == [("e1", "0.002", T + 50)]
    assert read_stories(path, "nothing-1") == []
    assert read_stories(path, "") == []
