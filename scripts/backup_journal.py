"""scripts/backup-journal: a consistent copy of the executor's journal, while it runs; or,
with --restore, a copy put back in place of a stopped executor's journal.

The copy is SQLite's online backup from a read connection (services/executor/
journal_backup.py): the executor keeps writing meanwhile. Exit codes: 0 done, 1 the copy or
the restore failed, 2 bad settings or arguments, 3 --restore refused (the system runs).
"""

import argparse
import sys
import time
from pathlib import Path

from scripts.run_processes import describe, find_run_processes
from services.executor.journal_backup import BackupError, backup_journal, restore_journal
from services.executor.journal_reader import journal_path
from shared.settings import SettingsError, SystemSettings, load_section, resolve_run_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/backup-journal",
        description=(
            "Copy the executor's order journal (<run dir>/executor-journal.sqlite) while the"
            " system runs: a consistent, checked copy (integrity_check, schema version),"
            " written to a temporary file and renamed. Prints the file written."
        ),
        epilog=(
            "restore: stop the system (scripts/stop), run scripts/backup-journal --restore"
            " FILE (the replaced journal is kept aside as executor-journal.sqlite.replaced-"
            "<time>), start it again: the executor reconciles to the venue and adopts the"
            " orders the copy lacks. In paper mode scripts/run starts every run on a fresh"
            " journal (a new simulator account), so a restore matters for testnet/live."
            " The run directory comes from --run-dir, else TRADING_RUN_DIR, else [system]"
            " run-dir of the settings. exit codes: 0 done, 1 failed, 2 bad settings,"
            " 3 --restore refused while the system runs."
        ),
    )
    parser.add_argument("--run-dir", type=Path, help="the run directory (default: see below)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--to",
        type=Path,
        metavar="FILE",
        help="write the copy here (default <run dir>/backups/executor-journal-<UTC time>.sqlite)",
    )
    action.add_argument(
        "--restore",
        type=Path,
        metavar="FILE",
        help="put this copy in place of the journal; refused while the system runs",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        run_dir = args.run_dir or resolve_run_dir(load_section("system", SystemSettings))
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    journal = journal_path(run_dir)
    try:
        if args.restore is not None:
            return _restore(args.restore, journal, run_dir)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = args.to or run_dir / "backups" / f"executor-journal-{stamp}.sqlite"
        written = backup_journal(journal, target)
    except (BackupError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(written)
    return 0


def _restore(copy: Path, journal: Path, run_dir: Path) -> int:
    running = find_run_processes(run_dir)
    if running:
        print(
            f"error: refusing to restore while the system runs in {run_dir}:"
            f" {describe(running)}; stop it first (scripts/stop)",
            file=sys.stderr,
        )
        return 3
    aside = restore_journal(copy, journal)
    print(f"restored {copy} to {journal}")
    if aside is not None:
        print(f"the replaced journal is at {aside}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
