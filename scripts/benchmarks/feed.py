"""Feed benchmarks: the feed's hot path per venue frame, done our way and the plain way.

Per frame, as the feed does it: stamp the receive time, decode the raw websocket bytes
(msgspec, to shared.bybit.wire types), check every price and size (finite, > 0, on the
instrument's tick and step: shared.bybit.validate), apply to the local book
(services.feed.book), build a Quote (one Trade per trade for publicTrade frames) and publish
it with a real Publisher, on an XPUB bound to ipc:// in a fresh private directory. No
subscriber is connected: the Publisher still numbers, encodes and hands every message to
libzmq (its `sent` counter is checked against the messages built), libzmq just has no pipe
to copy them to. The plain way does the same with json.loads, dicts, Decimal(str) and a dict
book whose best price is max()/min(), and checks nothing.

The raw tap's cost (the recorder's copy of every frame) is measured on the real
FeedService, tap on and off in alternating rounds: scripts/benchmarks/feed_tap.py.

Frames are bytes shaped like the captures in tests/fixtures/bybit (orderbook.1 snapshots,
20-level deltas on a 50-deep book derived from a simulated venue book, publicTrade frames with
1-3 trades), with prices, sizes, u and seq moving from frame to frame. Rounds of our way and
the plain way are interleaved so that a noisy moment on a shared machine hits both.
"""

import collections
import contextlib
import heapq
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final

import msgspec
import zmq

from scripts.benchmarks import feed_tap
from services.feed.book import BookUpdate, OrderBook
from shared.bus import BusNode, Header, Publisher, Signer, encode_frames, open_publisher
from shared.bus.sockets import new_context
from shared.bybit import wire
from shared.bybit.translate import to_trade
from shared.bybit.validate import book_refusal, trade_refusal
from shared.runtime import LiveClock
from shared.schema import SCHEMA_VERSION, BusMessage, Quote, Symbol, topic_for
from shared.settings import BusSettings, Endpoints

Result = dict[str, Any]
Handler = Callable[[bytes], None]  # one venue frame in
Send = Callable[[BusMessage], bool]  # Publisher.send, or a sink that discards

_SYMBOL: Final = "BTCUSDT"
_EPOCH: Final = 1
_NS_PER_MS: Final = 1_000_000
_TS0_MS: Final = 1_763_700_000_000
_MID0: Final = 640_000  # in ticks of 0.10: 64000.00
_DEPTH: Final = 50
_LEVELS_PER_SIDE: Final = 11  # venue changes per side per delta; window moves add the rest
_BREAKDOWN_FRAMES: Final = 5_000  # per round and stream, for the time per stage
_APPLIED: Final = BookUpdate.APPLIED


class _Grid:
    tick_size: Final = Decimal("0.1")  # BTCUSDT's grid, as the frames below are built on
    qty_step: Final = Decimal("0.001")


_GRID: Final = _Grid()


# ---------------------------------------------------------------- frames (raw bytes)


def _price(ticks: int) -> str:
    return f"{ticks // 10}.{ticks % 10}0"  # "64000.10": tick 0.10, two decimals, as Bybit


def _qty(thousandths: int) -> str:
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def _levels_json(levels: list[tuple[int, int]]) -> str:
    return ",".join(f'["{_price(p)}","{_qty(q)}"]' for p, q in levels)


def _book_frame(
    depth: int, kind: str, ts_ms: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
) -> Callable[[int, int], bytes]:
    head = f'{{"topic":"orderbook.{depth}.{_SYMBOL}","type":"{kind}","ts":{ts_ms},'
    body = f'"data":{{"s":"{_SYMBOL}","b":[{_levels_json(bids)}],"a":[{_levels_json(asks)}],'
    return lambda u, seq: f'{head}{body}"u":{u},"seq":{seq}}},"cts":{ts_ms - 2}}}'.encode()


