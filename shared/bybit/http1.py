"""A lean HTTP/1.1 client for the venue's REST API: keep-alive connections, each request
written whole in one write, its sent time read right after that write.

Why not aiohttp's client: between the hand-over and the request's bytes leaving it builds
the request in many steps and, on Python 3.11, writes the body from a task of its own: a
trip round the event loop on every order (see scripts/bench executor for the figures).
This client does only what the venue's REST API needs: one request at a time per
connection (no pipelining), bodies with Content-Length or chunked, no redirects, no
compression (no Accept-Encoding is sent), TLS for https.
"""

import asyncio
import re
import ssl
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from shared.runtime.clock import Clock

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
IDLE_TIMEOUT_S: Final = 15.0  # an idle connection older than this is not reused
_DIGITS: Final = re.compile(r"[0-9]+")
_HEX: Final = re.compile(r"[0-9A-Fa-f]+")
_UNSAFE: Final = re.compile(r"[\r\n\0]")


class HttpError(Exception):
    """A request that got no complete, well-formed answer."""


class ConnectError(HttpError):
    """No connection could be opened: nothing was sent."""


class ConnectionBroken(HttpError):
    """The connection closed, or the answer was malformed, after the request was written."""


class Headers(Mapping[str, str]):
    """Response headers, looked up without regard to case; a repeated name's values are
    joined with ", " (RFC 9110 5.3)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            key, value = name.strip().lower(), value.strip()
            known = self._values.get(key)
            self._values[key] = value if known is None else f"{known}, {value}"

    def tokens(self, name: str) -> list[str]:
        """The comma-separated values of `name`, lower case (e.g. Connection, Transfer-Encoding)."""
        return [t.strip().lower() for t in self.get(name, "").split(",") if t.strip()]

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Headers
    body: bytes
    sent_ns: int  # right after the request's bytes were handed to the connection


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: a receive buffer and a way to wait for more."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.broken: Exception | None = None  # why the connection was lost, if not a clean end
        self.idle_since_ns = 0
        self.generation = 0
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.broken = exc
        self._wake()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        """Until more bytes arrive or the connection closes."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def _more(self, what: str) -> None:
        """Wait for more bytes; raise if none can come."""
        if self.closed:
            raise ConnectionBroken(f"connection closed by the server in the middle of {what}")
        await self._wait()

    async def read_until(self, separator: bytes, limit: int, what: str) -> bytes:
        start = 0
        while (end := self.buffer.find(separator, start)) < 0:
            if len(self.buffer) > limit:
                raise ConnectionBroken(f"{what} longer than {limit} bytes")
            start = max(0, len(self.buffer) - len(separator) + 1)
            await self._more(what)
        line = bytes(self.buffer[:end])
        del self.buffer[: end + len(separator)]
        return line

    async def read_exactly(self, size: int, what: str) -> bytes:
        while len(self.buffer) < size:
            await self._more(what)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def read_to_eof(self, limit: int) -> bytes:
        while not self.closed:
            if len(self.buffer) > limit:
                raise ConnectionBroken(f"body longer than {limit} bytes")
            await self._wait()
        if self.broken is not None:
            raise ConnectionBroken(f"connection lost before the end of the body: {self.broken}")
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class Http1Client:
    """Requests to one origin (`base_url`: scheme, host and port) over kept-alive connections."""

    def __init__(self, base_url: str, clock: Clock, tls: ssl.SSLContext | None = None) -> None:
        """`tls`: for https, the context that verifies the venue (default: the system's CAs)."""
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port], not {base_url!r}")
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._host_line = f"Host: {url.netloc}\r\n"
        self._path_prefix = url.path.rstrip("/")
        https = url.scheme == "https"
        self._tls = (tls or ssl.create_default_context()) if https else None
        self._clock = clock
        self._idle: list[_Connection] = []
        self._generation = 0  # close() starts a new one

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        """Send one request (`target`: path and query, as sent) and return its answer.

        Raises ValueError, before connecting, for a CR, LF or NUL in the target or a header
        (it would end the request head early and send the rest as another request).
        """
        if _UNSAFE.search(" ".join((target, *headers.keys(), *headers.values()))):
            raise ValueError(f"CR, LF or NUL in the request target or a header: {target!r}")
        lines = [f"{method} {self._path_prefix}{target} HTTP/1.1\r\n", self._host_line]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode() + (body or b"")
        connection = await self._connection()
        if connection.closed or connection.transport is None:
            raise ConnectError(f"{self._host}:{self._port}: closed before the request was written")
        try:
            connection.transport.write(data)
            sent_ns = self._clock.now_ns()
            status, response_headers, response_body, reusable = await _read_response(
                connection, method
            )
        except HttpError:
            connection.close()  # the answer's state is unknown: never reuse the connection
            raise
        except Exception as e:  # a parser bug must still read as "outcome unknown"
            connection.close()
            raise ConnectionBroken(f"unreadable answer: {type(e).__name__}: {e}") from e
        except BaseException:  # cancelled (a timeout): the answer may still come, unread
            connection.close()
            raise
        if reusable and self._may_reuse(connection):
            connection.idle_since_ns = self._clock.now_ns()
            self._idle.append(connection)
        else:
            connection.close()
        return Response(status, response_headers, response_body, sent_ns)

    @property
    def idle_connections(self) -> int:
        """Kept-alive connections waiting for a request that the server has not closed."""
        return sum(not connection.closed for connection in self._idle)

    def close(self) -> None:
        """Close the idle connections; one in flight is closed when its request ends."""
        self._generation += 1
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def _may_reuse(self, connection: _Connection) -> bool:
        """Open, opened since the last close(), and nothing unasked-for waiting in it."""
        return (
            not connection.closed
            and not connection.buffer
            and connection.generation == self._generation
        )

    async def _connection(self) -> _Connection:
        oldest_ns = self._clock.now_ns() - int(IDLE_TIMEOUT_S * 1e9)
        while self._idle:
            connection = self._idle.pop()
            if self._may_reuse(connection) and connection.idle_since_ns >= oldest_ns:
                return connection
            connection.close()
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection,
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls else None,
            )
        except OSError as e:
            raise ConnectError(f"{self._host}:{self._port}: {e}") from e
        connection.generation = self._generation
        return connection


