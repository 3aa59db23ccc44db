"""The feed's raw tap: every frame it received, for the recorder, at the least cost.

On the hot path a frame is only appended to a list (about 0.3 us); the list goes out as one
VenueFrames message every BATCH frames and whenever the owner flushes (the feed does every
100 ms and at stop). One send of a Sender costs a few microseconds whatever its size, so a
send per frame would have cost the feed as much again per frame as the rest of its work
(scripts/bench feed, `feed.tap_frame_p50_us`). The recorder does not need its frames within
microseconds. A batch the tap cannot take (its reader is behind) is dropped whole: the
Sender counts it (`tap_full`) and this counts its frames (`tap_frames_dropped`).
"""

from collections import Counter
from typing import Final

from shared.bus import Sender
from shared.schema import Symbol, VenueFrame, VenueFrames

BATCH: Final = 64  # frames per message at most
LINGER_MS: Final = 1_000  # at stop, the last batch waits this long for the recorder


class RawTap:
    """Collect frames and send them in VenueFrames batches on a tap."""

    def __init__(self, sender: Sender, counters: Counter[str], batch: int = BATCH) -> None:
        self._sender = sender
        self._counters = counters
        self._batch = batch
        self._frames: list[VenueFrame] = []

    def add(self, topic: str, data: bytes, ts_recv_ns: int) -> None:
        """Keep one frame (its symbol is the last part of its topic); send a full batch."""
        symbol = Symbol(topic.rpartition(".")[2])
        self._frames.append(VenueFrame(symbol=symbol, data=data, ts_recv_ns=ts_recv_ns))
        if len(self._frames) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Send what was kept, if anything; never blocks."""
        if not self._frames:
            return
        frames, self._frames = tuple(self._frames), []
        self._counters["tap_frames"] += len(frames)
        if not self._sender.send(VenueFrames(frames=frames)):
            self._counters["tap_frames_dropped"] += len(frames)

    def close(self) -> None:
        """At stop: send what is kept and close the tap, giving the last batch LINGER_MS to
        reach the recorder (which stops after the feed)."""
        self.flush()
        self._sender.close(LINGER_MS)

    def tick(self) -> None:
        """A heartbeat on the tap if it was idle (lets a reader see it is connected)."""
        self._sender.tick()
