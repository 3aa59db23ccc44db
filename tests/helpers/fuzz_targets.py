"""Every boundary where outside bytes enter a process, driven one input at a time.

A Boundary has seeds (real frames: the captures in tests/fixtures/bybit, and encoded
samples of every bus message) and `feed(seed_index, data)`, which puts `data` (a mutation
of seed `seed_index`) through the real code and returns the documented outcome: None if
it was accepted, else the reason it was dropped, as counted. Anything `feed` raises is an
escape: the fuzz tests fail on it, `scripts/bench fuzz` counts it as `fuzz.uncaught`.

The bus boundaries run over an in-memory stand-in for a ZeroMQ socket (a queue of
multipart messages), so the Receiver, CommandReceiver, SnapshotServer and SnapshotClient
code is the real one.
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

import msgspec
import zmq

from shared.bus import (
    BusContext,
    CommandReceiver,
    FrameError,
    Header,
    PeerLiveness,
    Publisher,
    Receiver,
    Signer,
    SnapshotClient,
    SnapshotIncomplete,
    SnapshotServer,
    decode_frames,
    encode_frames,
)
from shared.bybit import wire
from shared.bybit.errors import BadResponse, BybitError
from shared.bybit.rest_decode import decode_response, decode_result
from shared.bybit.stream import BybitStream
from shared.bybit.ws_frames import FrameDrop, decode_private, decode_public
from shared.runtime.clock import FakeClock
from shared.schema import (
    COMMAND_KINDS,
    SCHEMA_VERSION,
    BusMessage,
    SnapshotEnd,
    SnapshotRequest,
    encode_body,
)
from tests.helpers.fixtures import BYBIT_FIXTURES
from tests.helpers.mutations import Format
from tests.helpers.samples import SAMPLES

Outcome = str | None  # None: accepted; else the reason it was dropped


@dataclass(frozen=True)
class Boundary:
    name: str
    fmt: Format
    seeds: list[bytes]
    feed: Callable[[int, bytes], Outcome]


class FakeSocket:
    """A ZeroMQ socket's receive and send sides, in memory (recv raises zmq.Again when empty)."""

    def __init__(self) -> None:
        self.inbox: deque[list[bytes]] = deque()
        self.sent: list[list[bytes]] = []

    def recv_multipart(self, flags: int = 0) -> list[bytes]:
        if not self.inbox:
            raise zmq.Again()
        return self.inbox.popleft()

    def send_multipart(self, frames: list[bytes], flags: int = 0) -> None:
        self.sent.append(frames)

    def send(self, frame: bytes, flags: int = 0) -> None:
        return None

    def as_socket(self) -> "zmq.Socket[bytes]":
        return cast("zmq.Socket[bytes]", self)


# ---------------------------------------------------------------- the bus

_SIGNER: Final = Signer(None)
_T: Final = 1_763_700_000_000_000_000


def _header(sender: str = "strategy", seq: int = 1) -> bytes:
    return msgspec.msgpack.encode(Header(SCHEMA_VERSION, sender, 7, seq, _T))


def _bus_seeds(messages: list[BusMessage]) -> list[bytes]:
    """[header, body] of every message, in turn: an even index is a header, odd a body."""
    return [part for m in messages for part in (_header(), encode_body(m))]


def _frames(seeds: list[bytes], index: int, data: bytes, topic: bytes) -> list[bytes]:
    base = index - index % 2
    header, body = (data, seeds[base + 1]) if index % 2 == 0 else (seeds[base], data)
    return [topic, _SIGNER.sign(topic, header, body), header, body]


def _dropped(stats_dropped: dict[str, int], before: dict[str, int]) -> Outcome:
    grown = [k for k, v in stats_dropped.items() if v > before.get(k, 0)]
    return ",".join(sorted(grown)) or None


def bus_decode_frames() -> Boundary:
    seeds = _bus_seeds(list(SAMPLES.values()))

    def feed(index: int, data: bytes) -> Outcome:
        try:
            decode_frames(_frames(seeds, index, data, b"t."), _SIGNER)
        except FrameError as e:
            return e.reason
        return None

    return Boundary("bus_decode", "msgpack", seeds, feed)


def bus_command_receiver() -> Boundary:
    seeds = _bus_seeds([m for m in SAMPLES.values() if isinstance(m, COMMAND_KINDS)])
    bus = BusContext(_SIGNER, FakeClock(_T))
    socket = FakeSocket()
    liveness = PeerLiveness(10**9, 3)

    def feed(index: int, data: bytes) -> Outcome:
        # A fresh receiver each time: the sequence tracker would call repeats superseded.
        inbox = CommandReceiver(Receiver(socket.as_socket(), bus=bus, liveness=liveness), bus.stats)
        before = dict(bus.stats.dropped)
        socket.inbox.append(_frames(seeds, index, data, b"cmd."))
        while inbox.receive_nowait() is not None:
            pass
        return _dropped(bus.stats.dropped, before)

    return Boundary("bus_command", "msgpack", seeds, feed)


def _snapshot_request() -> BusMessage:
    return SnapshotRequest(topic_prefix="md.", ts_event_ns=_T)


