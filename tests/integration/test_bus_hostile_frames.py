"""One hostile frame on a live socket is counted and dropped; the socket serves the next one.

Over real ZeroMQ ipc sockets: a subscriber, the command PULL, a snapshot ROUTER and a
snapshot DEALER each receive a frame whose header's sender is not UTF-8 (which used to
raise UnicodeDecodeError out of the receiving loop and end the service), then a good one.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import msgspec
import pytest
import zmq

from shared.bus import (
    BusNode,
    Delivery,
    FrameError,
    Header,
    RefusedCommand,
    encode_frames,
)
from shared.schema import SCHEMA_VERSION, BusMessage, SnapshotEnd, SnapshotRequest
from tests.helpers.samples import make_quote, make_submit
from tests.helpers.waiting import eventually
from tests.integration.test_bus import serving

pytestmark = pytest.mark.integration

MakeNode = Callable[..., BusNode]
T = TypeVar("T")
BAD_SENDER = b"str\xffategy"  # one byte that is not UTF-8


def hostile_frames(node: BusNode, topic: bytes, message: BusMessage) -> list[bytes]:
    """A well-signed frame whose header's sender is not valid UTF-8."""
    now = node.bus.clock.now_ns()
    placeholder = "s" * len(BAD_SENDER)
    good = encode_frames(
        topic, Header(SCHEMA_VERSION, placeholder, now, 1, now), message, node.bus.signer
    )
    header = good[2].replace(placeholder.encode(), BAD_SENDER, 1)
    return [topic, node.bus.signer.sign(topic, header, good[3]), header, good[3]]


def good_frames(node: BusNode, topic: bytes, message: BusMessage, seq: int = 1) -> list[bytes]:
    now = node.bus.clock.now_ns()
    header = Header(SCHEMA_VERSION, node.name, now, seq, now)
    return encode_frames(topic, header, message, node.bus.signer)


async def test_a_subscriber_drops_the_frame_and_delivers_the_next(make_node: MakeNode) -> None:
    # Arrange: a raw XPUB (to see the subscription arrive) and the strategy's subscriber
    feed, strategy = make_node("feed", key=b"k"), make_node("strategy", key=b"k")
    endpoint = feed.settings.endpoints.market_data
    raw = zmq.Context.instance().socket(zmq.XPUB)
    raw.linger = 0
    raw.bind(endpoint)
    receiver = strategy.subscriber([endpoint], ["md."])
    assert raw.poll(5000), "no subscription arrived"
    raw.recv()

    # Act
    raw.send_multipart(hostile_frames(feed, b"md.quote.BTCUSDT.", make_quote()))
    raw.send_multipart(good_frames(feed, b"md.quote.BTCUSDT.", make_quote()))
    got: list[Delivery] = []
    await eventually(lambda: got.extend(receiver.drain()) or got)

    # Assert
    assert [d.message for d in got] == [make_quote()]
    assert strategy.stats.dropped == {"undecodable": 1}
    raw.close()


async def test_the_command_pull_drops_the_frame_and_takes_the_next(make_node: MakeNode) -> None:
    executor, strategy = make_node("executor", key=b"k"), make_node("strategy", key=b"k")
    endpoint = executor.settings.endpoints.order_commands
    inbox = executor.command_receiver(endpoint)
    raw = zmq.Context.instance().socket(zmq.PUSH)
    raw.linger = 0
    raw.connect(endpoint)
    nan_qty = msgspec.to_builtins(make_submit(expires_at_ns=2**62)) | {"qty": "NaN"}
    good = good_frames(strategy, b"cmd.", make_submit(expires_at_ns=2**62))
    nan_body = msgspec.msgpack.encode(nan_qty)

    raw.send_multipart(hostile_frames(strategy, b"cmd.", make_submit(expires_at_ns=2**62)))
    raw.send_multipart(
        [b"cmd.", strategy.bus.signer.sign(b"cmd.", good[2], nan_body), good[2], nan_body]
    )
    raw.send_multipart(good)
    got: list[Delivery | RefusedCommand] = []
    await eventually(lambda: ((m := inbox.receive_nowait()) is not None and got.append(m)) or got)

    assert isinstance(got[0], Delivery)
    assert got[0].message == make_submit(expires_at_ns=2**62)
    assert executor.stats.dropped == {"undecodable": 2}
    raw.close()


async def test_a_snapshot_router_drops_the_request_and_answers_the_next(
    make_node: MakeNode,
) -> None:
    feed, strategy = make_node("feed", key=b"k"), make_node("strategy", key=b"k")
    eps = feed.settings.endpoints
    publisher = feed.publisher(eps.market_data)
    server = feed.snapshot_server(eps.market_data_snapshot, publisher)
    publisher.send(make_quote())
    raw = zmq.Context.instance().socket(zmq.DEALER)
    raw.linger = 0
    raw.connect(eps.market_data_snapshot)

    async with serving(server):
        raw.send_multipart(hostile_frames(strategy, b"snap.request.", _request()))
        await eventually(lambda: feed.stats.dropped == {"undecodable": 1})
        reply = await strategy.snapshot_client(eps.market_data_snapshot).fetch_async("md.", 5)

    assert reply.messages == [(b"md.quote.BTCUSDT.", make_quote())]
    raw.close()


async def test_a_snapshot_dealer_refuses_the_reply_and_takes_the_next(
    make_node: MakeNode,
) -> None:
    # Arrange: a raw ROUTER answers the first request with a hostile frame, the second well
    feed, strategy = make_node("feed", key=b"k"), make_node("strategy", key=b"k")
    endpoint = feed.settings.endpoints.market_data_snapshot
    router = zmq.Context.instance().socket(zmq.ROUTER)
    router.linger = 0
    router.bind(endpoint)
    client = strategy.snapshot_client(endpoint)
    end = SnapshotEnd(last_seq=0, count=0, ts_event_ns=0)

    def answer(frames: list[bytes]) -> bool:
        if not router.poll(0):
            return False
        identity = router.recv_multipart()[0]
        router.send_multipart([identity, *frames])
        return True

    # Act, Assert: the hostile reply is counted and refused as a FrameError
    with pytest.raises(FrameError):
        await _fetch_answered(
            client.fetch_async("md.", 5), lambda: answer(hostile_frames(feed, b"snap.end.", end))
        )
    assert strategy.stats.dropped == {"undecodable": 1}
    reply = await _fetch_answered(
        client.fetch_async("md.", 5), lambda: answer(good_frames(feed, b"snap.end.", end))
    )
    assert reply.sender == "feed"
    router.close()


def _request() -> BusMessage:
    return SnapshotRequest(topic_prefix="md.", ts_event_ns=0)


async def _fetch_answered(fetch: Coroutine[Any, Any, T], answer: Callable[[], bool]) -> T:
    """Run `fetch` while `answer` plays the server: it answers once a request is waiting."""
    task = asyncio.create_task(fetch)
    await eventually(answer)
    return await task
