"""Replay a recording: its market to the venue, its frames to the public websocket.

With `replay-file` set the simulator's market is the recording (`replay_file` reads and
paces it, at the recorded pace times `replay-speed`, in a loop). Every frame that is due goes
first to the venue core (`Venue.on_market`, market_source "recorded": the recorded L2
ladder is the book REST and trading match against, queue positions move by the recorded
trades and depth), and only then to the public subscribers, unchanged: the feed sees exactly
the recording, and never a price the venue has not matched yet (`venue.flow` has the order).

The replay starts with the first public subscription, so that the feed receives the
recording's first book snapshot; from then on it runs whether anyone listens or not, as a
market does. A subscriber to an order book gets its deltas only after the next snapshot of
that book, as from the venue (a recording with one snapshot: at the next pass).
"""

import logging
import weakref
from pathlib import Path

from aiohttp import web

from services.simulator.connections import Connection, ConnectionRegistry, serve
from services.simulator.faults import FaultInjector
from services.simulator.replay_file import ReplayFrame, ReplaySchedule
from services.simulator.venue import RecordedFrames, Venue
from services.simulator.ws_frames import decode_request, send_ack
from shared.runtime.clock import Clock

log = logging.getLogger(__name__)


class ReplayStream:
    """The public websocket and the venue's market, fed from a recording."""

    def __init__(
        self,
        path: str,
        faults: FaultInjector,
        clock: Clock,
        *,
        venue: Venue | None = None,
        speed: float = 1.0,
    ) -> None:
        self._schedule = ReplaySchedule(Path(path), speed=speed)
        self._clock = clock
        self._venue = venue
        self._decoder = RecordedFrames(venue.grids() if venue is not None else {})
        self.registry = ConnectionRegistry(faults)
        # per connection: the books that had their snapshot
        self._synced: weakref.WeakKeyDictionary[Connection, set[str]] = weakref.WeakKeyDictionary()
        self._started = False
        log.info("replay file=%s speed=%s venue=%s", path, speed, venue is not None)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.registry, self._on_text)

    def _on_text(self, conn: Connection, text: str) -> None:
        request = decode_request(conn, text)  # req_id echoed as sent, a number too
        if request is None:
            return
        topics = [str(t) for t in request.args]
        if request.op == "subscribe":
            conn.topics.update(topics)
        elif request.op == "unsubscribe":
            conn.topics.difference_update(topics)
        ret_msg = "pong" if request.op == "ping" else ""
        send_ack(
            conn, request.op, "" if request.req_id is None else request.req_id, ret_msg=ret_msg
        )

    def publish(self, now_ms: int) -> None:
        """Apply to the venue, then send, every recorded frame whose time has come."""
        if not self._started:
            if not any(conn.topics for conn in self.registry.connections):
                return
            self._started = True
        for frame in self._schedule.due(now_ms):
            if self._venue is not None:
                for event in self._decoder.events(frame.raw, frame.recv_ns):
                    self._venue.on_market(event)
            self._send(frame)

    def _send(self, frame: ReplayFrame) -> None:
        is_book = frame.topic.startswith("orderbook.")
        for conn in self.registry.subscribers(frame.topic):
            if is_book:
                synced = self._synced.setdefault(conn, set())
                if frame.kind == "snapshot":
                    synced.add(frame.topic)
                elif frame.topic not in synced:
                    continue
            conn.send(frame.raw)

    def counts(self) -> dict[str, int]:
        """Frames replayed, passes started, and what was left out, by reason."""
        schedule = self._schedule
        skips = self._venue.recorded_skips() if self._venue is not None else {}
        ladder = self._venue.recorded_counts() if self._venue is not None else {}
        return {
            "replay_frames": schedule.frames,
            "replay_passes": schedule.passes,
            "replay_lines_skipped": schedule.skipped,
            "replay_file_errors": schedule.errors,
            **{f"replay_skipped_{reason}": n for reason, n in self._decoder.skipped.items()},
            **{f"replay_book_skipped_{reason}": n for reason, n in skips.items()},
            **{f"replay_ladder_{name}": n for name, n in ladder.items()},
        }
