"""Read recordings back: (receive ns, payload) per line, across gzip members and cut ends.

A file may hold several gzip members (concatenated files are still one file) and may end
in the middle of one: the recorder flushes a sync point every second and a crash leaves
no trailer. Python's gzip module raises EOFError on such a file and loses the lines it
had decompressed before; this reader decompresses with zlib itself, returns every whole
line before the cut and notes the cut (`RecordingFile.cut`). Corrupt data raises
RecordingError naming the file and where, after every good line before it.
"""

import heapq
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec

from shared.recordings.names import EVENTS, EXECUTOR, FRAMES, parts
from shared.schema import DECODE_ERRORS, BusMessage

_CHUNK: Final = 1 << 16
_GZIP: Final = 16 + zlib.MAX_WBITS  # zlib's wbits for a gzip header and trailer
_MAGIC: Final = b"\x1f\x8b"
_events: Final = msgspec.json.Decoder(BusMessage)


class RecordingError(Exception):
    """A file that is not a readable recording; the message names the file and where."""


def format_line(recv_ns: int, payload: bytes) -> bytes:
    """One line of a recording. A newline inside the payload would split the record, so
    CR and LF become spaces: in JSON they can only be whitespace between tokens (inside a
    string they are escaped), so the frame means the same."""
    if b"\n" in payload or b"\r" in payload:
        payload = payload.replace(b"\r", b" ").replace(b"\n", b" ")
    return b"%d %s\n" % (recv_ns, payload)


class RecordingFile:
    """Iterate the (receive ns, payload) lines of one file, in file order.

    After the iteration, `cut` says whether the file ended inside a gzip member (a writer
    that died before closing it), and `lines` how many lines were read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cut = False
        self.lines = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        self.cut, self.lines = False, 0
        pending = b""
        for data in self._decompressed():
            pieces = (pending + data).split(b"\n")
            pending = pieces.pop()
            for line in pieces:
                self.lines += 1
                yield self._parse(line)
        if pending:  # a last line without its newline: cut in the middle of it
            self.cut = True

    def _decompressed(self) -> Iterator[bytes]:
        with self.path.open("rb") as raw:
            head = raw.read(2)
            if head != _MAGIC:
                shown = "an empty file" if not head else f"starts with {head!r}"
                raise RecordingError(f"{self.path}: not a gzip file ({shown})")
            raw.seek(0)
            stream, in_member, offset = zlib.decompressobj(_GZIP), False, 0
            while chunk := raw.read(_CHUNK):
                while chunk:
                    in_member = True
                    try:
                        yield stream.decompress(chunk)
                    except zlib.error as e:
                        raise RecordingError(
                            f"{self.path}: corrupt gzip data in bytes {offset}..{offset + _CHUNK}"
                            f" ({e}); the {self.lines} lines before it were read"
                        ) from None
                    chunk = b""
                    if stream.eof:  # the member ended: another may follow
                        chunk, stream = stream.unused_data, zlib.decompressobj(_GZIP)
                        in_member = False
                offset += _CHUNK
            yield stream.flush()
            self.cut = in_member  # the last member has no end: its writer did not close it

    def _parse(self, line: bytes) -> tuple[int, bytes]:
        head, space, payload = line.partition(b" ")
        if not space or not head.isdigit():
            raise RecordingError(
                f"{self.path}: line {self.lines}: expected '<receive ns> <payload>',"
                f" got {line[:60]!r}"
            )
        return int(head), payload


def read_file(path: Path) -> Iterator[tuple[int, bytes]]:
    """The (receive ns, payload) lines of one file, in file order."""
    return iter(RecordingFile(path))


def read_day(root: Path, day: str, name: str, suffix: str = FRAMES) -> Iterator[tuple[int, bytes]]:
    """Every line of `name` on `day` (e.g. a symbol's frames), across its parts, in
    receive-time order; lines of equal time keep their file and part order."""
    files = parts(root / day, name, suffix)
    if not files:
        raise RecordingError(f"no {name}{suffix} in {root / day}")
    return heapq.merge(*(read_file(path) for path in files), key=lambda line: line[0])


def read_events(root: Path, day: str) -> Iterator[tuple[int, BusMessage]]:
    """The executor's messages recorded on `day`, decoded, in receive-time order."""
    for recv_ns, payload in read_day(root, day, EXECUTOR, EVENTS):
        try:
            message = _events.decode(payload)
        except DECODE_ERRORS as e:
            raise RecordingError(
                f"{root / day}: an event at {recv_ns} is not a bus message ({e})"
            ) from None
        yield recv_ns, message
