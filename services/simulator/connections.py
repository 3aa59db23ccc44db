"""Websocket connections of the simulator: a bounded outbox and one writer task each."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from services.simulator.faults import FaultInjector

log = logging.getLogger(__name__)

OUTBOX_FRAMES = 10_000  # a client this far behind is cut off, like a venue would


@dataclass(eq=False)  # identity: connections live in sets
class Connection:
    """One client. Frames go through its outbox, so a slow client never stalls the market."""

    ws: web.WebSocketResponse
    faults: FaultInjector
    conn_id: str = field(default_factory=lambda: uuid.uuid4().hex[:20])
    topics: set[str] = field(default_factory=set)
    account: str | None = None  # private streams: set by auth
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_FRAMES))
    sent: int = 0
    closer: asyncio.Task[bool] | None = None

    def send(self, frame: str, *, faultable: bool = True) -> None:
        """Queue one frame; data frames may be dropped or duplicated by the injected faults."""
        faults = self.faults.faults
        if faultable and self.faults.hit("ws_drop", faults.ws_drop_rate):
            return
        copies = 2 if faultable and self.faults.hit("ws_duplicate", faults.ws_duplicate_rate) else 1
        for _ in range(copies):
            try:
                self.outbox.put_nowait(frame)
            except asyncio.QueueFull:
                self.faults.count("ws_slow_client_cut")
                log.warning("cutting off a slow client conn_id=%s", self.conn_id)
                self.close()
                return

    async def write_loop(self) -> None:
        while True:
            frame = await self.outbox.get()
            if self.ws.closed:
                return
            await self.ws.send_str(frame)
            self.sent += 1

    def close(self) -> None:
        if not self.ws.closed and self.closer is None:
            self.closer = asyncio.get_running_loop().create_task(self.ws.close())


TextHandler = Callable[[Connection, str], None]


async def serve(
    request: web.Request, registry: "ConnectionRegistry", on_text: TextHandler
) -> web.WebSocketResponse:
    """Run one websocket connection until it closes: read requests, write the outbox."""
    if registry.refusing():
        raise web.HTTPServiceUnavailable(text="websocket refused (injected)")
    ws = web.WebSocketResponse(heartbeat=None, autoping=True)
    await ws.prepare(request)
    conn = registry.open(ws)
    writer = asyncio.create_task(conn.write_loop(), name=f"ws-writer-{conn.conn_id}")
    try:
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                on_text(conn, message.data)
            elif message.type == web.WSMsgType.ERROR:
                log.warning("websocket error conn_id=%s error=%s", conn.conn_id, ws.exception())
    finally:
        registry.discard(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


class ConnectionRegistry:
    """The open connections of one websocket path."""

    def __init__(self, faults: FaultInjector) -> None:
        self._faults = faults
        self.connections: set[Connection] = set()
        self.opened = 0

    def refusing(self) -> bool:
        """True (and counted) while the ws-refuse fault is on: no new connections."""
        if not self._faults.faults.ws_refuse:
            return False
        self._faults.count("ws_refused")
        return True

    def open(self, ws: web.WebSocketResponse) -> Connection:
        conn = Connection(ws, self._faults)
        self.connections.add(conn)
        self.opened += 1
        return conn

    def discard(self, conn: Connection) -> None:
        self.connections.discard(conn)

    def subscribers(self, topic: str) -> list[Connection]:
        return [c for c in self.connections if topic in c.topics]

    async def close_all(self) -> int:
        connections = list(self.connections)
        for conn in connections:
            await conn.ws.close()
        return len(connections)
