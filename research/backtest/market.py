"""The recorded market, streamed: lines from files, each frame decoded once, for both sides.

`recording_lines` reads one or more `.frames.gz` files (the recorder's format, through
`shared.recordings`: never loaded whole), `symbols_day_lines` one day of one or more symbols
of a recordings directory, each merged in receive-time order (equal receive times: the
order the files or symbols are given in, then each file's own order, as `heapq.merge`
keeps it). `MarketFrames` decodes each line once at the boundary the feed uses
(`shared.bybit.ws_frames.decode_public`): the same wire frame then becomes the venue's
events (`RecordedFrames.of_frame`, integer ticks and lots of the venue's grid, stamped with
the frame's venue time on the engine's axis) and, when its topic is one the feed subscribes
to, the input of the feed's session. A line that is not a public data frame is counted and
skipped, as the feed and the venue skip it.
"""

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.simulator.venue import Grid, RecordedEvent, RecordedFrames
from shared.bybit import wire
from shared.bybit.ws_frames import FrameDrop, PublicFrame, decode_public
from shared.recordings import RecordingError, read_day, read_file

NS_PER_MS = 1_000_000


def recording_lines(paths: Iterable[Path]) -> Iterator[tuple[int, bytes]]:
    """The (receive ns, frame) lines of these recordings, merged in receive-time order."""
    files = list(paths)
    for path in files:
        if not path.is_file():
            raise RecordingError(f"{path}: no such recording file")
    if len(files) == 1:
        return read_file(files[0])
    return heapq.merge(*(read_file(p) for p in files), key=lambda line: line[0])


def day_lines(root: Path, day: str, symbol: str) -> Iterator[tuple[int, bytes]]:
    """One day of one symbol from a recordings directory (`<root>/<day>/<SYMBOL>.frames.gz`
    and its parts)."""
    return read_day(root, day, symbol)


def symbols_day_lines(root: Path, day: str, symbols: Sequence[str]) -> Iterator[tuple[int, bytes]]:
    """One day of these symbols from a recordings directory, merged in receive-time order
    (one symbol: `day_lines` itself)."""
    if len(symbols) == 1:
        return day_lines(root, day, symbols[0])
    days = [day_lines(root, day, symbol) for symbol in symbols]  # a missing one fails here
    return heapq.merge(*days, key=lambda line: line[0])


@dataclass(slots=True)
class MarketFrame:
    """One recorded frame: its receive time, the venue's events, the feed's frame (None:
    a topic the feed does not subscribe to)."""

    recv_ns: int
    venue_ns: int
    venue_events: list[RecordedEvent]
    feed_frame: PublicFrame | None


class MarketFrames:
    """Decodes recorded lines into `MarketFrame`s (see the module docstring).

    `followed(symbol)`, when given, is the depth the venue's ladder follows now (its
    `recorded_depth`): book deltas shallower than it are not converted for the venue, which
    skips them whole anyway: the events are the same for it, and so are the counts. A
    shallower snapshot (`orderbook.1`) is converted: the ladder may take it as the top.
    """

    def __init__(
        self,
        grids: dict[str, Grid],
        feed_topics: Iterable[str],
        feed_latency_ns: int,
        followed: Callable[[str], int] | None = None,
    ):
        self._venue = RecordedFrames(grids)
        self.feed_topics = frozenset(feed_topics)
        self.feed_latency_ns = feed_latency_ns
        self.followed = followed or _none_followed
        self.skipped: Counter[str] = Counter()
        self.frames = 0

    @property
    def venue_skipped(self) -> dict[str, int]:
        """What the venue's decoder left out, by reason."""
        return dict(self._venue.skipped)

    def count_venue_skips(self, counts: Iterable[tuple[str, int]]) -> None:
        """Add what the venue's decoder counted for a frame decoded earlier (a cache's)."""
        skipped = self._venue.skipped
        for reason, count in counts:
            skipped[reason] += count

    def frames_of(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[MarketFrame]:
        """The decoded frames of `lines`, in order (skipped lines counted)."""
        frame_of = self.frame_of
        for recv_ns, raw in lines:
            frame = frame_of(recv_ns, raw)
            if frame is not None:
                yield frame

    def frame_of(self, recv_ns: int, raw: bytes) -> MarketFrame | None:
        """The decoded frame of one line (None: not a public data frame, counted)."""
        decoded = decode_public(raw)
        if isinstance(decoded, FrameDrop):
            self.skipped[str(decoded.reason)] += 1
            return None
        self.frames += 1
        venue_ns = recv_ns - self.feed_latency_ns
        ts_ms = venue_ns // NS_PER_MS
        if isinstance(decoded, wire.OrderBookMessage):
            depth = self.followed(decoded.data.s)
            events = self._venue.of_frame(decoded, recv_ns, ts_ms, depth)
        else:
            events = self._venue.of_frame(decoded, recv_ns, ts_ms)
        feed = decoded if decoded.topic in self.feed_topics else None
        return MarketFrame(recv_ns, venue_ns, events, feed)


def _none_followed(symbol: str) -> int:
    """No ladder known: every book frame is converted."""
    return 0
