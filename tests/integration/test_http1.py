"""The lean HTTP/1.1 client against scripted raw servers on 127.0.0.1: framing, keep-alive,
and every way an answer can go wrong."""

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import trustme

from shared.bybit.http1 import ConnectError, ConnectionBroken, Http1Client
from shared.bybit.http1_read import Connection
from shared.runtime import LiveClock
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

OK_JSON = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'
)


@dataclass
class RawServer:
    """Reads each request whole (head and Content-Length body), answers with the next script
    entry's bytes, and closes the connection after it when the entry says so."""

    script: list[tuple[bytes, bool]]  # (answer, close after it); the last one repeats
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    hold: asyncio.Event | None = None  # answers wait for it, if given

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                answer, close = self.script.pop(0) if len(self.script) > 1 else self.script[0]
                if self.hold is not None:
                    await self.hold.wait()
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed its side: the end of this connection
        writer.close()


Serve = Callable[..., Awaitable[RawServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(*script: tuple[bytes, bool]) -> RawServer:
        raw = RawServer(list(script))
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        raw.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return raw

    yield start
    for server in servers:
        server.close()


def client(raw: RawServer, prefix: str = "") -> Http1Client:
    return Http1Client(f"http://127.0.0.1:{raw.port}{prefix}", LiveClock())


async def test_the_request_goes_out_whole_and_the_connection_is_kept_alive(serve: Serve) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw, "/base/")

    first = await http.request("POST", "/v5/order/create", {"X-A": "1"}, b'{"q":1}')
    second = await http.request("GET", "/v5/market/time?x=1", {}, None)
    http.close()

    assert (first.status, first.body, first.headers["content-type"]) == (
        200,
        b'{"ok": true}',
        "application/json",
    )
    assert first.headers["Content-Type"] == "application/json"  # any case
    assert second.body == b'{"ok": true}'
    assert raw.connections == 1
    assert raw.requests[0] == (
        b"POST /base/v5/order/create HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-A: 1\r\n"
        b'Content-Length: 7\r\n\r\n{"q":1}' % raw.port
    )
    assert raw.requests[1].startswith(b"GET /base/v5/market/time?x=1 HTTP/1.1\r\n")
    assert b"Content-Length" not in raw.requests[1]


async def test_a_chunked_body_is_joined_and_the_connection_reused(serve: Serve) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"a"\r\n5\r\n: 10}\r\n0\r\nX-Trailer: t\r\n\r\n'
    )
    raw = await serve((chunked, False))
    http = client(raw)

    answers = [await http.request("GET", "/p", {}, None) for _ in range(2)]
    http.close()

    assert [a.body for a in answers] == [b'{"a": 10}'] * 2
    assert raw.connections == 1


async def test_an_answer_without_length_is_read_to_the_close_and_not_reused(serve: Serve) -> None:
    raw = await serve((b"HTTP/1.1 200 OK\r\n\r\nall of it", True))
    http = client(raw)

    answers = [await http.request("GET", "/p", {}, None) for _ in range(2)]
    http.close()

    assert [a.body for a in answers] == [b"all of it"] * 2
    assert raw.connections == 2


async def test_connection_close_is_honoured(serve: Serve) -> None:
    closing = b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy"
    raw = await serve((closing, False), (OK_JSON, False))
    http = client(raw)

    first = await http.request("GET", "/p", {}, None)
    second = await http.request("GET", "/p", {}, None)
    http.close()

    assert (first.status, first.body, second.status) == (503, b"busy", 200)
    assert raw.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused(serve: Serve) -> None:
    raw = await serve((OK_JSON, True))  # closes after each answer, without saying so
    http = client(raw)

    await http.request("GET", "/p", {}, None)
    await eventually(lambda: http.idle_connections == 0)  # the client has seen the close
    second = await http.request("GET", "/p", {}, None)
    http.close()

    assert second.status == 200
    assert raw.connections == 2


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut short", "middle of the body"),
        (b"SMTP ready\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "middle of the response head"),
        (b"", "middle of the response head"),
        (b"HTTP/1.1 2\xb20 OK\r\nContent-Length: 0\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\n", "Content-Len"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\n", "bad chunk size"),
    ],
)
async def test_a_broken_answer_raises_connection_broken_and_the_connection_is_dropped(
    serve: Serve,
    answer: bytes,
    detail: str,
) -> None:
    raw = await serve((answer, True), (OK_JSON, False))
    http = client(raw)

    with pytest.raises(ConnectionBroken, match=detail):
        await http.request("POST", "/p", {}, b"{}")
    after = await http.request("GET", "/p", {}, None)
    http.close()

    assert after.status == 200
    assert raw.connections == 2


