"""Bus benchmarks: one-way latency and throughput of the project's bus against bare pyzmq.

Each measurement runs a publisher and a subscriber in two processes over ipc:// in a
fresh private directory. Latency is
sent -> received-and-decoded, one message at a time, paced so that nothing queues.
"""

import asyncio
import multiprocessing as mp
import shutil
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

import zmq

from shared.bus import BusNode, Delivery, Header, Signer, decode_frames, encode_frames
from shared.runtime import LiveClock
from shared.schema import SCHEMA_VERSION, Heartbeat, Quote, Symbol, encode_body
from shared.settings import BusSettings, Endpoints

Result = dict[str, Any]
_PACE_S = 0.0002  # between latency samples: one message in flight at a time
_TS = struct.Struct("<q")


def _quote(i: int) -> Quote:
    return Quote(
        symbol=Symbol("BTCUSDT"),
        epoch=1,
        bid_price=Decimal("64000.1") + i % 100,
        bid_qty=Decimal("1.234"),
        ask_price=Decimal("64000.2") + i % 100,
        ask_qty=Decimal("0.5"),
        venue_update_id=i,
        ts_event_ns=1_763_700_000_000_000_000,
        ts_recv_ns=1_763_700_000_000_000_000,
    )


def _node(name: str, directory: str) -> BusNode:
    endpoints = Endpoints(**{f: f"ipc://{directory}/{f}" for f in Endpoints.__struct_fields__})
    settings = BusSettings(endpoints=endpoints, market_data_hwm=200_000, events_hwm=200_000)
    return BusNode(name, settings, signer=Signer(None), clock=LiveClock())


# ---- receivers (run in a child process; send their samples back over `pipe`)


def _receive_bus(directory: str, count: int, pipe: Connection, mode: str) -> None:
    node = _node("bench-sub", directory)
    endpoint = node.settings.endpoints.market_data
    receiver = node.subscriber([endpoint], ["md."], deliver_heartbeats=True)
    samples: list[int] = []
    connected = False

    def take(delivery: Delivery) -> None:
        nonlocal connected
        now = time.time_ns()
        if isinstance(delivery.message, Quote):
            samples.append(now - delivery.header.ts_sent_ns)
        elif not connected:
            connected = True
            pipe.send("connected")

    async def run_async() -> None:
        while len(samples) < count:
            await receiver.wait()
            for delivery in receiver.drain():
                take(delivery)

    if mode == "async":
        asyncio.run(run_async())
    else:
        while len(samples) < count:
            if delivery := receiver.receive(1000):
                take(delivery)
    pipe.send(samples)
    node.close()


def _receive_bare(directory: str, count: int, pipe: Connection) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"md.")
    sock.connect(f"ipc://{directory}/bare")
    samples: list[int] = []
    sock.recv_multipart()  # the first join hello
    pipe.send("connected")
    while len(samples) < count:
        _, payload = sock.recv_multipart()
        now = time.time_ns()
        if payload:  # empty payloads are the join hellos
            samples.append(now - _TS.unpack_from(payload)[0])
    pipe.send(samples)
    ctx.destroy(linger=0)


def _count_bus(directory: str, count: int, pipe: Connection) -> None:
    node = _node("bench-sub", directory)
    endpoint = node.settings.endpoints.market_data
    receiver = node.subscriber([endpoint], ["md."], hwm=200_000, deliver_heartbeats=True)
    received = 0
    started = last = 0
    while received < count and receiver.poll(2000):
        batch = receiver.drain(10_000)
        quotes = sum(1 for d in batch if isinstance(d.message, Quote))
        if started == 0 and len(batch) > quotes:
            pipe.send("connected")  # a heartbeat arrived: the subscription is in place
        if received == 0 and quotes:
            started = time.perf_counter_ns()
        received += quotes
        last = time.perf_counter_ns()  # the rate ends at the last arrival, not the idle timeout
    pipe.send((received, last - started))
    node.close()


# ---- measurements (in this process: the sender side)


