"""The Clone pattern: a publisher's state for late joiners, over ROUTER/DEALER.

A joiner subscribes first, then requests a snapshot, then applies only updates newer
than the snapshot (the Receiver drops older ones as superseded).

Frames are numbered per topic, so a snapshot reports where each topic stood: every
frame of a reply carries, in its header, the seq of its topic when the snapshot was
taken. The reply holds the provider's messages, then one Heartbeat frame for every
other topic under the prefix that the sender has numbered (its state is in the
provider's messages, or it has none: e.g. the executor's one ExecutionSnapshot covers
all its exec.* topics, and a publisher forgets symbols it no longer serves). These set
the floor of those topics too, so their older frames still queued are dropped as well.
A topic the sender had not numbered yet starts fresh, at seq 1.
`SnapshotEnd.count` counts every frame before it, Heartbeats included;
`SnapshotEnd.last_seq` is how many messages the sender had numbered, all topics together.
"""

import asyncio
import logging
from collections.abc import Callable

import msgspec
import zmq

from shared.bus.context import BusContext
from shared.bus.frames import FrameError, Header, decode_frames, encode_frames
from shared.bus.publisher import Sender
from shared.bus.readiness import AsyncReadiness
from shared.bus.sockets import open_snapshot_client
from shared.bus.stats import DropReason
from shared.schema import SCHEMA_VERSION, BusMessage, Heartbeat, SnapshotEnd, SnapshotRequest

log = logging.getLogger(__name__)

SnapshotProvider = Callable[[bytes], list[tuple[bytes, BusMessage]]]
_Frame = tuple[bytes, int, BusMessage]  # topic, its seq, message: one frame of a reply


class SnapshotTimeout(Exception):
    """No complete snapshot reply arrived in time."""


class SnapshotIncomplete(SnapshotTimeout):
    """A reply ended with fewer messages than its SnapshotEnd counts (the server dropped some)."""


class SnapshotReply(msgspec.Struct, frozen=True):
    """A publisher's state under a prefix, and where each of its topics stood then."""

    sender: str
    incarnation: int
    last_seq: int  # messages the sender had numbered, all topics together (informative)
    messages: list[tuple[bytes, BusMessage]]
    topic_seqs: dict[bytes, int]  # topic -> its seq: the floor Receiver.apply_snapshot sets


class SnapshotServer:
    """Answer snapshot requests with `provider(prefix)`, each stamped with its topic's seq.

    Runs in the publisher's own loop, so the state and the seqs it reports agree.
    """

    def __init__(
        self,
        socket: zmq.Socket[bytes],
        sender: Sender,
        provider: SnapshotProvider,
        bus: BusContext,
    ) -> None:
        self._socket = socket
        self._sender = sender
        self._provider = provider
        self._signer = bus.signer
        self._clock = bus.clock
        self._stats = bus.stats
        self._readiness: AsyncReadiness | None = None

    def serve_pending(self) -> int:
        """Answer every waiting request without blocking; return how many were answered."""
        answered = 0
        while True:
            try:
                frames = self._socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return answered
            identity, request = frames[0], frames[1:]
            try:
                _, header, message = decode_frames(request, self._signer)
            except FrameError as e:
                self._stats.drop(DropReason(e.reason))
                log.error("dropped snapshot request reason=%s detail=%s", e.reason, e)
                continue
            if not isinstance(message, SnapshotRequest):
                self._stats.drop(DropReason.UNDECODABLE)
                log.error("dropped snapshot request kind=%s", type(message).__name__)
                continue
            self._reply(identity, message.topic_prefix.encode())
            log.info("snapshot served to=%s prefix=%r", header.sender, message.topic_prefix)
            answered += 1

    async def wait(self, timeout_s: float | None = None) -> bool:
        if self._readiness is None:
            self._readiness = AsyncReadiness(self._socket)
        return await self._readiness.wait(timeout_s)

    def close(self) -> None:
        if self._readiness is not None:
            self._readiness.close()
        self._socket.close(linger=0)

    def _reply(self, identity: bytes, prefix: bytes) -> None:
        now_ns = self._clock.now_ns()
        sender = self._sender
        seqs = sender.topic_seqs(prefix)
        items = self._provider(prefix)
        for topic, message in items:
            self._send(identity, topic, sender.seq_of(topic), message, now_ns)
            seqs.pop(topic, None)
        for topic, seq in seqs.items():  # numbered topics with no message of their own
            self._send(identity, topic, seq, Heartbeat(ts_event_ns=now_ns), now_ns)
        numbered = sender.numbered
        end = SnapshotEnd(last_seq=numbered, count=len(items) + len(seqs), ts_event_ns=now_ns)
        self._send(identity, b"snap.end.", numbered, end, now_ns)

    def _send(
        self, identity: bytes, topic: bytes, seq: int, message: BusMessage, now_ns: int
    ) -> None:
        sender = self._sender
        header = Header(SCHEMA_VERSION, sender.name, sender.incarnation, seq, now_ns)
        self._socket.send_multipart(
            [identity, *encode_frames(topic, header, message, self._signer)]
        )


