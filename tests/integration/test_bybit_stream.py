"""BybitStream against a scripted Bybit-like websocket server on 127.0.0.1."""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from shared.bybit.auth import ws_auth_signature
from shared.bybit.errors import AckTimeout, StreamAuthError, SubscribeError
from shared.bybit.stream import (
    BybitStream,
    ReconnectPolicy,
    StreamConnected,
    StreamDisconnected,
    StreamEvent,
    StreamFrame,
)
from shared.runtime import LiveClock
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

KEY = "CFEJUGQEQPPHGOHGHM"
SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
FAST_RECONNECT = ReconnectPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0.1)
TRADE_FRAME = (FIXTURES / "ws_public_linear_publicTrade.json").read_bytes()


@dataclass
class Conn:
    """One client connection as the server saw it."""

    ws: web.WebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)

    def ops(self, op: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("op") == op]


@dataclass
class FakeStreamVenue:
    """Answers ops like Bybit: public acks echo req_id, private ones (private=True) do not."""

    url: str = ""
    private: bool = False
    silent: set[int] = field(default_factory=set)  # connection numbers that ignore pings
    refuse: set[str] = field(default_factory=set)  # topics answered success: false
    ack_gate: asyncio.Event | None = None  # when set: acks wait for it
    answer_acks: bool = True
    garbled_auth_replies: int = 0  # this many auth requests are answered with invalid UTF-8
    conns: list[Conn] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Conn(ws)
        self.conns.append(conn)
        number = len(self.conns) - 1
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            m = json.loads(message.data)
            conn.received.append(m)
            if m["op"] == "ping" and number not in self.silent:
                await ws.send_json(self._ack("ping", m, True, "pong"))
            elif m["op"] == "auth" and self.garbled_auth_replies > 0:
                self.garbled_auth_replies -= 1
                await ws.send_bytes(b'{"success":true,"ret_msg":"\xff","op":"auth"}')
            elif m["op"] == "auth":
                await ws.send_json(self._ack("auth", m, self._auth_ok(m["args"]), ""))
            elif m["op"] in ("subscribe", "unsubscribe") and self.answer_acks:
                if self.ack_gate is not None:
                    await self.ack_gate.wait()
                refused = [t for t in m["args"] if t in self.refuse]
                msg = f"error:handler not found,topic:{refused[0]}" if refused else ""
                await ws.send_json(self._ack(m["op"], m, not refused, msg))
        return ws

    def _ack(self, op: str, request: dict[str, Any], success: bool, msg: str) -> dict[str, Any]:
        ack: dict[str, Any] = {"success": success, "ret_msg": msg, "conn_id": "c1", "op": op}
        if not self.private:
            ack["req_id"] = request.get("req_id", "")
        return ack

    @staticmethod
    def _auth_ok(args: list[Any]) -> bool:
        key, expires_ms, signature = args
        in_future = expires_ms > time.time_ns() // 1_000_000
        return bool(key == KEY and in_future and signature == ws_auth_signature(SECRET, expires_ms))

    def subscribes(self, number: int) -> list[list[str]]:
        return [m["args"] for m in self.conns[number].ops("subscribe")]


class Consumer:
    """Iterates stream.run() in its own task, as a service would, and keeps the events."""

    def __init__(self, stream: BybitStream) -> None:
        self.stream = stream
        self.events: list[StreamEvent] = []
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        async for event in self.stream.run():
            self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        await self.stream.close()
        await asyncio.wait_for(self.task, timeout=2)


@pytest.fixture
async def venue() -> AsyncIterator[FakeStreamVenue]:
    fake = FakeStreamVenue()
    app = web.Application()
    app.router.add_get("/v5/public/linear", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("/v5/public/linear")).replace("http://", "ws://")
    yield fake
    await server.close()


@pytest.fixture
async def streams() -> AsyncIterator[list[Consumer]]:
    """Consumers started by a test; each is stopped after it."""
    consumers: list[Consumer] = []
    yield consumers
    for consumer in consumers:
        await consumer.stream.close()
        if not consumer.task.done():
            await asyncio.wait_for(consumer.task, timeout=2)


def _start(
    venue: FakeStreamVenue,
    streams: list[Consumer],
    *,
    ping_interval_s: float = 20.0,
    private: bool = False,
) -> Consumer:
    stream = BybitStream(
        venue.url,
        api_key=KEY if private else None,
        api_secret=SECRET if private else None,
        clock=LiveClock(),
        ping_interval_s=ping_interval_s,
        reconnect=FAST_RECONNECT,
    )
    consumer = Consumer(stream)
    streams.append(consumer)
    return consumer


# ------------------------------------------------------------------ subscribe


