"""Reading an HTTP/1.1 answer off a connection, for shared.bybit.http1's client.

A connection is an asyncio protocol with a receive buffer and a way to wait for more
bytes; read_response parses one answer from it (status line, headers, a body framed by
Content-Length, chunked or the connection's end) and says whether the connection may carry
another request. Anything malformed, too long or cut short raises ConnectionBroken.
"""

import asyncio
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
_DIGITS: Final = re.compile(r"[0-9]+")
_HEX: Final = re.compile(r"[0-9A-Fa-f]+")


class HttpError(Exception):
    """A request that got no complete, well-formed answer."""


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


class Connection(asyncio.Protocol):
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


async def read_response(connection: Connection, method: str) -> tuple[int, Headers, bytes, bool]:
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


async def _read_chunked(connection: Connection) -> bytes:
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
