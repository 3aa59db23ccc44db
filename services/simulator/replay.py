"""Serve a recorded file of real public frames on /v5/public/linear instead of the market.

The file holds one raw Bybit public frame per line (as received from the venue). Frames
are replayed at their recorded pace (by their `ts`), in a loop. A subscriber to an order
book gets its deltas only after the next snapshot of that book, as from the venue. REST
and trading stay on the synthetic market: only the public stream is replayed.
"""

import itertools
import logging
from pathlib import Path

import msgspec
from aiohttp import web

from services.simulator.connections import Connection, ConnectionRegistry, serve
from services.simulator.faults import FaultInjector
from services.simulator.ws_frames import decode_request, send_ack
from shared.runtime.clock import Clock

log = logging.getLogger(__name__)
MAX_GAP_MS = 1_000


def _schedule(timestamps_ms: list[int]) -> list[int]:
    """Return when to send each frame, in ms after the start, keeping capped recorded gaps."""
    offsets = [0]
    for before, after in itertools.pairwise(timestamps_ms):
        offsets.append(offsets[-1] + min(MAX_GAP_MS, max(0, after - before)))
    return offsets


class _Frame(msgspec.Struct):
    topic: str
    ts: int
    type: str = "snapshot"


def load_frames(path: Path) -> list[tuple[int, str, str, str]]:
    """Return (ts_ms, topic, type, raw text) of every frame in the file, in file order.

    Lines that are not a public data frame (acks, pongs, blank lines) are skipped and counted
    in the log line.
    """
    frames: list[tuple[int, str, str, str]] = []
    skipped = 0
    for line in path.read_text().splitlines():
        try:
            head = msgspec.json.decode(line, type=_Frame)
        except msgspec.DecodeError:
            skipped += 1
            continue
        frames.append((head.ts, head.topic, head.type, line))
    if not frames:
        raise ValueError(f"{path}: no public frames with topic and ts")
    log.info("replay loaded file=%s frames=%d skipped=%d", path, len(frames), skipped)
    return frames


class ReplayStream:
    """The public websocket, fed from a recording."""

    def __init__(self, path: str, faults: FaultInjector, clock: Clock) -> None:
        self._frames = load_frames(Path(path))
        self._clock = clock
        self.registry = ConnectionRegistry(faults)
        self._synced: dict[str, set[str]] = {}  # conn_id -> books that had their snapshot
        self._offsets_ms = _schedule([ts for ts, _, _, _ in self._frames])
        self._cursor = 0
        self._started_ms = 0

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
        """Send every recorded frame whose time has come, looping at the end of the file.

        The clock starts with the first subscriber. Gaps between recorded frames are kept,
        capped at MAX_GAP_MS (a recording may join sessions hours apart).
        """
        if not any(conn.topics for conn in self.registry.connections):
            return
        if self._started_ms == 0:
            self._started_ms = now_ms
        while True:
            if self._cursor == len(self._frames):
                self._cursor = 0
                self._started_ms = now_ms
            _, topic, kind, raw = self._frames[self._cursor]
            if self._offsets_ms[self._cursor] > now_ms - self._started_ms:
                return
            self._cursor += 1
            for conn in self.registry.subscribers(topic):
                synced = self._synced.setdefault(conn.conn_id, set())
                if topic.startswith("orderbook.") and kind == "snapshot":
                    synced.add(topic)
                if topic.startswith("orderbook.") and topic not in synced:
                    continue
                conn.send(raw)
