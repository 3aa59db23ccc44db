"""Bybit V5 websocket client: connect, authenticate, subscribe, ping, reconnect forever.

`run()` is an async generator that owns the socket: it yields StreamConnected, StreamFrame
(the raw bytes of every data frame, with the receive time taken once, before any parsing)
and StreamDisconnected, and consumes control replies (acks, pongs) itself. Reading happens
only while the consumer iterates, so a slow consumer slows the socket (TCP backpressure)
instead of filling a queue, and no task is spawned per message.

Subscribe acks are read by run(), so `subscribe()` must be awaited from another task than
the one iterating run() (awaiting it there would wait for an ack nobody reads: it raises).
Topics are remembered: every (re)connect subscribes them all again.

A dead connection (no frame, not even a pong, for two ping intervals) is closed and
reconnected. close() ends run() and closes the socket; so does cancelling the consumer.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from typing import Final

import aiohttp
import msgspec

from shared.bybit import wire
from shared.bybit.auth import ws_auth_signature
from shared.bybit.drops import VenueDropReason
from shared.bybit.errors import AckTimeout, StreamAuthError, SubscribeError
from shared.bybit.ws_frames import FrameDrop, decode_ack, probe_frame
from shared.runtime.backoff import backoff_delays
from shared.runtime.clock import Clock, LiveClock

log = logging.getLogger(__name__)

NS_PER_MS: Final = 1_000_000
AUTH_EXPIRES_MS: Final = 10_000  # Bybit's own trade-stream example uses now + 10 s
CLOSE_TIMEOUT_S: Final = 1.0
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024  # a 1000-level book snapshot fits easily
PROBE_BYTES: Final = 256  # every data frame seen names its "topic" within this prefix
HEALTHY_AFTER_NS: Final = 30 * 1_000_000_000  # a connection this old counts as working

_ENCODER: Final = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """Connected (and authenticated, subscriptions re-sent) after `attempt` tries."""

    attempt: int


@dataclass(frozen=True, slots=True)
class StreamDisconnected:
    """The connection ended; run() reconnects unless close() was called."""

    reason: str


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One data frame exactly as received; ts_recv_ns was taken when it arrived."""

    data: bytes
    ts_recv_ns: int


StreamEvent = StreamConnected | StreamDisconnected | StreamFrame


@dataclass(frozen=True)
class ReconnectPolicy:
    """Capped exponential backoff between connection attempts; reset by a success."""

    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    jitter: float = 0.2


@dataclass
class StreamStats:
    """Counters only grow; metrics read them."""

    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    frames: int = 0  # data frames yielded
    control_replies: int = 0  # acks and pongs consumed
    bad_frames: int = 0  # neither a data frame nor a control reply we understand
    pings: int = 0
    # Frames dropped at the boundary (shared.bybit.ws_frames), by VenueDropReason: the control
    # replies run() could not read, and the data frames its consumer could not decode.
    dropped: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: VenueDropReason) -> None:
        self.dropped[reason.value] += 1

    def counts(self) -> dict[str, int]:
        """Return every counter flat, the drops as `dropped_<reason>` (for metrics)."""
        flat = {k: v for k, v in vars(self).items() if isinstance(v, int)}
        flat.update({f"dropped_{reason}": n for reason, n in self.dropped.items()})
        return flat


@dataclass
class _Pending:
    op: str
    topics: list[str]
    # None for the re-subscribe of a reconnect, which nobody awaits: its failure is logged.
    future: asyncio.Future[None] | None = field(default=None)


class _ConnectionLost(Exception):
    """The current connection is over; the message says why."""


