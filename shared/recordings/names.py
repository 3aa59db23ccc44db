"""Where recordings live: day directories, file names and parts, and which days expire. Pure."""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

FRAMES: Final = ".frames.gz"  # <SYMBOL>.frames.gz: the venue's public frames
EVENTS: Final = ".events.gz"  # executor.events.gz: the executor's bus messages
EXECUTOR: Final = "executor"
NS_PER_S: Final = 1_000_000_000
NS_PER_DAY: Final = 86_400 * NS_PER_S
_DAY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH: Final = date(1970, 1, 1)
_SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def utc_day(ns: int) -> str:
    """The UTC day of a time in ns since the epoch, as a directory name: "YYYY-MM-DD"."""
    return datetime.fromtimestamp(ns // NS_PER_S, UTC).strftime("%Y-%m-%d")


def day_bounds(day: str) -> tuple[int, int]:
    """The first ns of `day` and the first ns of the next one (UTC)."""
    start = (date.fromisoformat(day) - _EPOCH).days * NS_PER_DAY
    return start, start + NS_PER_DAY


def is_day(name: str) -> bool:
    """True for a directory name that is a real date, "YYYY-MM-DD" (nothing else is ours)."""
    if not _DAY.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def is_safe_name(name: str) -> bool:
    """True for a name that can be a file name here: letters, digits, "_" and "-" (a
    symbol such as ETHUSDT or BTC-26DEC25), never a path or a dot."""
    return bool(_SAFE_NAME.match(name))


def part_name(name: str, suffix: str, part: int) -> str:
    """The file of one part: part 1 is `<name><suffix>`, part n is `<name>.<n><suffix>`."""
    return f"{name}{suffix}" if part == 1 else f"{name}.{part}{suffix}"


def part_number(filename: str, name: str, suffix: str) -> int | None:
    """The part a file name is of `name`, or None if it is another file."""
    if filename == f"{name}{suffix}":
        return 1
    middle = filename.removeprefix(f"{name}.").removesuffix(suffix)
    if filename.startswith(f"{name}.") and filename.endswith(suffix) and middle.isdigit():
        return int(middle) if int(middle) >= 2 else None
    return None


def parts(directory: Path, name: str, suffix: str) -> list[Path]:
    """The files of `name` in one day directory, in part order (empty if there is none)."""
    if not directory.is_dir():
        return []
    found = [
        (number, path)
        for path in directory.iterdir()
        if (number := part_number(path.name, name, suffix)) is not None
    ]
    return [path for _, path in sorted(found)]


def day_dirs(root: Path) -> list[str]:
    """The day directories under `root`, oldest first (other entries are ignored)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and is_day(p.name))


def expired_days(days: Iterable[str], today: str, keep_days: int) -> list[str]:
    """The days to delete when `keep_days` UTC days are kept, today included (0: none).

    keep_days 1 keeps today alone; 7 keeps today and the six days before it.
    """
    if keep_days <= 0:
        return []
    oldest_kept = (date.fromisoformat(today) - timedelta(days=keep_days - 1)).isoformat()
    return sorted(day for day in days if is_day(day) and day < oldest_kept)