def _ob1_frames(count: int, rng: random.Random) -> list[bytes]:
    """orderbook.1 snapshots, as ws_public_linear_orderbook1_snapshot.json, top moving."""
    frames = []
    mid, u, seq, ts = _MID0, 24_042_997, 209_972_815_373, _TS0_MS
    for _ in range(count):
        if rng.random() < 0.3:
            mid += rng.choice((-1, 1))
        spread = 1 if rng.random() < 0.9 else 2
        bid = [(mid, rng.randint(1, 300_000))]
        ask = [(mid + spread, rng.randint(1, 300_000))]
        u, seq, ts = u + 1, seq + rng.randint(1, 40), ts + 10
        frames.append(_book_frame(1, "snapshot", ts, bid, ask)(u, seq))
    return frames


class _VenueBook:
    """A venue book in integer ticks and thousandths; its top-50 windows give Bybit's deltas."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.mid = _MID0
        self.bids = {
            self.mid - i: rng.randint(1, 50_000) for i in range(1, 200) if rng.random() < 0.8
        }
        self.asks = {
            self.mid + i: rng.randint(1, 50_000) for i in range(1, 200) if rng.random() < 0.8
        }

    def windows(self) -> tuple[dict[int, int], dict[int, int]]:
        top_bids = heapq.nlargest(_DEPTH, self.bids)
        top_asks = heapq.nsmallest(_DEPTH, self.asks)
        return {p: self.bids[p] for p in top_bids}, {p: self.asks[p] for p in top_asks}

    def step(self) -> None:
        rng = self.rng
        if rng.random() < 0.1:  # a trade through the top: the mid moves, one side loses levels
            self.mid += rng.choice((-2, -1, 1, 2))
            self.asks = {p: q for p, q in self.asks.items() if p > self.mid}
            self.bids = {p: q for p, q in self.bids.items() if p < self.mid}
        for side, sign in ((self.bids, -1), (self.asks, 1)):
            for _ in range(_LEVELS_PER_SIDE):
                near = int(rng.expovariate(1 / 20)) if rng.random() < 0.7 else rng.randint(0, 120)
                tick = self.mid + sign * (1 + min(near, 198))
                if tick in side and rng.random() < 0.25:
                    del side[tick]
                else:
                    side[tick] = rng.randint(1, 50_000)


def _diff(old: dict[int, int], new: dict[int, int], *, descending: bool) -> list[tuple[int, int]]:
    changed = [(p, q) for p, q in new.items() if old.get(p) != q]
    removed = [(p, 0) for p in old if p not in new]
    return sorted(changed + removed, reverse=descending)


def _ob50_frames(count: int, rng: random.Random) -> tuple[list[bytes], float]:
    """A 50-level snapshot then `count` deltas; return them and the mean levels per delta."""
    venue = _VenueBook(rng)
    u, seq, ts = 3_545_397, 8_096_804_775, _TS0_MS
    bids, asks = venue.windows()
    snapshot = _book_frame(
        _DEPTH, "snapshot", ts, sorted(bids.items(), reverse=True), sorted(asks.items())
    )
    frames = [snapshot(u, seq)]
    levels = 0
    while len(frames) <= count:
        venue.step()
        new_bids, new_asks = venue.windows()
        delta_bids = _diff(bids, new_bids, descending=True)
        delta_asks = _diff(asks, new_asks, descending=False)
        if not delta_bids and not delta_asks:
            continue
        bids, asks = new_bids, new_asks
        levels += len(delta_bids) + len(delta_asks)
        u, seq, ts = u + 1, seq + rng.randint(1, 40), ts + 20
        frames.append(_book_frame(_DEPTH, "delta", ts, delta_bids, delta_asks)(u, seq))
    return frames, levels / count


def _trade_frames(count: int, rng: random.Random) -> list[bytes]:
    """publicTrade frames of 1-3 trades, as ws_public_linear_publicTrade_multi.json."""
    frames = []
    price, seq, ts = _MID0, 430_879_434_439, _TS0_MS
    for _ in range(count):
        ts += rng.randint(1, 30)
        seq += rng.randint(1, 40)
        side = rng.choice(("Buy", "Sell"))
        trades = []
        for _ in range(rng.randint(1, 3)):
            price += rng.choice((-1, 0, 0, 1))
            trade_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            trades.append(
                f'{{"T":{ts - 1},"s":"{_SYMBOL}","S":"{side}","v":"{_qty(rng.randint(1, 5000))}",'
                f'"p":"{_price(price)}","L":"ZeroPlusTick","i":"{trade_id}","BT":false,'
                f'"RPI":false,"seq":{seq}}}'
            )
        frames.append(
            f'{{"topic":"publicTrade.{_SYMBOL}","type":"snapshot","ts":{ts},'
            f'"data":[{",".join(trades)}]}}'.encode()
        )
    return frames


# ---------------------------------------------------------------- our way: the feed's hot path


def _fast_book(send: Send, depth: int) -> Handler:
    decode = msgspec.json.Decoder(wire.OrderBookMessage).decode
    book = OrderBook(_SYMBOL, depth)
    apply, top, now_ns = book.apply, book.top, time.time_ns
    symbol = Symbol(_SYMBOL)

    def handle(frame: bytes) -> None:
        recv_ns = now_ns()
        message = decode(frame)
        if book_refusal(message.data, _GRID) is not None:
            raise AssertionError(f"the bench's own frame was refused: {frame[:80]!r}")
        if apply(message, recv_ns) is _APPLIED and (best := top()) is not None:
            send(
                Quote(
                    symbol=symbol,
                    epoch=_EPOCH,
                    bid_price=best[0],
                    bid_qty=best[1],
                    ask_price=best[2],
                    ask_qty=best[3],
                    venue_update_id=message.data.u,
                    ts_event_ns=message.ts * _NS_PER_MS,
                    ts_recv_ns=recv_ns,
                )
            )

    return handle


def _fast_trades(send: Send) -> Handler:
    decode = msgspec.json.Decoder(wire.PublicTradeMessage).decode
    now_ns = time.time_ns

    def handle(frame: bytes) -> None:
        recv_ns = now_ns()
        for trade in decode(frame).data:
            if trade_refusal(trade, _GRID) is None:
                send(to_trade(trade, _EPOCH, recv_ns))

    return handle


# ---------------------------------------------------------------- the plain way


def _plain_book(send: Send, depth: int) -> Handler:
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    last_u = [0]

    def handle(frame: bytes) -> None:
        recv_ns = time.time_ns()
        message = json.loads(frame)
        data = message["data"]
        u = data["u"]
        if depth == 1 or message["type"] == "snapshot":
            bids.clear()
            asks.clear()
        elif u != last_u[0] + 1:
            return
        for side, levels in ((bids, data["b"]), (asks, data["a"])):
            for price_text, qty_text in levels:
                price, qty = Decimal(price_text), Decimal(qty_text)
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
        last_u[0] = u
        if not bids or not asks:
            return
        best_bid, best_ask = max(bids), min(asks)
        if best_bid >= best_ask:
            return
        send(
            Quote(
                symbol=Symbol(data["s"]),
                epoch=_EPOCH,
                bid_price=best_bid,
                bid_qty=bids[best_bid],
                ask_price=best_ask,
                ask_qty=asks[best_ask],
                venue_update_id=u,
                ts_event_ns=message["ts"] * _NS_PER_MS,
                ts_recv_ns=recv_ns,
            )
        )

    return handle


# ---------------------------------------------------------------- running


def _discard(message: BusMessage) -> bool:
    return True


@contextlib.contextmanager
def _bus() -> Iterator[tuple[BusNode, Publisher, str]]:
    directory = tempfile.mkdtemp(prefix="bench-feed-", dir="/tmp")
    os.chmod(directory, 0o700)
    endpoints = Endpoints(**{f: f"ipc://{directory}/{f}" for f in Endpoints.__struct_fields__})
    settings = BusSettings(endpoints=endpoints, market_data_hwm=200_000, events_hwm=200_000)
    node = BusNode("feed", settings, signer=Signer(None), clock=LiveClock())
    try:
        yield node, node.publisher(endpoints.market_data), directory
    finally:
        node.close()
        shutil.rmtree(directory, ignore_errors=True)


def _rate(handler: Handler, frames: list[bytes]) -> float:
    """Run every frame through `handler`; return frames per second."""
    started = time.perf_counter_ns()
    for frame in frames:
        handler(frame)
    return len(frames) / ((time.perf_counter_ns() - started) / 1e9)


def _latencies(handler: Handler, frames: list[bytes]) -> list[int]:
    """Return each frame's ns from before decode to after publish."""
    clock = time.perf_counter_ns
    samples = []
    for frame in frames:
        started = clock()
        handler(frame)
        samples.append(clock() - started)
    return samples


