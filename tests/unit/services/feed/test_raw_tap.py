"""The feed's raw tap: frames kept in order, sent in batches, a refused batch counted."""

from collections import Counter
from dataclasses import dataclass, field

from services.feed.raw_tap import LINGER_MS, RawTap
from shared.schema import BusMessage, VenueFrame, VenueFrames


@dataclass
class FakeSender:
    accepts: bool = True
    sent: list[BusMessage] = field(default_factory=list)
    closed_with: int | None = None  # the linger it was closed with

    def send(self, message: BusMessage) -> bool:
        self.sent.append(message)
        return self.accepts

    def tick(self) -> None:
        pass

    def close(self, linger_ms: int = 0) -> None:
        self.closed_with = linger_ms


def _batches(sender: FakeSender) -> list[list[tuple[str, bytes, int]]]:
    result = []
    for message in sender.sent:
        assert isinstance(message, VenueFrames)
        result.append([(f.symbol, f.data, f.ts_recv_ns) for f in message.frames])
    return result


def test_frames_go_out_in_full_batches_and_the_rest_at_a_flush() -> None:
    sender, counters = FakeSender(), Counter[str]()
    tap = RawTap(sender, counters, batch=3)  # type: ignore[arg-type]
    for n in range(7):
        tap.add("orderbook.1.ETHUSDT" if n % 2 else "publicTrade.ETHUSDT", b"f%d" % n, n)
    assert [len(b) for b in _batches(sender)] == [3, 3]
    tap.flush()
    tap.flush()  # nothing kept: nothing sent
    assert [frame for batch in _batches(sender) for frame in batch] == [
        ("ETHUSDT", b"f%d" % n, n) for n in range(7)
    ]
    assert counters == {"tap_frames": 7}


def test_a_batch_the_tap_cannot_take_is_counted_frame_by_frame() -> None:
    sender, counters = FakeSender(accepts=False), Counter[str]()
    tap = RawTap(sender, counters, batch=2)  # type: ignore[arg-type]
    for n in range(3):
        tap.add("publicTrade.BTCUSDT", b"{}", n)
    tap.flush()
    assert counters == {"tap_frames": 3, "tap_frames_dropped": 3}


def test_the_symbol_is_the_last_part_of_the_topic() -> None:
    sender = FakeSender()
    tap = RawTap(sender, Counter(), batch=1)  # type: ignore[arg-type]
    tap.add("orderbook.500.1000PEPEUSDT", b"{}", 1)
    (message,) = sender.sent
    assert message == VenueFrames(
        frames=(VenueFrame(symbol="1000PEPEUSDT", data=b"{}", ts_recv_ns=1),)  # type: ignore[arg-type]
    )


def test_at_stop_the_last_frames_go_and_the_tap_lingers_for_them() -> None:
    sender = FakeSender()
    tap = RawTap(sender, Counter(), batch=10)  # type: ignore[arg-type]
    tap.add("publicTrade.BTCUSDT", b"{}", 1)
    tap.close()
    assert len(sender.sent) == 1
    assert sender.closed_with == LINGER_MS > 0
