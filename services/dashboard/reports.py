"""Backtest and sweep reports on disk: listed and read, never outside the reports directory."""

import json
from pathlib import Path, PurePosixPath
from typing import Any, Final

SUFFIXES: Final = {".html": "text/html", ".json": "application/json"}
MAX_LISTED: Final = 500
MAX_BYTES: Final = 50_000_000


def list_reports(root: Path) -> list[dict[str, Any]]:
    """The reports under `root` (.html, .json), newest first; [] when it does not exist."""
    if not root.is_dir():
        return []
    base = root.resolve()
    found: list[dict[str, Any]] = []
    for path in base.rglob("*"):
        if path.suffix not in SUFFIXES or not path.is_file() or not _inside(base, path):
            continue
        info = path.stat()
        found.append(
            {
                "name": path.relative_to(base).as_posix(),
                "kind": path.suffix.removeprefix("."),
                "bytes": info.st_size,
                "mtime_ns": info.st_mtime_ns,
            }
        )
    found.sort(key=lambda r: (-int(r["mtime_ns"]), str(r["name"])))
    return found[:MAX_LISTED]


def read_report(root: Path, name: str) -> tuple[str, bytes] | None:
    """(content type, body) of report `name` (a path under `root`); None for anything that
    is not a report there: a missing file, another suffix, a path leaving `root` (.., an
    absolute path, a symlink out)."""
    if not name or "\\" in name or "\x00" in name:
        return None
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or relative.suffix not in SUFFIXES:
        return None
    base = root.resolve()
    path = (base / relative).resolve()
    if not _inside(base, path) or not path.is_file() or path.stat().st_size > MAX_BYTES:
        return None
    body = path.read_bytes()
    if path.suffix == ".json":
        try:
            body = json.dumps(json.loads(body), indent=2).encode()
        except ValueError:
            return "text/plain; charset=utf-8", body  # not JSON after all: shown as text
        return "application/json; charset=utf-8", body
    return "text/html; charset=utf-8", body


def _inside(base: Path, path: Path) -> bool:
    return base in path.resolve().parents