def _pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def _breakdown(
    frames: list[bytes], depth: int, publisher: Publisher, directory: str
) -> dict[str, float]:
    """Time each stage of the orderbook hot path, in ns per frame, with timers between stages.

    `publisher_send` is then taken apart on the same messages: the topic, the msgpack
    header and body, and the four-frame send on a bare XPUB (no subscriber, like the
    Publisher's), once as the Publisher does it (send_multipart with flags=zmq.NOBLOCK) and
    once as four send() calls with the flags as plain ints (pyzmq's send_multipart ORs
    zmq.SNDMORE, an enum.Flag, into the flags of every part, at Python speed).
    """
    clock, now_ns = time.perf_counter_ns, time.time_ns
    decode = msgspec.json.Decoder(wire.OrderBookMessage).decode
    book = OrderBook(_SYMBOL, depth)
    header = Header(SCHEMA_VERSION, "feed", 1, 1, 0)
    signer = Signer(None)
    more, last = int(zmq.SNDMORE | zmq.NOBLOCK), int(zmq.NOBLOCK)
    spent = collections.Counter[str]()
    ctx = new_context()
    try:
        bare = open_publisher(ctx, f"ipc://{directory}/bare", hwm=200_000)
        for frame in frames:
            t0 = clock()
            recv_ns = now_ns()
            message = decode(frame)
            t1 = clock()
            refused = book_refusal(message.data, _GRID)
            t1b = clock()
            assert refused is None
            book.apply(message, recv_ns)
            best = book.top()
            t2 = clock()
            assert best is not None
            quote = Quote(
                symbol=Symbol(_SYMBOL),
                epoch=_EPOCH,
                bid_price=best[0],
                bid_qty=best[1],
                ask_price=best[2],
                ask_qty=best[3],
                venue_update_id=message.data.u,
                ts_event_ns=message.ts * _NS_PER_MS,
                ts_recv_ns=recv_ns,
            )
            t3 = clock()
            publisher.send(quote)
            t4 = clock()
            topic = topic_for(quote, "feed")
            t5 = clock()
            parts = encode_frames(topic, header, quote, signer)
            t6 = clock()
            bare.send_multipart(parts, flags=zmq.NOBLOCK)
            t7 = clock()
            bare.send(parts[0], more)
            bare.send(parts[1], more)
            bare.send(parts[2], more)
            bare.send(parts[3], last)
            t8 = clock()
            spent["decode"] += t1 - t0
            spent["check"] += t1b - t1
            spent["apply_top"] += t2 - t1b
            spent["build_quote"] += t3 - t2
            spent["publisher_send"] += t4 - t3
            spent["send_topic_for"] += t5 - t4
            spent["send_encode_frames"] += t6 - t5
            spent["send_multipart_noblock"] += t7 - t6
            spent["send_4_parts_int_flags"] += t8 - t7
    finally:
        ctx.destroy(linger=0)
    return {name: ns / len(frames) for name, ns in spent.items()}


