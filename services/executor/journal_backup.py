"""A consistent copy of the order journal while the executor writes it, and putting one back.

`backup_journal` uses SQLite's online backup from a separate read connection, which first
opens a read transaction: in WAL mode that is a snapshot of the last commit, and a reader
never blocks the writer (the executor keeps committing; only a checkpoint waits to move past
the snapshot). The copy goes `PAGES_PER_STEP` pages at a time, all from that one snapshot,
so commits meanwhile neither restart it nor get half into it: every transaction's rows are
in the copy or none are. The copy is written to a temporary
file beside the target, checked (`PRAGMA integrity_check`, the `schema_version` the executor
wants), fsynced and only then renamed to its name: a file with the target's name is always
a whole, checked copy.

`restore_journal` puts a copy in place of a stopped executor's journal (the caller checks
that nothing runs); the replaced journal and its -wal/-shm are moved aside, never deleted.
At start the executor restores from the copy and reconciliation to the venue does the rest:
orders still open there that the copy lacks are adopted (with an alert), the fills of orders
open in the copy are applied once each, and fills the copy lacks of orders closed since are
reported as `missed_fill` alerts; positions come from the venue.
"""

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Final

from services.executor.journal_records import MIGRATIONS, SCHEMA_VERSION

PAGES_PER_STEP: Final = 256  # 1 MiB at SQLite's default 4 KiB page size
_SIDE_FILES: Final = ("-wal", "-shm")


class BackupError(Exception):
    """The journal could not be copied, or the copy failed its checks."""


def backup_journal(source: Path, target: Path, pages_per_step: int = PAGES_PER_STEP) -> Path:
    """Copy the journal at `source` to `target` (atomically renamed there); return `target`."""
    if not source.exists():
        raise BackupError(f"{source} does not exist (has the executor run here?)")
    if target.exists():
        raise BackupError(f"{target} exists already; not overwriting it")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial, pages_per_step)
        verify_copy(partial)
        _fsync(partial)
        partial.rename(target)
        _fsync(target.parent)
    except sqlite3.Error as e:
        raise BackupError(f"copying {source}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return target


def verify_copy(path: Path) -> None:
    """Raise BackupError unless `path` is an intact journal of this schema version, or of an
    older one the executor migrates when it opens it."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path}: integrity_check says {'; '.join(problems[:5])}")
            row = db.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.Error as e:
        raise BackupError(f"{path} is not a readable journal: {e}") from e
    if row is None or (row[0] != SCHEMA_VERSION and row[0] not in MIGRATIONS):
        found = "no version" if row is None else f"version {row[0]}"
        raise BackupError(f"{path}: {found}, want {SCHEMA_VERSION} (or one that migrates to it)")


def restore_journal(copy: Path, journal: Path) -> Path | None:
    """Put a checked `copy` in place of `journal` (the executor must be stopped); return where
    the replaced journal was moved (None if there was none)."""
    verify_copy(copy)
    aside = None
    if journal.exists():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = journal.with_name(f"{journal.name}.replaced-{stamp}")
        for suffix in ("", *_SIDE_FILES):
            part = journal.with_name(journal.name + suffix)
            if part.exists():
                part.rename(aside.with_name(aside.name + suffix))
    for suffix in _SIDE_FILES:  # a -wal without its journal would be applied to the copy
        journal.with_name(journal.name + suffix).unlink(missing_ok=True)
    partial = journal.with_name(f".{journal.name}.restoring-{os.getpid()}")
    try:
        partial.write_bytes(copy.read_bytes())
        _fsync(partial)
        partial.rename(journal)
        _fsync(journal.parent)
    finally:
        partial.unlink(missing_ok=True)
    return aside


def _copy(source: Path, target: Path, pages_per_step: int) -> None:
    uri = f"{source.resolve().as_uri()}?mode=ro"
    src = sqlite3.connect(uri, uri=True, isolation_level=None)
    with closing(src), closing(sqlite3.connect(target)) as dst:
        src.execute("BEGIN")  # a read transaction: one snapshot for every step of the copy
        src.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        src.backup(dst, pages=pages_per_step)
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
