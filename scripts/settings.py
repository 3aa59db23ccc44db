"""scripts/settings: the settings file's version, and --migrate to rewrite an older one.

Reading an older file works without this (it is migrated in memory at every start, and
scripts/run says so); --migrate writes the current version to the file, keeping its
comments, after a backup of the original next to it. See
docs/decisions/0002-settings-versions.md.
"""

import argparse
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from shared.settings import SettingsError, read_settings, settings_path
from shared.settings_versions import VERSION_KEY, Migrated, VersionError, migrate, rewrite_text


def main(argv: list[str]) -> int:
    args = _parse(argv)
    path: Path = args.file or settings_path()
    try:
        migrated = read_settings(path)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if migrated.version == migrated.current:
        print(f"settings: {path} is version {migrated.version}, the current one: nothing to do")
        return 0
    changes = "; ".join(migrated.changes) or "nothing in this file changes"
    if not args.migrate:
        print(
            f"settings: {path} is version {migrated.version}, read as version"
            f" {migrated.current}: {changes} (scripts/settings --migrate {path} rewrites it)"
        )
        return 0
    try:
        backup = migrate_file(path, migrated)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"settings: {path} rewritten as version {migrated.current}: {changes}; the version"
        f" {migrated.version} file is kept as {backup}"
    )
    return 0


def migrate_file(path: Path, migrated: Migrated) -> Path:
    """Rewrite `path` as the current version, comments kept; return the backup's path.

    The line-based rewrite must parse to what the loader reads from the original, else
    nothing is written (SettingsError with the changes to make by hand).
    """
    try:
        text = rewrite_text(path.read_text())
        again = migrate(tomllib.loads(text))
    except (VersionError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"{path}: {e}") from None
    if again.version != again.current or again.document != migrated.document:
        raise SettingsError(
            f"{path}: cannot rewrite it line by line (a key written quoted, dotted or in an"
            f" inline table?); nothing was written. Change by hand: "
            f"{'; '.join(migrated.changes) or 'nothing'}; then write {VERSION_KEY} ="
            f" {migrated.current} before the first section"
        )
    backup = _free_name(path.with_name(f"{path.name}.v{migrated.version}.bak"))
    shutil.copy2(path, backup)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as out:
        out.write(text)
    try:
        shutil.copymode(path, out.name)
        os.replace(out.name, path)  # all or nothing: never a half-written settings file
    except OSError:
        os.unlink(out.name)
        raise
    return backup


def _free_name(path: Path) -> Path:
    """`path`, or `path.1`, `path.2` ...: an earlier backup is never overwritten."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/settings",
        description=(
            "Show the settings file's version and what reading it as the current version"
            " changes; with --migrate, rewrite it as the current version."
        ),
        epilog=(
            f"A file states its version with {VERSION_KEY} = N before its first section; a"
            " file without it is version 1. An older file is read as the current version at"
            " every start (scripts/run names each change); a newer one is refused. --migrate"
            " keeps the comments and copies the original to FILE.vN.bak first. Exit codes:"
            " 0 done (or nothing to do), 2 the file cannot be read or rewritten (the message"
            " says what to change)."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="the settings file (default: $TRADING_SETTINGS, else deploy/settings.toml)",
    )
    parser.add_argument(
        "--migrate", action="store_true", help="rewrite the file as the current version"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