def _median_breakdown(passes: list[dict[str, float]]) -> Result:
    stages = {name: round(statistics.median(p[name] for p in passes)) for name in passes[0]}
    hot_path = ("decode", "check", "apply_top", "build_quote", "publisher_send")
    return {"value": sum(stages[name] for name in hot_path), "unit": "ns", **stages}


class _SendCount:
    """Check that the Publisher sent exactly the messages a run built, none dropped."""

    def __init__(self, node: BusNode) -> None:
        self._stats = node.stats
        self._before = self._stats.sent

    def check(self, expected: int) -> None:
        sent, self._before = self._stats.sent - self._before, self._stats.sent
        if sent != expected or self._stats.dropped:
            raise RuntimeError(
                f"publisher sent {sent} messages, expected {expected}"
                f" (dropped {dict(self._stats.dropped)})"
            )


def run(quick: bool) -> Iterator[Result]:
    rounds, per_round = (3, 5_000) if quick else (7, 30_000)
    rng = random.Random(7)
    ob1 = _ob1_frames(per_round, rng)
    ob50, levels_per_delta = _ob50_frames(per_round, rng)
    trades = _trade_frames(per_round, rng)
    trade_count = sum(f.count(b'"T":') for f in trades)
    rates: dict[str, list[float]] = collections.defaultdict(list)
    latencies: list[int] = []
    breakdowns: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
    with _bus() as (node, publisher, directory):
        send = publisher.send
        # Every book frame applies and has a top, so it publishes one Quote; a trade frame
        # publishes one Trade per trade. Counting the Publisher's sends after each run proves
        # the encode and send path ran for every one of them.
        sends = _SendCount(node)
        for _ in range(rounds):
            rates["ob1"].append(_rate(_fast_book(send, 1), ob1))
            sends.check(len(ob1))
            rates["ob1_plain"].append(_rate(_plain_book(send, 1), ob1))
            sends.check(len(ob1))
            rates["ob50"].append(_rate(_fast_book(send, _DEPTH), ob50))
            sends.check(len(ob50))
            rates["ob50_plain"].append(_rate(_plain_book(send, _DEPTH), ob50))
            sends.check(len(ob50))
            rates["trades"].append(_rate(_fast_trades(send), trades))
            sends.check(trade_count)
            latencies += _latencies(_fast_book(send, 1), ob1)
            sends.check(len(ob1))
            rates["ob1_unpublished"].append(_rate(_fast_book(_discard, 1), ob1))
            rates["ob1_plain_unpublished"].append(_rate(_plain_book(_discard, 1), ob1))
            sends.check(0)
            some_ob1, some_ob50 = ob1[:_BREAKDOWN_FRAMES], ob50[: _BREAKDOWN_FRAMES + 1]
            breakdowns["ob1"].append(_breakdown(some_ob1, 1, publisher, directory))
            breakdowns["ob50"].append(_breakdown(some_ob50, _DEPTH, publisher, directory))
            sends.check(len(some_ob1) + len(some_ob50))
        published = node.stats.sent
    rate = {name: statistics.median(values) for name, values in rates.items()}
    yield {
        "name": "feed.ob1_frames_per_s",
        "value": round(rate["ob1"]),
        "unit": "frames/s",
        "target": ">= 100000",
        "rounds": rounds,
        "frames_per_round": len(ob1),
        "published_total": published,
    }
    yield {
        "name": "feed.ob50_delta_frames_per_s",
        "value": round(rate["ob50"]),
        "unit": "frames/s",
        "target": ">= 80000",
        "levels_per_delta": round(levels_per_delta, 1),
        "plain_frames_per_s": round(rate["ob50_plain"]),
    }
    yield {
        "name": "feed.trade_frames_per_s",
        "value": round(rate["trades"]),
        "unit": "frames/s",
        "trades_per_frame": round(trade_count / len(trades), 2),
    }
    yield {
        "name": "feed.ob1_plain_frames_per_s",
        "value": round(rate["ob1_plain"]),
        "unit": "frames/s",
    }
    yield {
        "name": "feed.speedup_vs_plain",
        "value": round(rate["ob1"] / rate["ob1_plain"], 2),
        "unit": "ratio",
        "target": ">= 5",
        "without_publish": round(rate["ob1_unpublished"] / rate["ob1_plain_unpublished"], 2),
    }
    yield {
        "name": "feed.recv_to_publish_p50_us",
        "value": round(statistics.median(latencies) / 1000, 2),
        "unit": "us",
        "frames": "orderbook.1",
        "samples": len(latencies),
    }
    yield {
        "name": "feed.recv_to_publish_p99_us",
        "value": round(_pct(latencies, 0.99), 2),
        "unit": "us",
    }
    yield {"name": "feed.ob1_breakdown_ns", **_median_breakdown(breakdowns["ob1"])}
    yield {"name": "feed.ob50_delta_breakdown_ns", **_median_breakdown(breakdowns["ob50"])}
    tap_rounds, tap_per_round = (5, 1_000) if quick else (15, 2_000)  # short rounds, many
    tap_frames = _ob1_frames(2 * tap_rounds * tap_per_round + 1, random.Random(11))
    yield from feed_tap.run(tap_frames, tap_rounds)
