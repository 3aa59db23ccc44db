"""The bus over real ZeroMQ ipc sockets: the failure cases as well as the happy path."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
import zmq

from shared.bus import (
    BusNode,
    CommandReceiver,
    Delivery,
    Publisher,
    Receiver,
    RefusedCommand,
    SnapshotReply,
    SnapshotServer,
)
from shared.schema import BusMessage, Heartbeat, Quote
from tests.helpers.samples import make_quote, make_submit
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

MakeNode = Callable[..., BusNode]


@contextlib.asynccontextmanager
async def serving(server: SnapshotServer) -> AsyncIterator[None]:
    """Answer snapshot requests in the background, as a publisher's loop would."""

    async def loop() -> None:
        while True:
            await server.wait()
            server.serve_pending()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class QuoteView:
    """A subscriber's derived view: the latest quote per symbol, repaired from snapshots."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def apply(self, message: BusMessage) -> None:
        if isinstance(message, Quote):
            self.quotes[message.symbol] = message

    def apply_snapshot(self, receiver: Receiver, reply: SnapshotReply) -> None:
        for _, message in reply.messages:
            self.apply(message)
        receiver.apply_snapshot(reply)


async def _connected(publisher: Publisher, receiver: Receiver) -> None:
    """Wait until the subscription reached the publisher (heartbeats flow)."""

    async def heard() -> bool:
        publisher.send(Heartbeat(ts_event_ns=0))
        return await receiver.wait(0.01) or False

    deadline = asyncio.get_running_loop().time() + 5
    while not await heard():
        assert asyncio.get_running_loop().time() < deadline, "subscriber never connected"
    receiver.drain()


async def test_late_subscriber_catches_up_from_snapshot(make_node: MakeNode) -> None:
    # Arrange: a publisher that already published three symbols
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    server = feed.snapshot_server(eps.market_data_snapshot, publisher)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        publisher.send(make_quote(symbol, bid="100"))
    publisher.send(make_quote("BTCUSDT", bid="101"))

    # Act: subscribe first, then snapshot, then updates
    receiver = strategy.subscriber([eps.market_data], ["md."])
    await _connected(publisher, receiver)
    view = QuoteView()
    publisher.send(make_quote("ETHUSDT", bid="200"))  # queued before the snapshot: superseded
    async with serving(server):
        reply = await strategy.snapshot_client(eps.market_data_snapshot).fetch_async("md.", 2)
    view.apply_snapshot(receiver, reply)
    publisher.send(make_quote("SOLUSDT", bid="300"))  # newer than the snapshot: applied
    await eventually(lambda: _apply_waiting(view, receiver) or "SOLUSDT" in view.quotes)
    await eventually(
        lambda: _apply_waiting(view, receiver) or view.quotes["SOLUSDT"].bid_price == 300
    )

    # Assert
    assert {s: q.bid_price for s, q in view.quotes.items()} == {
        "BTCUSDT": Decimal("101"),
        "ETHUSDT": Decimal("200"),
        "SOLUSDT": Decimal("300"),
    }
    assert reply.last_seq >= 5  # every message numbered, heartbeats included
    assert reply.topic_seqs[b"md.quote.BTCUSDT."] == 2
    assert strategy.stats.dropped["superseded"] >= 1
    assert strategy.stats.gaps == {}


async def test_hwm_overflow_is_counted_and_the_gap_is_repaired(make_node: MakeNode) -> None:
    # Arrange: tiny HWMs and a subscriber that does not read while the publisher floods
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data, hwm=10)
    server = feed.snapshot_server(eps.market_data_snapshot, publisher)
    receiver = strategy.subscriber([eps.market_data], ["md."], hwm=10)
    await _connected(publisher, receiver)
    view = QuoteView()

    # Act: flood; the last ETH quote cannot fit in the full pipes
    for i in range(20_000):
        publisher.send(make_quote("BTCUSDT", bid=str(1000 + i)))
    publisher.send(make_quote("ETHUSDT", bid="5555"))
    await _drain_into(view, receiver)
    publisher.send(make_quote("BTCUSDT", bid="1"))  # the topic's next frame reveals the gap
    publisher.send(make_quote("SOLUSDT", bid="7"))
    await eventually(lambda: _apply_waiting(view, receiver) or strategy.stats.gaps["feed"] > 0)
    assert receiver.take_resync_requests() == {"feed"}
    assert "ETHUSDT" not in view.quotes
    async with serving(server):
        reply = await strategy.snapshot_client(eps.market_data_snapshot).fetch_async("md.", 2)
    view.apply_snapshot(receiver, reply)

    # Assert: the receiver counted the loss and the gap, the snapshot repaired the view
    assert strategy.stats.gaps["feed"] >= 1
    assert strategy.stats.lost["feed"] > 0
    assert view.quotes["ETHUSDT"].bid_price == Decimal("5555")
    assert view.quotes["SOLUSDT"].bid_price == Decimal("7")


def _apply_waiting(view: QuoteView, receiver: Receiver) -> None:
    for delivery in receiver.drain():
        view.apply(delivery.message)


async def _drain_into(view: QuoteView, receiver: Receiver) -> None:
    """Apply frames until none arrives for 50 ms (the pipes are empty)."""
    while await receiver.wait(0.05):
        _apply_waiting(view, receiver)


async def test_a_stuck_subscriber_does_not_starve_the_others(make_node: MakeNode) -> None:
    # Arrange: one subscriber never reads (a tap piped into a pager), one drains
    feed, stuck_node, live_node = make_node("feed"), make_node("tap"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data, hwm=1_000)
    stuck = stuck_node.subscriber([eps.market_data], ["md."], hwm=100)
    live = live_node.subscriber([eps.market_data], ["md."], hwm=10_000)
    await _connected(publisher, stuck)
    await _connected(publisher, live)
    received: list[Delivery] = []

    # Act: far more than the stuck pipe holds, while the live subscriber keeps up
    for i in range(10_000):
        publisher.send(make_quote("BTCUSDT", bid=str(1000 + i)))
        if i % 5 == 4:
            await live.wait(1)
            received.extend(live.drain())
    # tick() calls into the publisher, as its service loop does: libzmq processes the
    # readers' flow-control commands then.
    await eventually(
        lambda: publisher.tick() or received.extend(live.drain()) or len(received) == 10_000
    )

    # Assert: the stuck pipe overflowed, yet the live subscriber lost nothing
    assert stuck.drain(100_000)[-1].header.seq < publisher.seq_of(b"md.quote.BTCUSDT.")
    assert live_node.stats.lost == {}
    assert received[-1].message.bid_price == Decimal(10_999)  # type: ignore[attr-defined]


async def test_late_subscriber_without_snapshot_is_told_to_resync(make_node: MakeNode) -> None:
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    publisher.send(make_quote("BTCUSDT", bid="100"))  # published before anyone listened
    receiver = strategy.subscriber([eps.market_data], ["md."])
    await _connected(publisher, receiver)
    assert receiver.take_resync_requests() == set()  # heartbeats carry no state to lack

    publisher.send(make_quote("BTCUSDT", bid="101"))  # seq 2: the topic joined mid-stream
    await eventually(lambda: receiver.drain())

    assert receiver.take_resync_requests() == {"feed"}


async def test_restarted_publisher_is_seen_as_a_new_incarnation(make_node: MakeNode) -> None:
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    receiver = strategy.subscriber([eps.market_data], ["md."])
    first = feed.publisher(eps.market_data)
    await _connected(first, receiver)
    first.send(make_quote())
    await eventually(lambda: receiver.drain())
    first._socket.close(linger=0)  # the process "dies"

    second_node = make_node("feed")
    second = second_node.publisher(eps.market_data)
    await _connected(second, receiver)

    assert strategy.stats.restarts["feed"] == 1
    assert strategy.stats.gaps == {}


class _RefusingSocket:
    """A publisher socket that refuses the messages of chosen topics, as a full HWM would."""

    def __init__(self, socket: zmq.Socket[bytes], refuse: set[bytes]) -> None:
        self._socket = socket
        self.refuse = refuse

    def send(self, frame: bytes, flags: int = 0) -> None:
        # The topic is a message's first frame: refusing it refuses the whole message.
        if flags & zmq.SNDMORE and frame in self.refuse:
            raise zmq.Again
        self._socket.send(frame, flags)

    def __getattr__(self, name: str) -> object:
        return getattr(self._socket, name)


async def _receive(receiver: Receiver, into: list[Delivery], count: int) -> None:
    await eventually(lambda: into.extend(receiver.drain()) or len(into) >= count)


async def test_filtered_subscriber_sees_no_gap_when_other_topics_interleave(
    make_node: MakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: one socket carries "a." and "b."; the subscriber takes "a." only
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    receiver = strategy.subscriber([eps.market_data], ["a."])
    await _connected(publisher, receiver)
    receiver.take_resync_requests()  # (nothing: heartbeats alone ask for no snapshot)

    # Act
    for i in range(10):
        publisher.send_on(b"a.", make_quote(bid=str(100 + i)))
        publisher.send_on(b"b.", make_quote(bid=str(200 + i)))
    got: list[Delivery] = []
    await _receive(receiver, got, 10)

    # Assert: every "a." frame, numbered 1..10, and no gap, loss, resync or warning
    assert [(d.topic, d.header.seq) for d in got] == [(b"a.", seq) for seq in range(1, 11)]
    assert strategy.stats.gaps == {}
    assert strategy.stats.lost == {}
    assert receiver.take_resync_requests() == set()
    assert not [r for r in caplog.records if "sequence gap" in r.getMessage()]


async def test_drop_on_one_topic_is_a_gap_on_that_topic_only(
    make_node: MakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange: the subscriber takes both topics; frames of "a." will be refused
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    receiver = strategy.subscriber([eps.market_data], ["a.", "b."])
    await _connected(publisher, receiver)
    refusing = _RefusingSocket(publisher._socket, refuse=set())
    publisher._socket = refusing  # type: ignore[assignment]

    # Act: a.1, then a.2 and a.3 are lost, then a.4; b. flows throughout
    for i in range(1, 5):
        refusing.refuse = {b"a."} if i in (2, 3) else set()
        publisher.send_on(b"a.", make_quote(bid=str(i)))
        publisher.send_on(b"b.", make_quote(bid=str(i)))
    got: list[Delivery] = []
    await _receive(receiver, got, 6)

    # Assert: the sender counted two drops, the receiver one gap of two, on "a." alone
    assert feed.stats.dropped["hwm"] == 2
    assert [d.header.seq for d in got if d.topic == b"a."] == [1, 4]
    assert [d.header.seq for d in got if d.topic == b"b."] == [1, 2, 3, 4]
    assert strategy.stats.gaps == {"feed": 1}
    assert strategy.stats.lost == {"feed": 2}
    assert receiver.take_resync_requests() == {"feed"}
    gaps = [r.getMessage() for r in caplog.records if "sequence gap" in r.getMessage()]
    assert len(gaps) == 1
    assert "topic=b'a.'" in gaps[0]


async def test_snapshot_sets_a_floor_per_topic(make_node: MakeNode) -> None:
    # Arrange: BTC is at seq 3, ETH at 1, XRP at 1 but no longer served (forgotten)
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    server = feed.snapshot_server(eps.market_data_snapshot, publisher)
    receiver = strategy.subscriber([eps.market_data], ["md."])
    await _connected(publisher, receiver)
    publisher.send(make_quote("BTCUSDT", bid="1"))  # queued while the subscriber waits
    publisher.send(make_quote("BTCUSDT", bid="2"))
    publisher.send(make_quote("XRPUSDT", bid="9"))
    publisher.forget(b"md.quote.XRPUSDT.")
    publisher.send(make_quote("ETHUSDT", bid="10"))
    publisher.send(make_quote("BTCUSDT", bid="3"))

    # Act: snapshot, then newer updates on each topic and a topic never seen
    async with serving(server):
        reply = await strategy.snapshot_client(eps.market_data_snapshot).fetch_async("md.", 2)
    receiver.apply_snapshot(reply)
    publisher.send(make_quote("BTCUSDT", bid="4"))
    publisher.send(make_quote("ETHUSDT", bid="11"))
    publisher.send(make_quote("SOLUSDT", bid="20"))
    got: list[Delivery] = []
    await _receive(receiver, got, 3)

    # Assert: the five queued older frames dropped as superseded, the newer delivered
    assert reply.topic_seqs == {
        b"md.quote.BTCUSDT.": 3,
        b"md.quote.ETHUSDT.": 1,
        b"md.quote.XRPUSDT.": 1,
    }
    assert [t for t, _ in reply.messages] == [b"md.quote.BTCUSDT.", b"md.quote.ETHUSDT."]
    assert [(d.topic, d.header.seq) for d in got] == [
        (b"md.quote.BTCUSDT.", 4),
        (b"md.quote.ETHUSDT.", 2),
        (b"md.quote.SOLUSDT.", 1),
    ]
    assert strategy.stats.dropped["superseded"] == 5
    assert strategy.stats.gaps == {}
    assert receiver.take_resync_requests() == set()


async def test_snapshot_from_a_provider_covers_every_numbered_topic(make_node: MakeNode) -> None:
    # Arrange: like the executor, one summary message stands for all the topics' state
    feed, strategy = make_node("executor"), make_node("strategy")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.execution_events)
    summary = make_quote("SUMMARY", bid="1")
    server = feed.snapshot_server(
        eps.execution_snapshot, publisher, lambda _: [(b"exec.snapshot.", summary)]
    )
    receiver = strategy.subscriber([eps.execution_events], ["exec."])
    await _connected(publisher, receiver)
    publisher.send_on(b"exec.order.s1.", make_quote(bid="1"))  # in the summary already

    # Act
    async with serving(server):
        reply = await strategy.snapshot_client(eps.execution_snapshot).fetch_async("exec.", 2)
    receiver.apply_snapshot(reply)
    publisher.send_on(b"exec.order.s1.", make_quote(bid="2"))
    got: list[Delivery] = []
    await _receive(receiver, got, 1)

    # Assert: the order topic got a floor though the reply holds no message of it
    assert reply.messages == [(b"exec.snapshot.", summary)]
    assert reply.topic_seqs == {b"exec.snapshot.": 0, b"exec.order.s1.": 1}
    assert [(d.topic, d.header.seq) for d in got] == [(b"exec.order.s1.", 2)]
    assert strategy.stats.dropped["superseded"] == 1


async def test_restarted_publisher_starts_every_topic_afresh(make_node: MakeNode) -> None:
    # Arrange: the first incarnation got far on two topics
    feed, strategy = make_node("feed"), make_node("strategy")
    eps = feed.settings.endpoints
    receiver = strategy.subscriber([eps.market_data], ["md."])
    first = feed.publisher(eps.market_data)
    await _connected(first, receiver)
    for _ in range(5):
        first.send(make_quote("BTCUSDT"))
        first.send(make_quote("ETHUSDT"))
    got: list[Delivery] = []
    await _receive(receiver, got, 10)
    first._socket.close(linger=0)  # the process "dies"

    # Act: a new incarnation numbers both topics from 1 again
    second = make_node("feed").publisher(eps.market_data)
    await _connected(second, receiver)
    for _ in range(2):
        second.send(make_quote("BTCUSDT"))
        second.send(make_quote("ETHUSDT"))
    got.clear()
    await _receive(receiver, got, 4)

    # Assert: one restart; nothing superseded or counted as a gap on either topic
    assert [(d.topic[9:12], d.header.seq) for d in got] == [
        (b"BTC", 1),
        (b"ETH", 1),
        (b"BTC", 2),
        (b"ETH", 2),
    ]
    assert strategy.stats.restarts["feed"] == 1
    assert strategy.stats.gaps == {}
    assert strategy.stats.dropped["superseded"] == 0


async def test_silent_peer_is_declared_dead_within_three_heartbeat_intervals(
    make_node: MakeNode,
) -> None:
    # Arrange: 20 ms heartbeats
    interval_ns = 20_000_000
    feed = make_node("feed", heartbeat_interval_ms=20)
    strategy = make_node("strategy", heartbeat_interval_ms=20)
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    receiver = strategy.subscriber([eps.market_data], ["md."])
    await _connected(publisher, receiver)
    liveness = strategy.liveness

    # Act: heartbeats flow for a while, then the publisher falls silent
    for _ in range(5):
        publisher.tick()
        await receiver.wait(0.1)
        receiver.drain()
        await asyncio.sleep(0.02)  # pacing the heartbeat sender, not synchronisation
    assert liveness.is_alive("feed", strategy.bus.clock.now_ns())
    last_heard_ns = liveness.last_heard_ns("feed")
    assert last_heard_ns is not None
    await eventually(
        lambda: liveness.dead_peers(strategy.bus.clock.now_ns()) == ["feed"], timeout_s=2
    )

    # Assert: dead exactly once 3 intervals have passed since the last frame, not before
    assert liveness.is_alive("feed", last_heard_ns + 3 * interval_ns - 1)
    assert not liveness.is_alive("feed", last_heard_ns + 3 * interval_ns)


async def test_expired_command_is_refused_with_a_reason(make_node: MakeNode) -> None:
    strategy, executor = make_node("strategy"), make_node("executor")
    eps = executor.settings.endpoints
    inbox = executor.command_receiver(eps.order_commands)
    outbox = strategy.command_sender(eps.order_commands)
    now_ns = strategy.bus.clock.now_ns()
    await eventually(lambda: outbox.send(make_submit(expires_at_ns=now_ns - 1_000_000)))
    outbox.send(make_submit(expires_at_ns=now_ns + 60 * 10**9))

    received: list[Delivery | RefusedCommand] = []
    await eventually(lambda: _receive_into(received, inbox) or len(received) == 2)

    refused, fresh = received
    assert isinstance(refused, RefusedCommand)
    assert refused.reason.startswith("expired: ")
    assert isinstance(fresh, Delivery)
    assert executor.stats.dropped["expired_command"] == 1


def _receive_into(into: list[Delivery | RefusedCommand], inbox: CommandReceiver) -> None:
    if (message := inbox.receive_nowait()) is not None:
        into.append(message)


async def test_command_with_no_receiver_is_counted_not_queued(make_node: MakeNode) -> None:
    strategy = make_node("strategy")
    outbox = strategy.command_sender(strategy.settings.endpoints.order_commands)
    assert outbox.send(make_submit()) is False
    assert strategy.stats.dropped["peer_away"] == 1


async def test_garbage_and_wrongly_signed_frames_are_counted_and_skipped(
    make_node: MakeNode,
) -> None:
    # Arrange: an executor that signs, and a raw socket that sends junk
    executor = make_node("executor", key=b"right-key")
    strategy = make_node("strategy", key=b"right-key")
    impostor = make_node("impostor", key=b"wrong-key")
    eps = executor.settings.endpoints
    inbox = executor.command_receiver(eps.order_commands)
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.PUSH)
    raw.linger = 0
    raw.connect(eps.order_commands)
    good = strategy.command_sender(eps.order_commands)
    forged = impostor.command_sender(eps.order_commands)

    # Act
    raw.send_multipart([b"only", b"two"])
    raw.send_multipart(
        [b"cmd.", strategy.bus.signer.sign(b"cmd.", b"\x93", b"junk"), b"\x93", b"junk"]
    )
    await eventually(lambda: forged.send(make_submit(expires_at_ns=2**62)))
    await eventually(lambda: good.send(make_submit(expires_at_ns=2**62)))
    got: list[Delivery | RefusedCommand] = []
    await eventually(
        lambda: _receive_into(got, inbox) or (got and sum(executor.stats.dropped.values()) == 3)
    )

    # Assert: only the good command arrives; every bad frame has its counter
    assert len(got) == 1
    assert isinstance(got[0], Delivery)
    assert got[0].header.sender == "strategy"
    assert executor.stats.dropped["malformed"] == 1
    assert executor.stats.dropped["undecodable"] == 1
    assert executor.stats.dropped["bad_signature"] == 1
    raw.close()


async def test_signed_frames_flow_over_tcp_loopback(make_node: MakeNode) -> None:
    feed = make_node("feed", key=b"k")
    strategy = make_node("strategy", key=b"k")
    publisher = feed.publisher("tcp://127.0.0.1:0")
    endpoint = publisher._socket.getsockopt(zmq.LAST_ENDPOINT).decode()
    receiver = strategy.subscriber([endpoint], ["md."])
    await _connected(publisher, receiver)
    publisher.send(make_quote())
    got: list[Delivery] = []
    await eventually(lambda: got.extend(receiver.drain()) or got)
    assert got[0].message == make_quote()
    assert strategy.stats.dropped == {}