async def test_subscribe_waits_for_the_ack(venue: FakeStreamVenue, streams: list[Consumer]) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)
    venue.ack_gate = asyncio.Event()

    subscribing = asyncio.create_task(consumer.stream.subscribe(["publicTrade.BTCUSDT"]))
    await eventually(lambda: venue.subscribes(0) == [["publicTrade.BTCUSDT"]])
    assert not subscribing.done()
    venue.ack_gate.set()
    await asyncio.wait_for(subscribing, timeout=2)

    assert consumer.stream.topics == ["publicTrade.BTCUSDT"]
    assert consumer.of(StreamFrame) == []  # the ack was consumed, not yielded


async def test_refused_subscribe_raises_with_ret_msg_and_forgets_the_topic(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    venue.refuse = {"publicTrade.NOPEUSDT"}
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)

    with pytest.raises(SubscribeError, match="handler not found") as caught:
        await consumer.stream.subscribe(["publicTrade.NOPEUSDT"])

    assert caught.value.topics == ["publicTrade.NOPEUSDT"]
    assert consumer.stream.topics == []


async def test_unanswered_subscribe_times_out(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    venue.answer_acks = False
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)

    with pytest.raises(AckTimeout):
        await consumer.stream.subscribe(["publicTrade.BTCUSDT"], timeout_s=0.05)

    assert consumer.stream.topics == []


async def test_subscribe_before_connecting_is_sent_on_connect(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    stream = BybitStream(venue.url, reconnect=FAST_RECONNECT)
    await stream.subscribe(["tickers.BTCUSDT", "publicTrade.BTCUSDT"])  # only remembered

    streams.append(Consumer(stream))

    await eventually(lambda: venue.conns and venue.subscribes(0))
    assert venue.subscribes(0) == [["tickers.BTCUSDT", "publicTrade.BTCUSDT"]]


async def test_subscribe_awaited_by_the_consuming_task_raises(venue: FakeStreamVenue) -> None:
    stream = BybitStream(venue.url, reconnect=FAST_RECONNECT)

    async def subscribe_inside_the_loop() -> None:
        async with contextlib.aclosing(stream.run()) as events:
            async for event in events:
                if isinstance(event, StreamConnected):
                    await stream.subscribe(["publicTrade.BTCUSDT"])

    with pytest.raises(RuntimeError, match="another task"):
        await subscribe_inside_the_loop()
    await stream.close()

    assert venue.subscribes(0) == []
    assert stream.topics == []


# ------------------------------------------------------------------ frames


async def test_data_frames_are_yielded_as_received_and_control_replies_are_not(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)
    await consumer.stream.subscribe(["publicTrade.BTCUSDT"])
    before_ns = time.time_ns()

    await venue.conns[0].ws.send_str(TRADE_FRAME.decode())
    await eventually(lambda: consumer.of(StreamFrame))

    (frame,) = consumer.of(StreamFrame)
    assert frame.data == TRADE_FRAME
    assert before_ns <= frame.ts_recv_ns <= time.time_ns()
    assert consumer.stream.stats.frames == 1
    assert consumer.stream.stats.control_replies == 1


async def test_undecodable_frame_is_counted_and_dropped(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)

    await venue.conns[0].ws.send_str("not json")
    await venue.conns[0].ws.send_str(TRADE_FRAME.decode())
    await eventually(lambda: consumer.of(StreamFrame))

    assert consumer.stream.stats.bad_frames == 1
    assert [f.data for f in consumer.of(StreamFrame)] == [TRADE_FRAME]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b'{"op":"pong\xff"}', "not_utf8"),  # a reply's op that is not UTF-8
        (b'{"success":true,"ret_msg":"\xc3","op":"subscribe"}', "not_utf8"),  # an ack's text
        (b'{"success":"yes","op":"subscribe"}', "wrong_shape"),
        (b'{"conn_id":"c1"}', "no_topic_nor_op"),
        (b"[" * 5000, "wrong_shape"),
        (b'{"op":', "not_json"),
    ],
)
async def test_a_binary_frame_that_cannot_be_read_is_counted_by_reason_and_run_goes_on(
    venue: FakeStreamVenue, streams: list[Consumer], frame: bytes, reason: str
) -> None:
    # Before: invalid UTF-8 raised UnicodeDecodeError out of run(), ending the stream.
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)

    await venue.conns[0].ws.send_bytes(frame)
    await venue.conns[0].ws.send_str(TRADE_FRAME.decode())
    await eventually(lambda: consumer.of(StreamFrame) or consumer.task.done())

    assert not consumer.task.done()
    assert [f.data for f in consumer.of(StreamFrame)] == [TRADE_FRAME]
    assert consumer.stream.stats.bad_frames == 1
    assert consumer.stream.stats.dropped == {reason: 1}
    assert consumer.stream.stats.counts()[f"dropped_{reason}"] == 1