def bus_snapshot_server() -> Boundary:
    seeds = _bus_seeds([_snapshot_request()])
    bus = BusContext(_SIGNER, FakeClock(_T))
    socket = FakeSocket()
    publisher = Publisher(FakeSocket().as_socket(), "feed", bus=bus, heartbeat_interval_ns=10**9)
    publisher.send(SAMPLES["Quote"])
    server = SnapshotServer(socket.as_socket(), publisher, publisher.last_values, bus)

    def feed(index: int, data: bytes) -> Outcome:
        before = dict(bus.stats.dropped)
        socket.inbox.append([b"peer-identity", *_frames(seeds, index, data, b"snap.request.")])
        server.serve_pending()
        socket.sent.clear()
        return _dropped(bus.stats.dropped, before)

    return Boundary("bus_snapshot_server", "msgpack", seeds, feed)


def bus_snapshot_client() -> Boundary:
    """One reply of one message: its frame (mutated or not), then a good SnapshotEnd."""
    quote, end = SAMPLES["Quote"], SnapshotEnd(last_seq=1, count=1, ts_event_ns=_T)
    seeds = _bus_seeds([quote])
    bus = BusContext(_SIGNER, FakeClock(_T))
    client = SnapshotClient(cast("zmq.Context[zmq.Socket[bytes]]", None), "inproc://x", "s", bus)
    end_frames = encode_frames(b"snap.end.", Header(SCHEMA_VERSION, "feed", 7, 1, _T), end, _SIGNER)

    def feed(index: int, data: bytes) -> Outcome:
        socket = FakeSocket()
        socket.inbox.extend([_frames(seeds, index, data, b"md.quote.BTCUSDT."), end_frames])
        try:
            client._read(socket.as_socket(), [])
        except FrameError as e:
            return e.reason
        except SnapshotIncomplete:
            return "incomplete"
        return None

    return Boundary("bus_snapshot_client", "msgpack", seeds, feed)


# ---------------------------------------------------------------- the venue


def captures(prefix: str) -> list[bytes]:
    """The captured frames whose file name starts with `prefix`, in name order."""
    return [p.read_bytes() for p in sorted(BYBIT_FIXTURES.glob(f"{prefix}*.json"))]


def _outcome(decoded: object) -> Outcome:
    return decoded.reason.value if isinstance(decoded, FrameDrop) else None


def ws_public() -> Boundary:
    seeds = captures("ws_public_linear_orderbook") + captures("ws_public_linear_publicTrade")
    return Boundary("ws_public", "json", seeds, lambda _, data: _outcome(decode_public(data)))


def ws_private() -> Boundary:
    seeds = [s for s in captures("ws_private_") if b'"topic"' in s]
    return Boundary("ws_private", "json", seeds, lambda _, data: _outcome(decode_private(data)))


def ws_control() -> Boundary:
    """The control replies BybitStream reads itself (acks, pongs) and its routing probe."""
    seeds = [
        *(s for s in captures("ws_") if b'"op"' in s and b'"topic"' not in s[:256]),
        *captures("ws_public_linear_tickers"),
    ]
    stream = BybitStream("ws://127.0.0.1:9/unused")

    def feed(_: int, data: bytes) -> Outcome:
        before = dict(stream.stats.dropped)
        op = stream._control_op(data)
        if op:
            stream._on_control(op, data)
        return _dropped(stream.stats.dropped, before)

    return Boundary("ws_control", "json", seeds, feed)


_REST_TYPES: Final[dict[str, type[Any]]] = {
    "rest_account_wallet_balance": wire.WalletList,
    "rest_execution_list": wire.ExecutionList,
    "rest_market_instruments_info_linear": wire.InstrumentsPage,
    "rest_market_tickers_linear": wire.RawTickerList,
    "rest_order_create": wire.OrderIds,
    "rest_order_realtime": wire.OrderList,
    "rest_position_list": wire.PositionList,
    "rest_error_": wire.OrderIds,
}


REST_LIST_ITEMS: Final = 3  # long lists (500 instruments) cut: each item has the same shape


def _trimmed(body: bytes) -> bytes:
    document = msgspec.json.decode(body)
    items = document.get("result", {}).get("list")
    if not isinstance(items, list) or len(items) <= REST_LIST_ITEMS:
        return body
    document["result"]["list"] = items[:REST_LIST_ITEMS]
    return msgspec.json.encode(document)


def rest_bodies() -> Boundary:
    pairs = [
        (_trimmed(path.read_bytes()), result_type)
        for prefix, result_type in _REST_TYPES.items()
        for path in sorted(BYBIT_FIXTURES.glob(f"{prefix}*.json"))
    ]

    def feed(index: int, data: bytes) -> Outcome:
        result_type = pairs[index][1]
        try:
            result = decode_response("/fuzz", 200, {}, data, result_type)
        except BadResponse as e:
            return f"{e.kind}_{e.reason}"
        except BybitError as e:
            return e.kind
        if isinstance(result, wire.RawTickerList):  # as BybitRest.tickers: one by one
            return _tickers_outcome(result)
        return None

    return Boundary("rest", "json", [body for body, _ in pairs], feed)


def _tickers_outcome(tickers: wire.RawTickerList) -> Outcome:
    dropped = set()
    for raw in tickers.list:
        try:
            decode_result(raw, wire.Ticker, path="/fuzz")
        except BadResponse as e:
            dropped.add(f"bad_ticker_{e.reason}")
    return ",".join(sorted(dropped)) or None
