"""Write a recording: lines into a new gzip file, sync-flushed so a crash loses little.

`flush()` ends the compressed block with a sync point (zlib Z_SYNC_FLUSH) and hands the
bytes to the operating system: everything written before it can be read back even if the
process dies before `close()` (the file then lacks the gzip trailer; the reader returns
every line before the cut). A sync point costs a few bytes; the recorder asks for one per
file and second. `close()` also fsyncs, so a closed file survives a power loss.
"""

import gzip
import logging
import os
import zlib
from pathlib import Path
from typing import BinaryIO

from shared.recordings.names import is_safe_name, part_name, parts
from shared.recordings.reader import format_line

log = logging.getLogger(__name__)


class LineWriter:
    """Append `<receive ns> <payload>` lines to one new gzip file (created, never reused)."""

    def __init__(self, path: Path, *, compress_level: int = 6) -> None:
        """Raises FileExistsError if `path` exists (a recording is never overwritten) and
        OSError if it cannot be created."""
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", compresslevel=compress_level, fileobj=self._raw, mtime=0
        )
        self.lines = 0
        self.dirty = False  # written since the last flush

    def write(self, recv_ns: int, payload: bytes) -> int:
        """Write one line; return its length in bytes (uncompressed). Raises OSError."""
        line = format_line(recv_ns, payload)
        self._gzip.write(line)
        self.lines += 1
        self.dirty = True
        return len(line)

    def flush(self) -> None:
        """Make every line written so far readable from the file. Raises OSError."""
        if self.dirty:
            self._gzip.flush(zlib.Z_SYNC_FLUSH)  # also flushes the file object
            self.dirty = False

    def close(self) -> None:
        """Finish the gzip member, fsync and close. Raises OSError (the file is closed)."""
        try:
            self._gzip.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
        finally:
            self._raw.close()

    def abandon(self) -> None:
        """Close after a write error, without finishing the member: what was flushed stays
        readable. A further error (the disk is still full) is logged, not raised."""
        try:
            self._raw.close()
        except OSError as e:
            log.warning("closing an abandoned recording path=%s error=%s", self.path, e)

    @property
    def size_bytes(self) -> int:
        """Compressed bytes handed to the file so far."""
        return self._raw.tell()


def open_next_part(
    directory: Path, name: str, suffix: str, *, compress_level: int = 6
) -> LineWriter:
    """A writer on the next free part of `name` in `directory` (made with mode 0700 if
    missing): `<name><suffix>` if there is none yet, else `<name>.<n><suffix>`. Raises
    OSError, or ValueError for a name that is not a plain file name (is_safe_name)."""
    if not is_safe_name(name):
        raise ValueError(f"{name!r} cannot name a recording (letters, digits, _ and - only)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    existing = parts(directory, name, suffix)
    number = len(existing) + 1
    while True:
        try:
            return LineWriter(
                directory / part_name(name, suffix, number), compress_level=compress_level
            )
        except FileExistsError:  # a gap in the numbers, or another writer took it
            number += 1