def _latency(mode: str, count: int) -> list[int]:
    directory = tempfile.mkdtemp(prefix="bench-", dir="/tmp")
    try:
        node = _node("bench-pub", directory)
        publisher = node.publisher(node.settings.endpoints.market_data)
        parent, child = mp.Pipe()
        if mode == "bare":
            proc = mp.get_context("spawn").Process(
                target=_receive_bare, args=(directory, count, child)
            )
            ctx = zmq.Context()
            sock = ctx.socket(zmq.PUB)
            sock.bind(f"ipc://{directory}/bare")
            size = len(encode_body(_quote(0)))
            send: Callable[[int], None] = lambda i: sock.send_multipart(  # noqa: E731
                [b"md.quote.BTCUSDT.", _TS.pack(time.time_ns()) + b"\0" * (size - _TS.size)]
            )
            hello: Callable[[], None] = lambda: sock.send_multipart([b"md.", b""])  # noqa: E731
        else:
            proc = mp.get_context("spawn").Process(
                target=_receive_bus, args=(directory, count, child, mode)
            )
            send = lambda i: publisher.send(_quote(i)) and None  # noqa: E731
            hello = lambda: publisher.send(Heartbeat(ts_event_ns=0)) and None  # noqa: E731
        proc.start()
        while not parent.poll(0.01):
            hello()  # until the subscriber has joined (no sleep-and-hope)
        parent.recv()
        for i in range(count):
            send(i)
            time.sleep(_PACE_S)
        samples: list[int] = parent.recv()
        proc.join(10)
        node.close()
        if mode == "bare":
            ctx.destroy(linger=0)
        return samples
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _throughput(count: int) -> tuple[float, int]:
    directory = tempfile.mkdtemp(prefix="bench-", dir="/tmp")
    try:
        node = _node("bench-pub", directory)
        publisher = node.publisher(node.settings.endpoints.market_data, hwm=200_000)
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(target=_count_bus, args=(directory, count, child))
        proc.start()
        while not parent.poll(0.01):
            publisher.send(Heartbeat(ts_event_ns=0))  # until the subscriber has joined
        parent.recv()
        quotes = [_quote(i) for i in range(1000)]
        for i in range(count):
            publisher.send(quotes[i % 1000])
        received, elapsed_ns = parent.recv()
        proc.join(10)
        node.close()
        return received / (elapsed_ns / 1e9), count - received
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _codec_ns(count: int) -> float:
    signer = Signer(None)
    quote = _quote(1)
    header = Header(SCHEMA_VERSION, "feed", 1, 1, 0)
    started = time.perf_counter_ns()
    for _ in range(count):
        decode_frames(encode_frames(b"md.quote.BTCUSDT.", header, quote, signer), signer)
    return (time.perf_counter_ns() - started) / count


def _pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def run(quick: bool) -> Iterator[Result]:
    rounds, per_round = (2, 500) if quick else (6, 1000)
    bus: list[int] = []
    bare: list[int] = []
    bus_async: list[int] = []
    # Interleaved rounds, so that a noisy moment on a shared machine hits every variant.
    for _ in range(rounds):
        bus += _latency("blocking", per_round)
        bare += _latency("bare", per_round)
        bus_async += _latency("async", per_round)
    bus_p50, bare_p50 = statistics.median(bus) / 1000, statistics.median(bare) / 1000
    yield {
        "name": "bus.latency_p50_us",
        "value": round(bus_p50, 1),
        "unit": "us",
        "samples": len(bus),
    }
    yield {"name": "bus.latency_p99_us", "value": round(_pct(bus, 0.99), 1), "unit": "us"}
    yield {"name": "bus.bare_latency_p50_us", "value": round(bare_p50, 1), "unit": "us"}
    yield {"name": "bus.bare_latency_p99_us", "value": round(_pct(bare, 0.99), 1), "unit": "us"}
    yield {
        "name": "bus.latency_ratio",
        "value": round(bus_p50 / bare_p50, 2),
        "unit": "ratio",
        "target": "<= 1.3",
    }
    async_p50 = statistics.median(bus_async) / 1000
    yield {"name": "bus.async_latency_p50_us", "value": round(async_p50, 1), "unit": "us"}
    yield {
        "name": "bus.async_latency_p99_us",
        "value": round(_pct(bus_async, 0.99), 1),
        "unit": "us",
    }
    rate, lost = _throughput(50_000 if quick else 300_000)
    yield {
        "name": "bus.pubsub_msgs_per_s",
        "value": round(rate),
        "unit": "msg/s",
        "lost": lost,
    }
    yield {
        "name": "bus.codec_ns_per_msg",
        "value": round(_codec_ns(20_000 if quick else 100_000)),
        "unit": "ns",
    }
