"""A recording to replay: its frames read lazily, each with the time it is due, in a loop.

A recording holds one public Bybit frame per line: a `.gz` file is the recorder's format,
`<receive ns> <frame JSON>` (see tests/fixtures/data/SOURCES.md), read by
`shared.recordings` (which returns every whole line of a file whose writer has not closed
it yet); a plain text file may also hold bare frame JSON lines (a capture without receive
times).

Pace: a frame is due at the recorded time since the previous frame (the receive time when
the line has one, else the frame's `ts`), divided by `speed` (2.0: twice as fast). A gap is
capped at `max_gap_ms` of recorded time: a recording may join sessions hours apart. At the
end of the file the replay starts over (a new pass), its clock restarting.

The file is read frame by frame, never whole, so memory stays flat for a day of frames.
Lines that are not a public data frame (acks, pongs, blank lines, garbage) are skipped and
counted (`skipped`, on the first pass); a corrupt gzip file ends its pass where the damage
starts (logged, counted in `errors`).
"""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

import msgspec

from shared.recordings import RecordingError, read_file

log = logging.getLogger(__name__)
MAX_GAP_MS: Final = 1_000


class ReplayFrame(NamedTuple):
    """One recorded frame and when it is due, in ms after the start of its pass."""

    due_ms: int
    recv_ns: int  # the recorder's receive time (0: the line had none)
    topic: str
    kind: str  # "snapshot" or "delta"
    raw: str


class _Head(msgspec.Struct):
    topic: str
    ts: int
    type: str = "snapshot"


_head = msgspec.json.Decoder(_Head)


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(receive ns or 0, frame text) per line of a recording, in file order.

    Raises RecordingError for a `.gz` file that is not a recording (at the damage).
    """
    if path.suffix == ".gz":
        for recv_ns, payload in read_file(path):
            yield recv_ns, payload.decode("utf-8", errors="replace")
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            text = line.rstrip("\r\n")
            head, space, rest = text.partition(" ")
            if space and head.isdigit():
                yield int(head), rest
            else:
                yield 0, text


class ReplaySchedule:
    """The frames of a recording in order, each released once its time has come."""

    def __init__(self, path: Path, *, speed: float = 1.0, max_gap_ms: int = MAX_GAP_MS) -> None:
        if speed <= 0:
            raise ValueError(f"replay speed {speed}: must be above 0")
        self._path = path
        self._speed = speed
        self._max_gap_ms = max_gap_ms
        self.skipped = 0  # lines that are not public data frames (first pass)
        self.passes = 1  # passes over the file started
        self.errors = 0  # passes ended early by a damaged file
        self.frames = 0  # frames released
        if next(self._pass(counting=False), None) is None:
            raise ValueError(f"{path}: no public frames with topic and ts")
        self._frames = self._pass(counting=True)
        self._next: ReplayFrame | None = None
        self._started_ms: int | None = None

    def _pass(self, *, counting: bool) -> Iterator[ReplayFrame]:
        offset_ms, previous_ms = 0.0, None
        lines = read_lines(self._path)
        while True:
            try:
                recv_ns, raw = next(lines)
            except StopIteration:
                return
            except RecordingError as e:
                self.errors += 1
                log.error("replay pass ends early error=%s", e)
                return
            try:
                head = _head.decode(raw)
            except msgspec.DecodeError:
                self.skipped += counting
                continue
            at_ms = recv_ns / 1e6 if recv_ns else float(head.ts)
            if previous_ms is not None:
                offset_ms += min(self._max_gap_ms, max(0.0, at_ms - previous_ms))
            previous_ms = at_ms
            yield ReplayFrame(int(offset_ms / self._speed), recv_ns, head.topic, head.type, raw)

    def due(self, now_ms: int) -> list[ReplayFrame]:
        """The frames due by `now_ms`, in order; the first call starts the clock. At the end
        of the file a new pass starts at `now_ms` (at most one new pass per call)."""
        if self._started_ms is None:
            self._started_ms = now_ms
        out: list[ReplayFrame] = []
        wrapped = False
        while True:
            if self._next is None:
                self._next = next(self._frames, None)
                if self._next is None:
                    if wrapped:
                        return out
                    wrapped = True
                    self.passes += 1
                    self._frames = self._pass(counting=False)
                    self._started_ms = now_ms
                    continue
            if self._next.due_ms > now_ms - self._started_ms:
                return out
            out.append(self._next)
            self._next = None
            self.frames += 1