class SnapshotClient:
    """Request snapshots from one endpoint: blocking (`fetch`) or in asyncio (`fetch_async`)."""

    def __init__(
        self,
        ctx: zmq.Context[zmq.Socket[bytes]],
        endpoint: str,
        requester: str,
        bus: BusContext,
    ) -> None:
        self._ctx = ctx
        self._endpoint = endpoint
        self._requester = requester
        self._signer = bus.signer
        self._clock = bus.clock
        self._stats = bus.stats
        self._seq = 0

    def fetch(self, topic_prefix: str, timeout_s: float) -> SnapshotReply:
        """Return the snapshot under `topic_prefix`; raise SnapshotTimeout after timeout_s."""
        socket = self._request(topic_prefix)
        try:
            deadline_ns = self._clock.now_ns() + int(timeout_s * 1e9)
            collected: list[_Frame] = []
            while True:
                remaining_ms = max(0, (deadline_ns - self._clock.now_ns()) // 1_000_000)
                if not socket.poll(remaining_ms, zmq.POLLIN):
                    raise SnapshotTimeout(f"{self._endpoint} prefix={topic_prefix!r}")
                if reply := self._read(socket, collected):
                    return reply
        finally:
            socket.close(linger=0)

    async def fetch_async(self, topic_prefix: str, timeout_s: float) -> SnapshotReply:
        socket = self._request(topic_prefix)
        readiness = AsyncReadiness(socket)
        try:
            async with asyncio.timeout(timeout_s):
                collected: list[_Frame] = []
                while True:
                    await readiness.wait()
                    if reply := self._read(socket, collected):
                        return reply
        except TimeoutError as e:
            raise SnapshotTimeout(f"{self._endpoint} prefix={topic_prefix!r}") from e
        finally:
            readiness.close()
            socket.close(linger=0)

    def _request(self, topic_prefix: str) -> zmq.Socket[bytes]:
        socket = open_snapshot_client(self._ctx, self._endpoint)
        now_ns = self._clock.now_ns()
        self._seq += 1
        header = Header(SCHEMA_VERSION, self._requester, 0, self._seq, now_ns)
        request = SnapshotRequest(topic_prefix=topic_prefix, ts_event_ns=now_ns)
        socket.send_multipart(encode_frames(b"snap.request.", header, request, self._signer))
        return socket

    def _read(self, socket: zmq.Socket[bytes], collected: list[_Frame]) -> SnapshotReply | None:
        """Read what is waiting; return the reply once its SnapshotEnd arrived.

        A bad frame in a reply is counted and raises FrameError: a partial snapshot must not
        be applied.
        """
        while True:
            try:
                frames = socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return None
            try:
                topic, header, message = decode_frames(frames, self._signer)
            except FrameError as e:
                self._stats.drop(DropReason(e.reason))
                log.error("dropped snapshot reply from=%s detail=%s", self._endpoint, e)
                raise
            if not isinstance(message, SnapshotEnd):
                collected.append((topic, header.seq, message))
                continue
            if message.count != len(collected):
                raise SnapshotIncomplete(
                    f"{self._endpoint}: {len(collected)} of {message.count} messages"
                )
            return SnapshotReply(
                header.sender,
                header.incarnation,
                message.last_seq,
                messages=[(t, m) for t, _, m in collected if type(m) is not Heartbeat],
                topic_seqs={t: seq for t, seq, _ in collected},
            )