async def _read_response(connection: _Connection, method: str) -> tuple[int, Headers, bytes, bool]:
    """Status, headers, body, and whether the connection may carry another request."""
    while True:
        head = await connection.read_until(b"\r\n\r\n", MAX_HEAD_BYTES, "the response head")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not _DIGITS.fullmatch(code):
            raise ConnectionBroken(f"malformed status line {status_line[:100]!r}")
        if int(code) >= 200:  # 1xx (we send no Expect) are skipped
            break
    fields = (line.partition(":") for line in header_lines)
    headers = Headers((name, value) for name, colon, value in fields if colon)
    reusable = version == "HTTP/1.1" and "close" not in headers.tokens("connection")
    status = int(code)
    if method == "HEAD" or status in (204, 304):
        return status, headers, b"", reusable
    codings = headers.tokens("transfer-encoding")
    if codings:
        if codings[-1] != "chunked":  # RFC 9112 6.3: the body ends when the connection does
            return status, headers, await connection.read_to_eof(MAX_BODY_BYTES), False
        body = await _read_chunked(connection)
        return status, headers, body, reusable and "content-length" not in headers
    lengths = set(headers.tokens("content-length"))
    if not lengths:
        return status, headers, await connection.read_to_eof(MAX_BODY_BYTES), False
    length = lengths.pop()
    if lengths or not _DIGITS.fullmatch(length) or int(length) > MAX_BODY_BYTES:
        raise ConnectionBroken(f"bad Content-Length {headers['content-length'][:40]!r}")
    return status, headers, await connection.read_exactly(int(length), "the body"), reusable


async def _read_chunked(connection: _Connection) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await connection.read_until(b"\r\n", 1024, "a chunk size")
        size_text = size_line.split(b";", 1)[0].strip().decode("latin-1")
        if not _HEX.fullmatch(size_text):
            raise ConnectionBroken(f"bad chunk size {size_line[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            while await connection.read_until(b"\r\n", MAX_HEAD_BYTES, "the trailers"):
                pass  # trailers: nothing we use
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise ConnectionBroken(f"body longer than {MAX_BODY_BYTES} bytes")
        chunks.append(await connection.read_exactly(size, "a chunk"))
        if await connection.read_exactly(2, "a chunk end") != b"\r\n":
            raise ConnectionBroken("chunk not followed by CRLF")
