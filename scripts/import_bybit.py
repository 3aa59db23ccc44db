"""scripts/import-bybit: Bybit's downloadable histories into recordings (.frames.gz).

Reads order-book archives (zip of JSON lines) and trade archives (csv.gz) of one symbol
(scripts/bybit_archives.py), merges them in time order and writes the recorder's format,
`<time ns> <Bybit public frame JSON>` lines in gzip, readable with shared.recordings as the
recorder's own files. Written to a temporary file and renamed when complete: an interrupted
import leaves no half file behind.
"""

import argparse
import heapq
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TextIO

from scripts.bybit_archives import Archive, ArchiveError, Frame, open_archive
from shared.recordings import FRAMES, LineWriter, part_name, parts, utc_day

SORT_CHUNK: Final = 200_000  # trades sorted in memory this many at a time, then merged
_EPILOG: Final = """
times: the archives carry no local receive time, so each line's time (the recorder's
receive time) is the venue's: `ts` of an order-book frame, `timestamp` of a trade. A replay
of an import therefore has no network delay in it.

frames: order-book lines are kept as they are, in file order; each trade row becomes one
publicTrade.<SYMBOL> frame in the websocket's shape (T, s, S, v, p, L, i, BT, RPI; no seq,
which the archives lack). Merged by time; at the same time the order book comes first.

examples:
  scripts/import-bybit 2024-12-01_XRPUSDT_ob500.data.zip XRPUSDT2024-12-01.csv.gz \\
      --out XRPUSDT-2024-12-01.frames.gz
  scripts/import-bybit XRPUSDT2024-12-0*.csv.gz --into ~/bybit-history
      (writes ~/bybit-history/<YYYY-MM-DD>/XRPUSDT.frames.gz, a new part if one exists;
      read it with shared.recordings.read_day. Not under the recorder's recordings-dir:
      its keep-days would delete old days.)
"""


class OutputError(Exception):
    """The output cannot be written as asked; the message says why."""


class _OneFile:
    """Every frame into one file, renamed into place when complete."""

    def __init__(self, path: Path, *, force: bool, compress_level: int) -> None:
        if path.exists() and not force:
            raise OutputError(f"{path} exists; --force replaces it")
        if not path.parent.is_dir():
            raise OutputError(f"{path.parent} is not a directory")
        self.paths = [path]
        self._temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._writer = LineWriter(self._temp, compress_level=compress_level)

    def write(self, symbol: str, ns: int, frame: bytes) -> None:
        self._writer.write(ns, frame)

    def close(self) -> None:
        self._writer.close()
        os.replace(self._temp, self.paths[0])

    def discard(self) -> None:
        self._writer.abandon()
        self._temp.unlink(missing_ok=True)


