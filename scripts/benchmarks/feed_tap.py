"""The raw tap's cost on the feed's hot path: the real FeedService._on_frame, tap on and off.

One FeedService, started in this process as under supervisord (its market-data XPUB and,
with `record-raw`, its tap, both bound to ipc:// in a private directory), serving BTCUSDT
from a book already live, takes the bench's orderbook.1 frames (scripts/benchmarks/feed.py)
through `_on_frame`, the method the websocket reader calls (with the tap on, a frame is
kept in a list and every 64th sends the batch: services/feed/raw_tap.py). A subscriber
stands in for each reader (the strategy on the market data, the recorder on the tap) and is
drained between rounds, so every send is copied into a pipe as in a running system; the
tap's reader must get every frame (no `tap_full`), else the figures are refused.

Per frame: `recv_to_publish` is from the call to the Quote's send (taken inside the
Publisher's send), `frame` is the whole call (the tap's send comes after the Quote's). The
tap is switched on and off between rounds of one run, in alternating order, so a noisy
moment on a shared machine hits both; the figures are the medians of the rounds' p50s, and
the ratio, the one to quote, is the median of each pair of rounds' ratio (on / off).
`feed.tap_add_ns` is the tap's own work per frame, alone.
"""

import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import msgspec
from prometheus_client import CollectorRegistry

from scripts.control import free_port
from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from shared.bus import BusNode, Signer
from shared.bybit.stream import StreamFrame
from shared.runtime import LiveClock
from shared.runtime.bootstrap import ServiceContext, Venue
from shared.schema import BusMessage, Quote, VenueFrames, topics
from shared.settings import BusSettings, BybitSettings, Endpoints, Mode, Secrets, SystemSettings

Result = dict[str, Any]
_NS_PER_MS: Final = 1_000_000
_HWM: Final = 1_000_000  # the stand-in readers are drained between rounds, not during them


class _Grid:
    tick_size: Final = Decimal("0.1")
    qty_step: Final = Decimal("0.001")


class _Ts(msgspec.Struct):
    ts: int


def _context(directory: str, node: BusNode) -> ServiceContext:
    venue = Venue(Mode.PAPER, "http://127.0.0.1:1", "ws://127.0.0.1:1", "ws://127.0.0.1:1")
    return ServiceContext(
        name="feed",
        system=SystemSettings(),
        bus=node.settings,
        endpoints=node.settings.endpoints,
        bybit=BybitSettings(),
        venue=venue,
        secrets=Secrets(),
        clock=node.bus.clock,
        node=node,
        run_dir=Path(directory),
        registry=CollectorRegistry(),
    )


class _Rig:
    """A live FeedService, the readers of its two sockets, and the publish-time stamp."""

    def __init__(self, feed: FeedService, readers: BusNode) -> None:
        self.feed = feed
        eps = readers.settings.endpoints
        self.strategy = readers.subscriber([eps.market_data], [topics.MARKET_DATA], hwm=_HWM)
        self.recorder = readers.subscriber([eps.market_data_raw], [topics.RAW], hwm=_HWM)
        self.tap = feed._tap
        self.published_at = 0
        publisher = feed._publisher
        assert publisher is not None
        send = publisher.send

        def stamped(message: BusMessage) -> bool:
            if type(message) is Quote:
                self.published_at = time.perf_counter_ns()
            return send(message)

        publisher.send = stamped  # type: ignore[method-assign]

    def round(self, frames: list[StreamFrame], tap_on: bool) -> tuple[list[int], list[int]]:
        """(recv_to_publish ns, frame ns) of each frame, with the tap on or off."""
        self.feed._tap = self.tap if tap_on else None
        on_frame, clock = self.feed._on_frame, time.perf_counter_ns
        to_publish, whole = [], []
        for frame in frames:
            self.published_at = 0
            started = clock()
            on_frame(frame)
            ended = clock()
            if self.published_at:  # a frame that left the top as it was publishes no Quote
                to_publish.append(self.published_at - started)
            whole.append(ended - started)
        if tap_on:
            assert self.tap is not None
            self.tap.flush()  # the round's last batch (the feed flushes every 100 ms)
        return to_publish, whole

    def add_cost(self, frames: list[StreamFrame]) -> float:
        """The tap's own work per frame: `add` for each, the batch sends included (ns)."""
        assert self.tap is not None
        add, clock = self.tap.add, time.perf_counter_ns
        topic = "orderbook.1.BTCUSDT"
        started = clock()
        for frame in frames:
            add(topic, frame.data, frame.ts_recv_ns)
        self.tap.flush()
        return (clock() - started) / len(frames)

    def drain(self, expected_raw: int) -> None:
        deadline = time.monotonic() + 30
        raw = 0
        while raw < expected_raw and time.monotonic() < deadline:
            for delivery in self.recorder.drain(100_000):
                assert isinstance(delivery.message, VenueFrames)
                raw += len(delivery.message.frames)
        while self.strategy.drain(100_000):
            pass
        if raw != expected_raw:
            raise RuntimeError(f"the tap's reader got {raw} frames of {expected_raw}")


