"""The recorder's open files: one per stream, rotated at the UTC day, reopened after errors.

A stream is a name and a kind: a symbol's frames (`ETHUSDT.frames.gz`) or the executor's
events (`executor.events.gz`). Each line goes to the file of the UTC day of its receive
time: the first line of a new day closes the old file (finished and fsynced) and opens the
new day's. A write error (ENOSPC: the disk is full; EIO ...) abandons that stream's file
(what was flushed stays readable), drops and counts that stream's lines for RETRY_AFTER_NS,
then opens a new part: a file the reader could not read past is never appended to. The
owner is told of each failure (`on_failure`) to alert; nothing here raises an OSError.
"""

import logging
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shared.recordings import (
    FRAMES,
    LineWriter,
    day_bounds,
    day_dirs,
    expired_days,
    is_safe_name,
    open_next_part,
    utc_day,
)

log = logging.getLogger(__name__)

RETRY_AFTER_NS: Final = 5_000_000_000  # a stream whose file failed is reopened after this
Stream = tuple[str, str]  # (name, suffix): ("ETHUSDT", ".frames.gz")
FailureHandler = Callable[[Path, str, OSError], None]  # path, stage, error


@dataclass
class _Open:
    writer: LineWriter
    start_ns: int  # the file's UTC day: [start_ns, end_ns)
    end_ns: int


class Recordings:
    """Write lines to the right file of each stream; count what was written and dropped.

    Counters (only grow): `written` and `written_bytes` (uncompressed) by kind ("frames",
    "events"); `dropped` by kind and reason ("frames" while its file fails, "frames_bad_name"
    for a symbol that is no file name); `files` ("opened", "rotated", "days_deleted"); `errors` by
    stage ("open", "write", "flush", "close", "delete").
    """

    def __init__(self, root: Path, *, compress_level: int, on_failure: FailureHandler) -> None:
        self.root = root
        self._compress_level = compress_level
        self._on_failure = on_failure
        self._open: dict[Stream, _Open] = {}
        self._failed_until: dict[Stream, int] = {}  # stream -> receive ns it may retry at
        self.written: Counter[str] = Counter()
        self.written_bytes: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.files: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def write(self, name: str, suffix: str, recv_ns: int, payload: bytes) -> bool:
        """Write one line to its stream's file of the day of `recv_ns`; False if dropped."""
        kind = "frames" if suffix == FRAMES else "events"
        if not is_safe_name(name):  # it names a file: never a path of its own ("../x")
            self.dropped[f"{kind}_bad_name"] += 1
            return False
        stream = (name, suffix)
        current = self._open.get(stream)
        if current is None or not current.start_ns <= recv_ns < current.end_ns:
            current = self._rotate(stream, recv_ns)
        if current is None:
            self.dropped[kind] += 1
            return False
        try:
            size = current.writer.write(recv_ns, payload)
        except OSError as e:
            self._fail(stream, "write", e, recv_ns)
            self.dropped[kind] += 1
            return False
        self.written[kind] += 1
        self.written_bytes[kind] += size
        return True

    def flush(self, now_ns: int) -> None:
        """Make every line written so far readable from the files (the crash window)."""
        for stream, current in list(self._open.items()):
            try:
                current.writer.flush()
            except OSError as e:
                self._fail(stream, "flush", e, now_ns)

    def close(self) -> None:
        """Finish every file (at stop)."""
        for stream in list(self._open):
            self._close(stream)

    def sweep(self, today: str, keep_days: int) -> list[str]:
        """Delete the day directories older than `keep_days` (today included); return them."""
        open_days = {utc_day(current.start_ns) for current in self._open.values()}
        deleted = []
        for day in expired_days(day_dirs(self.root), today, keep_days):
            if day in open_days:
                continue  # a clock that jumped back: never delete a file being written
            try:
                shutil.rmtree(self.root / day)
            except OSError as e:
                self.errors["delete"] += 1
                log.error("recordings of a day not deleted day=%s error=%s", day, e)
                continue
            self.files["days_deleted"] += 1
            deleted.append(day)
        return deleted

    def failing(self, now_ns: int) -> bool:
        """True while a stream waits to reopen after a failure."""
        return any(until > now_ns for until in self._failed_until.values())

    def open_paths(self) -> list[Path]:
        return [current.writer.path for current in self._open.values()]

    def _rotate(self, stream: Stream, recv_ns: int) -> _Open | None:
        if recv_ns < self._failed_until.get(stream, 0):
            return None
        if stream in self._open:
            self._close(stream)
            self.files["rotated"] += 1
        day = utc_day(recv_ns)
        name, suffix = stream
        try:
            writer = open_next_part(
                self.root / day, name, suffix, compress_level=self._compress_level
            )
        except OSError as e:
            self._fail(stream, "open", e, recv_ns, self.root / day / f"{name}{suffix}")
            return None
        self._failed_until.pop(stream, None)
        self.files["opened"] += 1
        log.info("recording path=%s", writer.path)
        start_ns, end_ns = day_bounds(day)
        current = self._open[stream] = _Open(writer, start_ns, end_ns)
        return current

    def _close(self, stream: Stream) -> None:
        current = self._open.pop(stream)
        try:
            current.writer.close()
        except OSError as e:
            self.errors["close"] += 1
            self._on_failure(current.writer.path, "close", e)

    def _fail(
        self, stream: Stream, stage: str, error: OSError, now_ns: int, path: Path | None = None
    ) -> None:
        self.errors[stage] += 1
        current = self._open.pop(stream, None)
        if current is not None:
            current.writer.abandon()
            path = current.writer.path
        self._failed_until[stream] = now_ns + RETRY_AFTER_NS
        self._on_failure(path or self.root, stage, error)
