"""The raw tap over real ZeroMQ: a frame its one reader cannot take is counted at the sender."""

from collections.abc import Callable

import pytest

from shared.bus import BusNode
from shared.schema import Symbol, VenueFrame, VenueFrames, topics
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]
FRAME = b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}' * 8


def _frame(n: int) -> VenueFrames:
    return VenueFrames(frames=(VenueFrame(symbol=Symbol("BTCUSDT"), data=FRAME, ts_recv_ns=n),))


def _number(message: object) -> int:
    assert isinstance(message, VenueFrames)
    return message.frames[0].ts_recv_ns


async def test_a_reader_behind_loses_frames_the_sender_counts_as_tap_full(
    make_node: MakeNode,
) -> None:
    feed, recorder = make_node("feed"), make_node("recorder")
    eps = feed.settings.endpoints
    tap = feed.tap(eps.market_data_raw, hwm=10)
    reader = recorder.subscriber([eps.market_data_raw], [topics.RAW], hwm=10)
    assert tap.send(_frame(0))  # nothing connected yet: goes nowhere, not a drop
    await eventually(lambda: tap.send(_frame(0)) and reader.receive_nowait() is not None)
    sent = 20_000  # more than the two pipes and the kernel's socket buffer hold
    outcomes = [tap.send(_frame(n)) for n in range(1, sent + 1)]
    dropped = outcomes.count(False)
    received: list[int] = []

    def drained() -> bool:
        for delivery in reader.drain():
            number = _number(delivery.message)
            if number:  # not one of the frames sent while connecting
                received.append(number)
        return len(received) >= sent - dropped

    await eventually(drained)
    assert tap.send(_frame(sent + 1))  # the reader caught up: a frame after the losses
    await eventually(lambda: drained() and received[-1] == sent + 1)
    assert dropped > 0
    assert feed.stats.dropped["tap_full"] == dropped
    assert recorder.stats.lost["feed"] == dropped  # every loss seen as a gap by the reader too
    assert received == [n for n, ok in enumerate([*outcomes, True], start=1) if ok]  # in order


async def test_the_tap_sends_on_its_own_topic(make_node: MakeNode) -> None:
    feed, recorder = make_node("feed"), make_node("recorder")
    eps = feed.settings.endpoints
    tap = feed.tap(eps.market_data_raw)
    reader = recorder.subscriber([eps.market_data_raw], [topics.RAW])
    await eventually(lambda: tap.send(_frame(0)) and reader.receive_nowait() is not None)
    tap.send(_frame(7))
    delivery = None

    def arrived() -> bool:
        nonlocal delivery
        delivery = reader.receive_nowait()
        return delivery is not None and delivery.message == _frame(7)  # not a connecting one

    await eventually(arrived)
    assert delivery is not None
    assert delivery.topic == b"raw."
    assert delivery.message == _frame(7)