class _Days:
    """Frames into `<root>/<YYYY-MM-DD>/<SYMBOL>.frames.gz` by UTC day, each a new part;
    every day is linked into place only once the whole import succeeded."""

    def __init__(self, root: Path, *, compress_level: int) -> None:
        self._root = root
        self._level = compress_level
        self._day = ""
        self._symbol = ""
        self._writer: LineWriter | None = None
        self._done: list[tuple[Path, str]] = []  # finished temporary files and their symbol
        self.paths: list[Path] = []

    def write(self, symbol: str, ns: int, frame: bytes) -> None:
        day = utc_day(ns)
        if self._writer is None or day != self._day:
            self._finish_day()
            directory = self._root / day
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            temp = directory / f".import-{symbol}.{os.getpid()}.tmp"
            self._writer = LineWriter(temp, compress_level=self._level)
            self._day, self._symbol = day, symbol
        self._writer.write(ns, frame)

    def close(self) -> None:
        self._finish_day()
        for temp, symbol in self._done:
            self.paths.append(_link_as_next_part(temp, symbol))

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.abandon()
            self._done.append((self._writer.path, ""))
            self._writer = None
        for temp, _ in self._done:
            temp.unlink(missing_ok=True)

    def _finish_day(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._done.append((self._writer.path, self._symbol))
            self._writer = None


def _link_as_next_part(temp: Path, symbol: str) -> Path:
    """`temp` under the next free part's name beside it; an existing file is never replaced."""
    directory = temp.parent
    number = len(parts(directory, symbol, FRAMES)) + 1
    while True:
        final = directory / part_name(symbol, FRAMES, number)
        try:
            os.link(temp, final)
        except FileExistsError:
            number += 1
            continue
        temp.unlink()
        return final


class Progress:
    """One line on stderr, redrawn at most five times a second: how much was read."""

    def __init__(self, archives: list[Archive], stream: TextIO, *, enabled: bool) -> None:
        self._archives = archives
        self._stream = stream
        self._enabled = enabled
        self._total = sum(a.size_bytes for a in archives) or 1
        self._shown_at = 0.0

    def update(self, written: int) -> None:
        now = time.monotonic()
        if self._enabled and now - self._shown_at >= 0.2:
            self._shown_at = now
            self._show(written)

    def finish(self, written: int) -> None:
        if self._enabled:
            self._show(written)
            self._stream.write("\n")

    def _show(self, written: int) -> None:
        read = sum(a.done * a.size_bytes for a in self._archives)
        bar = "#" * int(30 * read / self._total)
        self._stream.write(
            f"\rimport: [{bar:<30}] {100 * read / self._total:5.1f}% of"
            f" {self._total / 1e6:.1f} MB read, {written:,} frames written"
        )
        self._stream.flush()


def in_time_order(frames: Iterator[Frame], directory: Path, chunk: int) -> Iterator[Frame]:
    """`frames` sorted by time, stably (equal times keep their order): in memory up to
    `chunk` frames, else as sorted runs in `directory`, merged."""
    runs: list[Path] = []
    batch = list(itertools.islice(frames, chunk))
    while True:
        batch.sort(key=_time)
        following = list(itertools.islice(frames, chunk))
        if not following and not runs:
            yield from batch
            return
        run = directory / f"run-{len(runs)}"
        with run.open("wb") as out:
            out.writelines(b"%d %s\n" % line for line in batch)
        runs.append(run)
        if not following:
            break
        batch = following
    yield from heapq.merge(*(_read_run(run) for run in runs), key=_time)


def _read_run(run: Path) -> Iterator[Frame]:
    with run.open("rb") as lines:
        for line in lines:
            head, _, frame = line.rstrip(b"\n").partition(b" ")
            yield int(head), frame


def _time(frame: Frame) -> int:
    return frame[0]


def merged(archives: list[Archive], directory: Path, chunk: int = SORT_CHUNK) -> Iterator[Frame]:
    """Every frame of `archives` in time order: order books in file order (their `u`
    sequence), trades sorted by time; at the same time the earlier archive first."""
    streams = [
        a.frames_of() if a.kind == "orderbook" else in_time_order(a.frames_of(), directory, chunk)
        for a in sorted(archives, key=lambda a: a.kind != "orderbook")
    ]
    return heapq.merge(*streams, key=_time)


def _symbol(archives: list[Archive]) -> str:
    symbols = {a.symbol for a in archives if a.symbol}
    if len(symbols) > 1:
        named = ", ".join(f"{a.path.name}: {a.symbol}" for a in archives)
        raise ArchiveError(f"one symbol per import, these files have several ({named})")
    return symbols.pop() if symbols else ""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/import-bybit",
        description=(
            "Convert Bybit's downloadable histories of one symbol, order-book archives"
            " (<day>_<SYMBOL>_ob<depth>.data.zip) and trade archives (<SYMBOL><day>.csv.gz),"
            " into the recorder's .frames.gz format, merged in time order."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="archives to read")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="FILE", help="one .frames.gz file")
    where.add_argument(
        "--into", type=Path, metavar="DIR", help="DIR/<YYYY-MM-DD>/<SYMBOL>.frames.gz per UTC day"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing --out FILE")
    parser.add_argument(
        "--compress-level",
        type=int,
        choices=range(1, 10),
        default=6,
        metavar="1-9",
        help="gzip level: 1 fastest .. 9 smallest (default 6)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress line on stderr (default: when stderr is a terminal)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    try:
        archives = [open_archive(path) for path in args.files]
        if args.out is not None:
            out: _OneFile | _Days = _OneFile(
                args.out, force=args.force, compress_level=args.compress_level
            )
        else:
            out = _Days(args.into, compress_level=args.compress_level)
    except (ArchiveError, OutputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    enabled = sys.stderr.isatty() if args.progress is None else args.progress
    progress = Progress(archives, sys.stderr, enabled=enabled)
    written, first, last, symbol = 0, None, None, ""
    try:
        with tempfile.TemporaryDirectory(prefix="import-bybit-") as scratch:
            for ns, frame in merged(archives, Path(scratch)):
                # Known once every archive gave its first frame (the merge asks each first).
                symbol = symbol or _symbol(archives)
                out.write(symbol, ns, frame)
                written += 1
                first, last = first or ns, ns
                progress.update(written)
        out.close()
    except (ArchiveError, OSError) as e:
        progress.finish(written)
        out.discard()
        print(f"error: {e}; nothing was written", file=sys.stderr)
        return 2
    progress.finish(written)
    print(_summary(archives, written, first, last, out.paths))
    return 0


def _summary(
    archives: list[Archive], written: int, first: int | None, last: int | None, paths: list[Path]
) -> str:
    kinds = {
        kind: sum(a.frames for a in archives if a.kind == kind) for kind in ("orderbook", "trades")
    }
    span = "no frames" if first is None or last is None else f"{_utc(first)} to {_utc(last)} UTC"
    return (
        f"import: {_symbol(archives) or '-'}: {written:,} frames ({kinds['orderbook']:,} order"
        f" book, {kinds['trades']:,} trades), {span} -> {', '.join(map(str, paths)) or 'nothing'}"
    )


def _utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