@contextlib.asynccontextmanager
async def _live_feed(symbol: str, first: StreamFrame) -> Any:
    directory = tempfile.mkdtemp(prefix="bench-tap-", dir="/tmp")
    os.chmod(directory, 0o700)
    endpoints = Endpoints(**{f: f"ipc://{directory}/{f}" for f in Endpoints.__struct_fields__})
    settings = BusSettings(endpoints=endpoints, market_data_hwm=_HWM, events_hwm=_HWM)
    node = BusNode("feed", settings, signer=Signer(None), clock=LiveClock())
    readers = BusNode("readers", settings, signer=Signer(None), clock=LiveClock())
    feed = FeedService(FeedSettings(metrics_port=free_port()), _context(directory, node))
    try:
        async with contextlib.AsyncExitStack() as stack:
            await feed.start(stack)
            feed.session.begin_switch(symbol, 1, _Grid())
            feed.session.subscribed(first.ts_recv_ns)
            rig = _Rig(feed, readers)
            # The readers connect (ipc, in the background), then the book goes live.
            deadline = time.monotonic() + 10
            while not rig.recorder.poll(0) and time.monotonic() < deadline:
                assert rig.tap is not None
                rig.tap.tick()  # a heartbeat: it arrives once the reader is connected
                await asyncio.sleep(0.01)
            rig.round([first], tap_on=False)  # the snapshot: the book is live
            yield rig
    finally:
        readers.close()
        shutil.rmtree(directory, ignore_errors=True)


def _stream_frames(frames: list[bytes]) -> list[StreamFrame]:
    """Each frame received 1 ms after its venue time: fresh, as the feed requires."""
    decode = msgspec.json.Decoder(_Ts).decode
    return [StreamFrame(f, decode(f).ts * _NS_PER_MS + _NS_PER_MS) for f in frames]


def _p50_us(samples: list[int]) -> float:
    return round(statistics.median(samples) / 1000, 2)


async def _measure(frames: list[bytes], rounds: int) -> dict[str, list[float]]:
    """Per round, the p50 of each mode; `frames` continue one another (u, seq, ts): each
    round takes the next slice. Also the tap's own cost per frame (`add`, batches sent)."""
    stream = _stream_frames(frames)
    size = (len(stream) - 1) // (2 * rounds)
    slices = iter(stream[1 + i * size : 1 + (i + 1) * size] for i in range(2 * rounds))
    p50s: dict[str, list[float]] = {"publish_on": [], "publish_off": [], "on": [], "off": []}
    async with _live_feed("BTCUSDT", stream[0]) as rig:
        for number in range(rounds):
            for tap_on in (True, False) if number % 2 == 0 else (False, True):
                to_publish, whole = rig.round(next(slices), tap_on)
                mode = "on" if tap_on else "off"
                p50s[f"publish_{mode}"].append(statistics.median(to_publish))
                p50s[mode].append(statistics.median(whole))
                rig.drain(size if tap_on else 0)
        p50s["add"] = [rig.add_cost(stream[1 : 1 + size]) for _ in range(rounds)]
        rig.drain(size * rounds)
        dropped = rig.feed._context.node.stats.dropped
        if dropped:
            raise RuntimeError(f"the feed dropped messages during the bench: {dict(dropped)}")
    return p50s


def _figure(p50s: dict[str, list[float]], on: str, off: str) -> tuple[float, float, float]:
    """The median of the rounds' p50s with the tap on and off (us), and the median of each
    round's ratio: a round on and the round off beside it met the same moment."""
    ratios = [a / b for a, b in zip(p50s[on], p50s[off], strict=True)]
    return (
        round(statistics.median(p50s[on]) / 1000, 2),
        round(statistics.median(p50s[off]) / 1000, 2),
        round(statistics.median(ratios), 3),
    )


def run(frames: list[bytes], rounds: int) -> Iterator[Result]:
    p50s = asyncio.run(_measure(frames, rounds))
    on, off, ratio = _figure(p50s, "publish_on", "publish_off")
    yield {
        "name": "feed.tap_recv_to_publish_p50_us",
        "value": on,
        "unit": "us",
        "tap_off": off,
        "ratio": ratio,
        "frames": "orderbook.1 through FeedService._on_frame",
        "rounds": rounds,
        "frames_per_round": (len(frames) - 1) // (2 * rounds),
    }
    on, off, ratio = _figure(p50s, "on", "off")
    yield {
        "name": "feed.tap_frame_p50_us",
        "value": on,
        "unit": "us",
        "tap_off": off,
        "ratio": ratio,
        "note": "the whole _on_frame call: the tap's add follows the Quote's send",
    }
    yield {
        "name": "feed.tap_add_ns",
        "value": round(statistics.median(p50s["add"])),
        "unit": "ns",
        "note": "RawTap.add per frame, its batch sends included (mean over a round)",
    }