async def test_bytes_left_after_an_answer_are_never_read_as_the_next_answer(
    serve: Serve,
) -> None:
    stale = OK_JSON.replace(b'{"ok": true}', b'{"no": 1}!').replace(b"12", b"10")
    raw = await serve((OK_JSON + stale, False), (OK_JSON, False))
    http = client(raw)

    first = await http.request("POST", "/v5/order/create", {}, b"{}")
    second = await http.request("POST", "/v5/order/create", {}, b"{}")
    http.close()

    assert first.body == second.body == b'{"ok": true}'
    assert raw.connections == 2


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/p", {"X-BAPI-API-KEY": "key\r\n"}),
        ("/p", {"X-A\nB": "1"}),
        ("/p?symbol=BTC\r\nX: 1", {}),
        ("/p", {"X-A": "a\0b"}),
    ],
)
async def test_a_line_end_in_the_head_is_refused_before_connecting(
    serve: Serve, target: str, headers: dict[str, str]
) -> None:
    raw = await serve((OK_JSON, False))
    http = client(raw)

    with pytest.raises(ValueError, match="CR, LF or NUL"):
        await http.request("POST", target, headers, b"{}")

    assert raw.connections == 0


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 12\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n",
    ],
)
async def test_an_answer_that_may_not_leave_the_connection_clean_closes_it(
    serve: Serve, head: bytes
) -> None:
    chunked = b"chunked" in head
    answer = head + b'{"ok": true}' + (b"\r\n0\r\n\r\n" if chunked else b"")
    raw = await serve((answer, False))
    http = client(raw)

    answers = [await http.request("GET", "/p", {}, None) for _ in range(2)]
    http.close()

    assert [a.body for a in answers] == [b'{"ok": true}'] * 2
    assert raw.connections == 2


async def test_a_body_without_length_ends_cleanly_only_on_a_clean_close() -> None:
    clean, reset = Connection(), Connection()
    for connection in (clean, reset):
        connection.data_received(b"part of it")
    clean.connection_lost(None)
    reset.connection_lost(ConnectionResetError(104, "Connection reset by peer"))

    assert await clean.read_to_eof(1000) == b"part of it"
    with pytest.raises(ConnectionBroken, match="lost before the end of the body"):
        await reset.read_to_eof(1000)


async def test_a_connection_in_flight_at_close_is_not_kept(serve: Serve) -> None:
    raw = await serve((OK_JSON, False))
    raw.hold = asyncio.Event()
    http = client(raw)

    async def close_meanwhile() -> None:
        await eventually(lambda: raw.requests)  # the request is in flight, its answer held
        http.close()
        raw.hold.set()

    answer, _ = await asyncio.gather(http.request("GET", "/p", {}, None), close_meanwhile())

    assert answer.status == 200
    assert http.idle_connections == 0


async def test_a_refused_connection_raises_connect_error() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]  # nothing listens on it
    http = Http1Client(f"http://127.0.0.1:{port}", LiveClock())

    with pytest.raises(ConnectError, match=f"127.0.0.1:{port}"):
        await http.request("GET", "/p", {}, None)


async def test_a_request_cancelled_while_waiting_drops_its_connection(serve: Serve) -> None:
    raw = await serve((b"", False), (OK_JSON, False))  # the first answer never comes
    http = client(raw)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await http.request("GET", "/slow", {}, None)
    after = await http.request("GET", "/p", {}, None)
    http.close()

    assert after.status == 200
    assert raw.connections == 2


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="base_url must be http"):
        Http1Client("ws://127.0.0.1:1", LiveClock())


async def test_https_verifies_the_venue_and_keeps_the_connection_alive() -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_tls)
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    raw = RawServer([(OK_JSON, False)])
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    http = Http1Client(f"https://localhost:{port}", LiveClock(), tls=trusted)
    stranger = Http1Client(f"https://localhost:{port}", LiveClock())  # the system's CAs only

    answers = [await http.request("GET", "/p", {}, None) for _ in range(2)]
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await stranger.request("GET", "/p", {}, None)
    http.close()
    server.close()

    assert [a.body for a in answers] == [b'{"ok": true}'] * 2
    assert raw.requests[0].startswith(b"GET /p HTTP/1.1\r\nHost: localhost:%d\r\n" % port)
    assert raw.connections == 1  # kept alive (the refused handshake never got a handler)
