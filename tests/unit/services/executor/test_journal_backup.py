"""journal_backup: a consistent copy while another connection commits, checked and put back."""

import sqlite3
import threading
from contextlib import closing
from decimal import Decimal as D
from pathlib import Path

import pytest

from scripts import backup_journal as command
from scripts.run_processes import RunProcess
from services.executor.journal import Journal
from services.executor.journal_backup import BackupError, backup_journal, restore_journal
from services.executor.journal_records import SCHEMA_VERSION, Fill
from shared.schema import ClientOrderId, VenueOrderId
from tests.helpers.samples import make_submit

PAD = "x" * 2000  # a fill's event payload: a few rows per page, so the copy takes many steps


def fill(n: int) -> Fill:
    coid, void = ClientOrderId(f"c{n}"), VenueOrderId(f"v{n}")
    return Fill(f"e{n}", coid, void, D("0.001"), D("64000.1"), D("0.01"), True, n)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


class Writer(threading.Thread):
    """Commits one fill (its fills row and its events row, one transaction) after another
    from its own connection until stopped; `started` is set after `warm_up` commits."""

    def __init__(self, path: Path, warm_up: int) -> None:
        super().__init__(daemon=True)
        self.path, self.warm_up, self.commits = path, warm_up, 0
        self.started, self.stop = threading.Event(), threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            journal = Journal(self.path, synchronous="NORMAL")
            try:
                while not self.stop.is_set():
                    journal.record_fill(fill(self.commits), self.commits, detail={"pad": PAD})
                    self.commits += 1
                    if self.commits == self.warm_up:
                        self.started.set()
            finally:
                journal.close()
        except (sqlite3.Error, OSError) as e:  # handed to the test thread, which fails with it
            self.error = e
        finally:
            self.started.set()  # also when it failed early: the test does not wait in vain


def test_a_copy_taken_while_another_connection_commits_is_whole(tmp_path: Path) -> None:
    source = tmp_path / "executor-journal.sqlite"
    Journal(source, synchronous="NORMAL").close()
    writer = Writer(source, warm_up=500)
    writer.start()
    try:
        assert writer.started.wait(timeout=60)
        before = writer.commits
        copy = backup_journal(source, tmp_path / "backups" / "copy.sqlite", pages_per_step=4)
        after = writer.commits
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert writer.error is None
    fills = {str(e) for (e,) in rows(copy, "SELECT exec_id FROM fills")}
    events = rows(copy, "SELECT json_extract(payload, '$.exec_id'), client_order_id FROM events")
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert rows(copy, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert rows(copy, "PRAGMA journal_mode") == [("delete",)]  # self-contained, no -wal
    assert before <= len(fills) <= after  # one committed state of the writer's
    assert fills == {f"e{n}" for n in range(len(fills))}  # a prefix of the commits ...
    assert sorted(str(e) for e, _ in events) == sorted(fills)  # ... each with its event, whole
    assert [p.name for p in copy.parent.iterdir()] == ["copy.sqlite"]  # no partial left


def test_a_backup_refuses_to_overwrite_and_a_missing_journal_says_so(tmp_path: Path) -> None:
    source = tmp_path / "executor-journal.sqlite"
    Journal(source).close()
    target = backup_journal(source, tmp_path / "copy.sqlite")
    with pytest.raises(BackupError, match="exists already"):
        backup_journal(source, target)
    with pytest.raises(BackupError, match="has the executor run here"):
        backup_journal(tmp_path / "nothing.sqlite", tmp_path / "other.sqlite")


def test_a_file_that_is_not_a_journal_is_not_restored(tmp_path: Path) -> None:
    journal = tmp_path / "executor-journal.sqlite"
    Journal(journal).close()
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="not a readable journal"):
        restore_journal(bogus, journal)
    assert Journal(journal).load().open_orders == []  # untouched


def test_a_copy_of_an_older_version_is_restored_and_a_newer_one_refused(tmp_path: Path) -> None:
    journal = tmp_path / "executor-journal.sqlite"
    Journal(journal).close()
    copies = {}
    for version in (SCHEMA_VERSION - 1, SCHEMA_VERSION + 1):
        copies[version] = tmp_path / f"v{version}.sqlite"
        Journal(copies[version]).close()
        with closing(sqlite3.connect(copies[version])) as db, db:
            db.execute("UPDATE schema_version SET version = ?", (version,))

    with pytest.raises(BackupError, match=f"version {SCHEMA_VERSION + 1}, want"):
        restore_journal(copies[SCHEMA_VERSION + 1], journal)
    restore_journal(copies[SCHEMA_VERSION - 1], journal)  # the executor migrates it at start

    assert rows(journal, "SELECT version FROM schema_version") == [(SCHEMA_VERSION - 1,)]


def test_restore_puts_the_copy_in_place_and_keeps_the_replaced_journal_aside(
    tmp_path: Path,
) -> None:
    journal_file = tmp_path / "executor-journal.sqlite"
    journal = Journal(journal_file)
    journal.record_intent(make_submit(), 1, sent_ns=1)
    copy = backup_journal(journal_file, tmp_path / "copy.sqlite")
    journal.record_fill(fill(1), 2)  # after the copy: only in the replaced journal
    journal.close()
    aside = restore_journal(copy, journal_file)
    restored = Journal(journal_file)
    state = restored.load()
    restored.close()
    assert [o.command for o in state.open_orders] == [make_submit()]
    assert state.exec_ids == ()
    assert aside is not None
    assert rows(aside, "SELECT exec_id FROM fills") == [("e1",)]


def test_the_command_backs_up_to_the_run_dir_and_restores_only_when_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Journal(tmp_path / "executor-journal.sqlite").close()
    assert command.main(["--run-dir", str(tmp_path)]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.parent == tmp_path / "backups"
    assert written.name.startswith("executor-journal-")
    assert written.suffix == ".sqlite"
    running = [RunProcess(4242, "executor")]
    monkeypatch.setattr(command, "find_run_processes", lambda run_dir: running)
    assert command.main(["--run-dir", str(tmp_path), "--restore", str(written)]) == 3
    assert "executor pid 4242" in capsys.readouterr().err
    monkeypatch.setattr(command, "find_run_processes", lambda run_dir: [])
    assert command.main(["--run-dir", str(tmp_path), "--restore", str(written)]) == 0
    assert "the replaced journal is at" in capsys.readouterr().out
    assert command.main(["--run-dir", str(tmp_path / "none")]) == 1
    assert "has the executor run here" in capsys.readouterr().err
