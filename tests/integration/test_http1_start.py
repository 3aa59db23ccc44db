"""Http1Client's hot path: start() writes a request with no await, warm() readies
connections, and several requests may be outstanding, each on its own connection."""

import asyncio
import socket
import threading

import pytest

from shared.bybit.http1 import IDLE_TIMEOUT_S, ConnectError, ConnectionBroken, Http1Client
from shared.runtime import FakeClock, LiveClock
from tests.helpers.waiting import eventually
from tests.integration.test_http1 import OK_JSON, RawServer, Serve, client
from tests.integration.test_http1 import serve as serve  # the fixture, shared

pytestmark = pytest.mark.integration


class ThreadServer:
    """A blocking server on its own thread: it sees a request even while the event loop is
    blocked, so what it has read was written before the test's next await."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[bytes] = []
        self.arrived = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"}"):
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data)
            self.arrived.set()
            connection.sendall(OK_JSON)
            connection.recv(1)  # until the client closes

    def close(self) -> None:
        self.listener.close()


async def test_start_writes_the_whole_request_before_any_await() -> None:
    server = ThreadServer()
    http = Http1Client(f"http://127.0.0.1:{server.port}", LiveClock())
    await http.warm(1)
    before_ns = LiveClock().now_ns()

    pending = http.start("POST", "/v5/order/create", {"X-A": "1"}, b'{"q":1}')
    # Blocks the event loop: only bytes already handed to the kernel can arrive.
    arrived = server.arrived.wait(timeout=5)

    assert pending is not None
    assert arrived
    assert server.requests == [
        b"POST /v5/order/create HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-A: 1\r\n"
        b'Content-Length: 7\r\n\r\n{"q":1}' % server.port
    ]
    assert before_ns <= pending.sent_ns
    response = await pending.response()
    assert (response.status, response.body, response.sent_ns) == (
        200,
        b'{"ok": true}',
        pending.sent_ns,
    )
    http.close()
    server.close()


async def test_start_returns_none_without_an_idle_connection_and_works_after_warm(
    serve: Serve,
) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw)

    cold = http.start("GET", "/p", {}, None)
    await http.warm(1)
    warmed = http.idle_connections
    pending = http.start("GET", "/p", {}, None)
    assert pending is not None
    response = await pending.response()
    http.close()

    assert cold is None
    assert warmed == 1
    assert response.status == 200
    assert raw.connections == 1  # start() used the warmed connection


async def test_the_connection_goes_back_to_the_pool_after_the_answer(serve: Serve) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw)
    await http.warm(1)

    first = http.start("GET", "/p", {}, None)
    assert first is not None
    in_flight = http.idle_connections
    await first.response()
    after = http.idle_connections
    second = http.start("GET", "/p", {}, None)
    assert second is not None
    await second.response()
    http.close()

    assert (in_flight, after) == (0, 1)
    assert raw.connections == 1
    assert len(raw.requests) == 2


async def test_several_starts_are_outstanding_at_once_on_different_connections(
    serve: Serve,
) -> None:
    raw = await serve((OK_JSON, False))
    raw.hold = asyncio.Event()  # no answer until all requests have arrived
    http = client(raw)
    await http.warm(3)

    pendings = [http.start("POST", f"/p{i}", {}, b"{}") for i in range(3)]
    fourth = http.start("POST", "/p3", {}, b"{}")  # every connection is busy
    await eventually(lambda: len(raw.requests) == 3)
    raw.hold.set()
    responses = await asyncio.gather(*(p.response() for p in pendings if p is not None))
    idle_after = http.idle_connections
    http.close()

    assert fourth is None
    assert [r.status for r in responses] == [200, 200, 200]
    assert raw.connections == 3
    assert sorted(r.split(b" ")[1] for r in raw.requests) == [b"/p0", b"/p1", b"/p2"]
    assert idle_after == 3


async def test_warm_opens_only_the_missing_connections(serve: Serve) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw)

    await http.warm(2)
    await http.warm(2)
    await http.warm(1)
    idle = http.idle_connections
    http.close()

    assert idle == 2
    assert raw.connections == 2


async def test_a_connection_idle_too_long_is_not_started_on() -> None:
    raw_server = RawServer([(OK_JSON, False)])
    server = await asyncio.start_server(raw_server.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock = FakeClock(1_000_000_000)
    http = Http1Client(f"http://127.0.0.1:{port}", clock)
    await http.warm(1)

    clock.advance(int((IDLE_TIMEOUT_S + 1) * 1e9))
    stale = http.start("GET", "/p", {}, None)
    idle = http.idle_connections
    http.close()
    server.close()

    assert stale is None
    assert idle == 0  # the stale connection was closed, not kept


async def test_a_broken_answer_to_a_started_request_drops_its_connection(serve: Serve) -> None:
    raw = await serve((b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut", True))
    http = client(raw)
    await http.warm(1)

    pending = http.start("POST", "/p", {}, b"{}")
    assert pending is not None
    with pytest.raises(ConnectionBroken, match="middle of the body"):
        await pending.response()
    idle = http.idle_connections
    http.close()

    assert idle == 0


async def test_a_cancelled_response_closes_its_connection(serve: Serve) -> None:
    raw = await serve((b"", False))  # never answers
    http = client(raw)
    await http.warm(1)

    pending = http.start("GET", "/slow", {}, None)
    assert pending is not None
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await pending.response()
    after = http.start("GET", "/p", {}, None)
    http.close()

    assert after is None  # the only connection was closed, not pooled


async def test_a_response_is_taken_once_and_abandon_closes_the_connection(serve: Serve) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw)
    await http.warm(2)

    taken = http.start("GET", "/p", {}, None)
    abandoned = http.start("GET", "/p", {}, None)
    assert taken is not None
    assert abandoned is not None
    await taken.response()
    with pytest.raises(RuntimeError, match="already taken"):
        await taken.response()
    abandoned.abandon()
    idle = http.idle_connections
    http.close()

    assert idle == 1  # the abandoned connection is not back in the pool


async def test_start_refuses_a_line_end_in_the_head(serve: Serve) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw)
    await http.warm(1)

    with pytest.raises(ValueError, match="CR, LF or NUL"):
        http.start("POST", "/p", {"X-A": "a\r\nb"}, b"{}")
    idle = http.idle_connections
    http.close()

    assert idle == 1  # nothing was written on it


async def test_warm_raises_connect_error_when_refused() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]  # nothing listens on it
    http = Http1Client(f"http://127.0.0.1:{port}", LiveClock())

    with pytest.raises(ConnectError, match=f"127.0.0.1:{port}"):
        await http.warm(2)

    assert http.idle_connections == 0