async def test_an_unreadable_auth_reply_reconnects_instead_of_ending_run(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    venue.private = True
    venue.garbled_auth_replies = 1
    consumer = _start(venue, streams, private=True)

    await eventually(lambda: consumer.stream.connected or consumer.task.done())

    assert not consumer.task.done()
    assert len(venue.conns) == 2
    assert consumer.stream.stats.connect_failures == 1
    assert consumer.stream.stats.dropped == {"not_utf8": 1}


# ------------------------------------------------------------------ reconnect, ping, liveness


async def test_reconnect_after_the_server_drops_resubscribes_the_same_topics(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)
    await consumer.stream.subscribe(["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"])
    await consumer.stream.subscribe(["tickers.BTCUSDT"])

    await venue.conns[0].ws.close()
    await eventually(lambda: len(venue.conns) == 2 and venue.subscribes(1))

    assert venue.subscribes(1) == [
        ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"]
    ]
    await eventually(lambda: len(consumer.of(StreamConnected)) == 2)
    kinds = [type(e) for e in consumer.events]
    assert kinds == [StreamConnected, StreamDisconnected, StreamConnected]
    assert consumer.stream.stats.disconnects == 1


async def test_a_connection_that_dies_at_once_does_not_reset_the_backoff(
    venue: FakeStreamVenue, streams: list[Consumer], monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []

    async def record(self: BybitStream, delay_s: float, attempt: int) -> None:
        pauses.append(delay_s)  # and no real wait: the sequence is what matters

    monkeypatch.setattr(BybitStream, "_pause", record)
    _start(venue, streams)
    for dropped in range(1, 4):  # accept, then drop at once, three times
        await eventually(lambda d=dropped: len(venue.conns) == d)
        await venue.conns[-1].ws.close()
        await eventually(lambda d=dropped: len(pauses) == d)

    # Backoff doubles across the flapping connections (jitter is +/-10%) instead of resetting.
    assert all(later > earlier * 1.5 for earlier, later in itertools.pairwise(pauses))


async def test_unsubscribed_topics_are_not_resubscribed(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)
    await consumer.stream.subscribe(["publicTrade.BTCUSDT", "publicTrade.ETHUSDT"])

    await consumer.stream.unsubscribe(["publicTrade.BTCUSDT"])
    await venue.conns[0].ws.close()
    await eventually(lambda: len(venue.conns) == 2 and venue.subscribes(1))

    assert venue.conns[0].ops("unsubscribe")[0]["args"] == ["publicTrade.BTCUSDT"]
    assert venue.subscribes(1) == [["publicTrade.ETHUSDT"]]


async def test_ping_is_sent_on_the_interval(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams, ping_interval_s=0.1)

    await eventually(lambda: venue.conns and len(venue.conns[0].ops("ping")) >= 3)

    pings = venue.conns[0].ops("ping")
    assert all(p["req_id"] for p in pings)
    assert len({p["req_id"] for p in pings}) == len(pings)
    assert consumer.stream.stats.disconnects == 0  # pongs keep the connection alive


async def test_dead_connection_is_detected_and_reconnected(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    venue.silent = {0}  # the first connection never answers a ping
    consumer = _start(venue, streams, ping_interval_s=0.05)

    await eventually(lambda: len(consumer.of(StreamConnected)) == 2)

    (disconnected,) = consumer.of(StreamDisconnected)
    assert "no frame" in disconnected.reason
    assert len(venue.conns[0].ops("ping")) >= 1


async def test_close_ends_run_and_closes_the_socket(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)

    await consumer.stop()

    assert consumer.task.done()
    assert isinstance(consumer.events[-1], StreamDisconnected)
    await eventually(lambda: venue.conns[0].ws.closed)
    assert len(venue.conns) == 1


async def test_cancelling_the_consumer_closes_the_socket(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    consumer = _start(venue, streams)
    await eventually(lambda: consumer.stream.connected)

    consumer.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer.task

    await eventually(lambda: venue.conns[0].ws.closed)
    assert not consumer.stream.connected


# ------------------------------------------------------------------ private auth


async def test_private_auth_is_signed_and_private_acks_match_without_req_id(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    venue.private = True
    consumer = _start(venue, streams, private=True)
    await eventually(lambda: consumer.stream.connected)

    await consumer.stream.subscribe(["order"])
    await consumer.stream.subscribe(["execution", "position"])

    auth = venue.conns[0].received[0]
    assert auth["op"] == "auth"
    key, expires_ms, signature = auth["args"]
    assert key == KEY
    assert signature == ws_auth_signature(SECRET, expires_ms)
    assert 9_000 < expires_ms - time.time_ns() // 1_000_000 <= 10_000
    assert consumer.stream.topics == ["order", "execution", "position"]


async def test_refused_auth_ends_run_with_an_error(
    venue: FakeStreamVenue, streams: list[Consumer]
) -> None:
    venue.private = True
    stream = BybitStream(venue.url, api_key=KEY, api_secret="wrong", reconnect=FAST_RECONNECT)
    consumer = Consumer(stream)
    streams.append(consumer)

    with pytest.raises(StreamAuthError, match="auth refused"):
        await asyncio.wait_for(consumer.task, timeout=2)

    assert len(venue.conns) == 1
    assert "wrong" not in str(consumer.task.exception())
