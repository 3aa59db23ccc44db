"""Receiving side of the bus: verify, decode, sequence-check and count every frame."""

import logging

import zmq

from shared.bus.context import BusContext
from shared.bus.frames import Delivery, FrameError, decode_frames
from shared.bus.liveness import PeerLiveness
from shared.bus.readiness import AsyncReadiness
from shared.bus.sequence import SequenceTracker, Verdict
from shared.bus.snapshot import SnapshotReply
from shared.bus.stats import DropReason
from shared.schema import Heartbeat

log = logging.getLogger(__name__)


class Receiver:
    """Read frames from a SUB or PULL socket without blocking, one verdict per frame.

    Bad frames (malformed, wrongly signed, undecodable, other schema) are logged, counted
    and skipped. Sequence numbers are checked per (sender, topic), so topics filtered out
    by the subscription are not losses. A gap on any topic, a restarted sender, or a topic
    joined mid-stream is put on the list (by sender) that `take_resync_requests()`
    returns, so the owner can repair its view from a snapshot. Every frame refreshes its
    sender's liveness; heartbeats are not delivered unless `deliver_heartbeats` is set.
    """

    def __init__(
        self,
        socket: zmq.Socket[bytes],
        *,
        bus: BusContext,
        liveness: PeerLiveness,
        deliver_heartbeats: bool = False,
    ) -> None:
        self._socket = socket
        self._signer = bus.signer
        self._clock = bus.clock
        self._stats = bus.stats
        self._liveness = liveness
        self._deliver_heartbeats = deliver_heartbeats
        self._tracker = SequenceTracker()
        self._resync: set[str] = set()
        self._readiness: AsyncReadiness | None = None
        self._timeout_ms = -1  # the socket's RCVTIMEO: block forever until set

    @property
    def liveness(self) -> PeerLiveness:
        return self._liveness

    @property
    def tracker(self) -> SequenceTracker:
        return self._tracker

    def receive_nowait(self) -> Delivery | None:
        """Return the next deliverable message, or None when nothing is waiting."""
        while True:
            try:
                frames = self._socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return None
            delivery = self._accept(frames)
            if delivery is not None:
                return delivery

    def receive(self, timeout_ms: int) -> Delivery | None:
        """Block up to `timeout_ms` for the next deliverable message (the blocking hot path).

        One blocking read per message, with no poll before it: the cheapest way through
        pyzmq (see scripts/bench bus). Returns None if nothing arrived in time.
        """
        if timeout_ms != self._timeout_ms:
            self._socket.setsockopt(zmq.RCVTIMEO, timeout_ms)
            self._timeout_ms = timeout_ms
        while True:
            try:
                frames = self._socket.recv_multipart()
            except zmq.Again:
                return None
            delivery = self._accept(frames)
            if delivery is not None:
                return delivery

    def drain(self, max_messages: int = 1000) -> list[Delivery]:
        """Return up to `max_messages` waiting messages (an empty list when none wait)."""
        batch: list[Delivery] = []
        while len(batch) < max_messages:
            delivery = self.receive_nowait()
            if delivery is None:
                break
            batch.append(delivery)
        return batch

    def poll(self, timeout_ms: int) -> bool:
        """Block up to `timeout_ms` for a frame; return True if one is waiting."""
        return bool(self._socket.poll(timeout_ms, zmq.POLLIN))

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait in asyncio up to `timeout_s` for a frame; return True if one is waiting."""
        if self._readiness is None:
            self._readiness = AsyncReadiness(self._socket)
        return await self._readiness.wait(timeout_s)

    def take_resync_requests(self) -> set[str]:
        """Return (and clear) the senders whose stream skipped since the last call."""
        senders, self._resync = self._resync, set()
        return senders

    def apply_snapshot(self, reply: SnapshotReply) -> None:
        """Record that `reply` was applied: its topics' older frames still queued are dropped."""
        self._tracker.apply_snapshot(reply.sender, reply.incarnation, reply.topic_seqs)
        self._resync.discard(reply.sender)

    def close(self) -> None:
        if self._readiness is not None:
            self._readiness.close()
        self._socket.close(linger=0)

    def _accept(self, frames: list[bytes]) -> Delivery | None:
        now_ns = self._clock.now_ns()
        try:
            topic, header, message = decode_frames(frames, self._signer)
        except FrameError as e:
            self._stats.drop(DropReason(e.reason))
            log.error("dropped frame reason=%s detail=%s", e.reason, e)
            return None
        self._stats.received += 1
        self._liveness.heard(header.sender, now_ns)
        verdict, missing = self._tracker.check(header, topic)
        if verdict is Verdict.IN_ORDER:
            pass
        elif verdict is Verdict.SUPERSEDED:
            self._stats.drop(DropReason.SUPERSEDED)
            return None
        elif verdict is Verdict.GAP:
            self._stats.gaps[header.sender] += 1
            self._stats.lost[header.sender] += missing
            self._resync.add(header.sender)
            log.warning(
                "sequence gap sender=%s topic=%r missing=%d seq=%d",
                header.sender,
                topic,
                missing,
                header.seq,
            )
        elif verdict is Verdict.FIRST and header.seq > 1 and type(message) is not Heartbeat:
            # Joined this topic mid-stream with no snapshot applied: the view lacks what
            # came before. (Heartbeats carry no state to lack.)
            self._resync.add(header.sender)
        elif verdict is Verdict.RESTARTED:
            self._stats.restarts[header.sender] += 1
            self._resync.add(header.sender)
            log.warning(
                "sender restarted sender=%s incarnation=%d", header.sender, header.incarnation
            )
        if type(message) is Heartbeat and not self._deliver_heartbeats:
            return None
        return Delivery(topic, header, message, now_ns)