class BybitStream:
    """One Bybit websocket (public linear, or private with keys), reconnected forever."""

    def __init__(  # noqa: PLR0913 -- the knobs of one venue connection, all keyword-only
        self,
        url: str,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        clock: Clock | None = None,
        ping_interval_s: float = 20.0,
        reconnect: ReconnectPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if (api_key is None) != (api_secret is None):
            raise ValueError("give both api_key and api_secret (private stream) or neither")
        self._url = url
        self._api_key = api_key
        self._api_secret = api_secret
        self._clock: Clock = clock or LiveClock()
        self._ping_interval_s = ping_interval_s
        self._reconnect = reconnect or ReconnectPolicy()
        self._session = session
        self._owns_session = session is None
        self._timeout_s = timeout_s  # connect, and wait for the auth ack
        self._topics: dict[str, None] = {}  # insertion-ordered set
        self._pending: dict[str, _Pending] = {}  # by req_id, oldest first
        self._ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        self._ready = False  # connected, authenticated, remembered topics sent
        self._closing = False
        self._closed = asyncio.Event()
        self._running = False
        self._pump_task: asyncio.Task[object] | None = None
        self._next_id = 0
        self._last_rx = 0.0  # loop.time() of the last frame of any kind
        self._last_ping = 0.0
        self._unanswered_since: float | None = None  # first ping sent after the last frame
        self.time_offset_ns = 0  # venue minus local clock, e.g. BybitRest.time_offset_ns
        self.stats = StreamStats()

    @property
    def private(self) -> bool:
        return self._api_key is not None

    @property
    def connected(self) -> bool:
        return self._ready

    @property
    def topics(self) -> list[str]:
        """Return the remembered topics, in subscription order."""
        return list(self._topics)

    async def subscribe(self, topics: list[str], timeout_s: float = 5.0) -> None:
        """Subscribe `topics` and wait for the venue's ack; remember them for reconnects.

        Not connected: only remembers them (sent on connect) and returns at once. If the
        connection drops before the ack, returns: the topics are re-sent on reconnect.
        Raises SubscribeError on success: false, AckTimeout without an answer (in both
        cases the topics are forgotten again).
        """
        self._check_not_pump("subscribe")
        new = [t for t in dict.fromkeys(topics) if t not in self._topics]
        if not new:
            return
        self._topics.update(dict.fromkeys(new))
        try:
            await self._request("subscribe", new, timeout_s)
        except (SubscribeError, AckTimeout):
            for topic in new:
                self._topics.pop(topic, None)
            raise

    async def unsubscribe(self, topics: list[str], timeout_s: float = 5.0) -> None:
        """Unsubscribe `topics`, forget them, and wait for the ack (if connected)."""
        self._check_not_pump("unsubscribe")
        gone = [t for t in dict.fromkeys(topics) if t in self._topics]
        if not gone:
            return
        for topic in gone:
            del self._topics[topic]
        await self._request("unsubscribe", gone, timeout_s)

    async def close(self) -> None:
        """End run() and close the socket (and the session, if this client created it)."""
        self._closing = True
        self._closed.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._owns_session and self._session is not None and not self._running:
            await self._session.close()
            self._session = None

    async def run(self) -> AsyncGenerator[StreamEvent, None]:
        """Connect and yield events until close(); reconnect with backoff after any drop.

        Raises StreamAuthError if the venue refuses our auth (retrying cannot fix keys).
        """
        self._start()
        delays = self._backoff()
        attempt = 0
        try:
            while not self._closing:
                attempt += 1
                ws = await self._open(attempt)
                if ws is None:
                    await self._pause(next(delays), attempt)
                    continue
                yield self._connected(attempt)
                attempt = 0
                opened_ns = self._clock.now_ns()
                proven = False  # a connection that dies at once must not reset the backoff
                reason = "closed by client"
                try:
                    while True:
                        data, ts_recv_ns = await self._receive(ws)
                        op = self._control_op(data)
                        if op is None:
                            if not proven:
                                proven, delays = True, self._backoff()
                            self.stats.frames += 1
                            yield StreamFrame(data=data, ts_recv_ns=ts_recv_ns)
                        elif op:
                            self._on_control(op, data)
                except _ConnectionLost as e:
                    reason = str(e)
                finally:
                    await self._drop(ws)
                yield self._disconnected(reason)
                if not proven and self._clock.now_ns() - opened_ns > HEALTHY_AFTER_NS:
                    delays = self._backoff()  # it lived long enough (e.g. idle, no topics)
                await self._pause(next(delays), 1)
        finally:
            await self._stop()

    def _start(self) -> None:
        if self._running:
            raise RuntimeError("BybitStream.run() is already being iterated")
        self._running = True
        self._pump_task = asyncio.current_task()

    async def _stop(self) -> None:
        self._running = False
        self._pump_task = None
        if self._owns_session and self._session is not None:
            # Ended by close(), an auth refusal or cancellation: nothing uses it any more
            # (a later run() opens a new one).
            await self._session.close()
            self._session = None

    def _connected(self, attempt: int) -> StreamConnected:
        self.stats.connects += 1
        log.info("bybit stream connected url=%s attempt=%d", self._url, attempt)
        return StreamConnected(attempt=attempt)

    def _disconnected(self, reason: str) -> StreamDisconnected:
        self.stats.disconnects += 1
        if not self._closing:
            log.warning("bybit stream disconnected url=%s reason=%s", self._url, reason)
        return StreamDisconnected(reason=reason)

    # ------------------------------------------------------------ connection

    def _backoff(self) -> Iterator[float]:
        policy = self._reconnect
        return backoff_delays(policy.initial_backoff_s, policy.max_backoff_s, jitter=policy.jitter)

    async def _pause(self, delay_s: float, attempt: int) -> None:
        """Wait `delay_s` before the next attempt, or less if close() is called."""
        if self._closing:
            return
        log.warning(
            "bybit stream reconnecting url=%s attempt=%d delay_s=%.3f", self._url, attempt, delay_s
        )
        # A timeout is the normal case: the delay is over and the stream was not closed.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), timeout=delay_s)

    async def _open(self, attempt: int) -> aiohttp.ClientWebSocketResponse[bool] | None:
        """Connect, authenticate and re-subscribe; return None (logged) if that failed."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                ws = await self._session.ws_connect(
                    self._url,
                    autoping=True,
                    decode_text=False,
                    max_msg_size=MAX_MESSAGE_BYTES,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S),
                )
                loop_now = asyncio.get_running_loop().time()
                self._last_rx = self._last_ping = loop_now
                self._unanswered_since = None
                if self.private:
                    await self._authenticate(ws)
            await self._resubscribe(ws)
        except StreamAuthError:
            if ws is not None:
                await ws.close()
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, _ConnectionLost) as e:
            self.stats.connect_failures += 1
            log.warning(
                "bybit stream connect failed url=%s attempt=%d error=%s: %s",
                self._url,
                attempt,
                type(e).__name__,
                e,
            )
            if ws is not None:
                await self._drop(ws)
            return None
        if self._closing:
            await self._drop(ws)
            return None
        return ws

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        assert self._api_key is not None
        assert self._api_secret is not None
        expires_ms = (self._clock.now_ns() + self.time_offset_ns) // NS_PER_MS + AUTH_EXPIRES_MS
        signature = ws_auth_signature(self._api_secret, expires_ms)
        req_id = self._req_id("auth")
        await self._send(
            ws,
            wire.WsRequest(op="auth", args=[self._api_key, expires_ms, signature], req_id=req_id),
        )
        while True:  # bounded by the caller's timeout
            data, _ = await self._receive(ws)
            op = self._control_op(data)
            if op != "auth":
                log.debug("bybit stream frame before auth ack ignored op=%s", op)
                continue
            self.stats.control_replies += 1
            ack = decode_ack(data)
            if isinstance(ack, FrameDrop):  # says neither yes nor no: connect again
                self._bad_frame(data, ack)
                raise _ConnectionLost(f"unreadable auth reply: {ack.reason}")
            if not ack.success:
                raise StreamAuthError(
                    f"auth refused url={self._url} api_key={self._api_key[:4]}... "
                    f"reply={data[:200]!r}"
                )
            log.info(
                "bybit stream authenticated url=%s api_key=%s...", self._url, self._api_key[:4]
            )
            return

    async def _resubscribe(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        # Ready and the topic list are set in one step: a subscribe() from now on sends its
        # own request, one from before is in the list.
        self._ws = ws
        self._ready = True
        topics = list(self._topics)
        if not topics:
            return
        req_id = self._req_id("subscribe")
        self._pending[req_id] = _Pending("subscribe", topics)
        await self._send(ws, wire.WsRequest(op="subscribe", args=topics, req_id=req_id))
        log.info("bybit stream subscribing url=%s topics=%s", self._url, topics)

    async def _drop(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        """Forget the connection, release waiters (their topics stay remembered), close it."""
        self._ready = False
        if self._ws is ws:
            self._ws = None
        for pending in self._pending.values():
            if pending.future is not None and not pending.future.done():
                pending.future.set_result(None)
        self._pending.clear()
        await ws.close()

    # ------------------------------------------------------------ frames

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> tuple[bytes, int]:
        """Return the next text or binary frame and its receive time; ping when it is due."""
        loop = asyncio.get_running_loop()
        interval = self._ping_interval_s
        while True:
            now = loop.time()
            if now - self._last_ping >= interval:
                await self._ping(ws)
            try:
                # A timeout of 0 would mean "no timeout" to aiohttp.
                message = await ws.receive(timeout=max(self._wake_at() - now, 0.001))
            except TimeoutError:
                # Judged only when nothing is waiting to be read: frames buffered while the
                # consumer was busy prove the connection alive.
                if self._is_dead(loop.time()):
                    raise _ConnectionLost(
                        f"no frame for {loop.time() - self._last_rx:.3f} s (dead)"
                    ) from None
                continue
            ts_recv_ns = self._clock.now_ns()
            self._last_rx = loop.time()
            self._unanswered_since = None
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                data = message.data
                return (data if isinstance(data, bytes) else data.encode()), ts_recv_ns
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                who = "client" if self._closing else "server"
                raise _ConnectionLost(f"closed by {who} code={ws.close_code}")
            if message.type is aiohttp.WSMsgType.ERROR:
                raise _ConnectionLost(f"websocket error: {message.data}")

    def _wake_at(self) -> float:
        """Return when to stop waiting for a frame: the next ping, or the dead deadline."""
        interval = self._ping_interval_s
        wake = self._last_ping + interval
        if self._unanswered_since is not None:
            dead_at = max(self._last_rx + 2 * interval, self._unanswered_since + interval)
            wake = min(wake, dead_at)
        return wake

    def _is_dead(self, now: float) -> bool:
        """Return True after two intervals without a frame, a ping unanswered for one of them.

        The second condition spares a connection that was merely not read for a while: the
        ping sent when reading resumes gets its full interval to be answered.
        """
        since = self._unanswered_since
        interval = self._ping_interval_s
        return since is not None and now - since >= interval and now - self._last_rx >= 2 * interval

    def _control_op(self, data: bytes) -> str | None:
        """Return None for a data frame, the op of a control reply, or "" for a bad frame."""
        if b'"topic"' in data[:PROBE_BYTES]:
            return None  # the fast path: data frames name their topic up front
        probe = probe_frame(data)
        if isinstance(probe, FrameDrop):
            self._bad_frame(data, probe)
            return ""
        if probe.topic is not None:
            return None
        return probe.op or ""

    def _on_control(self, op: str, data: bytes) -> None:
        self.stats.control_replies += 1
        if op == "pong":  # the private stream's pong; any frame already proved liveness
            return
        ack = decode_ack(data)
        if isinstance(ack, FrameDrop):
            self._bad_frame(data, ack)
            return
        if ack.op in ("subscribe", "unsubscribe"):
            self._on_ack(ack)
        elif ack.op != "ping":  # "ping" is the public stream's pong
            log.info("bybit stream unexpected control reply op=%s data=%r", ack.op, data[:200])

    def _on_ack(self, ack: wire.WsAck) -> None:
        pending = self._match(ack)
        if pending is None:
            log.warning("bybit stream unmatched ack op=%s req_id=%s", ack.op, ack.req_id)
            return
        # "already subscribed" means the venue has what we asked for.
        ok = ack.success or "already subscribed" in ack.ret_msg
        if pending.future is None:
            if not ok:
                log.error(
                    "bybit stream re-subscribe refused url=%s topics=%s ret_msg=%s",
                    self._url,
                    pending.topics,
                    ack.ret_msg,
                )
            return
        if pending.future.done():
            return
        if ok:
            pending.future.set_result(None)
        else:
            pending.future.set_exception(SubscribeError(ack.op, pending.topics, ack.ret_msg))

    def _match(self, ack: wire.WsAck) -> _Pending | None:
        """Return the request `ack` answers: by req_id, else the oldest of the same op."""
        if ack.req_id and ack.req_id in self._pending:
            return self._pending.pop(ack.req_id)
        for req_id, pending in self._pending.items():
            if pending.op == ack.op:  # the private stream's acks carry no req_id
                del self._pending[req_id]
                return pending
        return None

    def _bad_frame(self, data: bytes, drop: FrameDrop) -> None:
        self.stats.bad_frames += 1
        self.stats.drop(drop.reason)
        log.error(
            "bybit stream bad frame url=%s reason=%s error=%s data=%r",
            self._url,
            drop.reason,
            drop.detail,
            data[:200],
        )

    # ------------------------------------------------------------ requests

    async def _request(self, op: str, topics: list[str], timeout_s: float) -> None:
        ws = self._ws
        if not self._ready or ws is None:
            return  # remembered (or forgotten): a connect sends what is remembered
        req_id = self._req_id(op)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = _Pending(op, topics, future)
        try:
            await self._send(ws, wire.WsRequest(op=op, args=list(topics), req_id=req_id))
            await asyncio.wait_for(future, timeout=timeout_s)
        except _ConnectionLost:
            return  # run() notices the drop too; the remembered topics are re-sent
        except TimeoutError:
            raise AckTimeout(f"no {op} ack within {timeout_s} s topics={topics}") from None
        finally:
            self._pending.pop(req_id, None)

    def _check_not_pump(self, op: str) -> None:
        # Only a wait for an ack can hang; remembering topics while disconnected is fine.
        if self._ready and asyncio.current_task() is self._pump_task:
            raise RuntimeError(
                f"{op}() awaited in the task iterating run(): its ack would never be read; "
                "await it from another task"
            )

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self._last_ping = asyncio.get_running_loop().time()
        if self._unanswered_since is None:
            self._unanswered_since = self._last_ping
        await self._send(ws, wire.WsRequest(op="ping", req_id=self._req_id("ping")))
        self.stats.pings += 1

    async def _send(
        self, ws: aiohttp.ClientWebSocketResponse[bool], request: wire.WsRequest
    ) -> None:
        try:
            await ws.send_frame(_ENCODER.encode(request), aiohttp.WSMsgType.TEXT)
        except (ConnectionError, aiohttp.ClientError) as e:
            raise _ConnectionLost(f"send failed: {type(e).__name__}: {e}") from e

    def _req_id(self, op: str) -> str:
        self._next_id += 1
        return f"{op}-{self._next_id}"
