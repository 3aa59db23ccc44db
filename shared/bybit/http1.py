"""A lean HTTP/1.1 client for the venue's REST API: keep-alive connections, each request
written whole in one write, its sent time read right after that write.

Why not aiohttp's client: between the hand-over and the request's bytes leaving it builds
the request in many steps and, on Python 3.11, writes the body from a task of its own: a
trip round the event loop on every order (see scripts/bench executor for the figures).
This client does only what the venue's REST API needs: one request at a time per
connection (no pipelining), bodies with Content-Length or chunked, no redirects, no
compression (no Accept-Encoding is sent), TLS for https. Reading the answer: http1_read.

The hot path: `start()` writes a request to an idle connection without awaiting anything
(an asyncio wake-up costs ~100 us) and hands back a PendingResponse to read the answer
from; several may be outstanding at once, each on its own connection. `warm(n)` keeps n
connections idle so that start() finds one. `send()` is start() that may open a connection,
and `request()` is send() then the answer.
"""

import asyncio
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from shared.bybit.http1_read import (
    Connection,
    ConnectionBroken,
    Headers,
    HttpError,
    read_response,
)
from shared.runtime.clock import Clock

__all__ = [
    "ConnectError",
    "ConnectionBroken",
    "Http1Client",
    "HttpError",
    "PendingResponse",
    "Response",
]

IDLE_TIMEOUT_S: Final = 15.0  # an idle connection older than this is not reused
_UNSAFE: Final = re.compile(r"[\r\n\0]")


class ConnectError(HttpError):
    """No connection could be opened: nothing was sent."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Headers
    body: bytes
    sent_ns: int  # right after the request's bytes were handed to the connection


class PendingResponse:
    """A request written whole to its own connection, its answer not read yet.

    Await response() once (or call abandon()): until then the connection is this request's.
    """

    __slots__ = ("_client", "_connection", "_method", "_taken", "sent_ns")

    def __init__(
        self, client: "Http1Client", connection: Connection, method: str, sent_ns: int
    ) -> None:
        self._client = client
        self._connection = connection
        self._method = method
        self._taken = False
        self.sent_ns = sent_ns  # right after the request's bytes were handed to the connection

    async def response(self) -> Response:
        """Read the answer, then give the connection back to the idle pool if it may be reused.

        Raises HttpError (ConnectionBroken) when no whole, well-formed answer came: the
        request may have reached the server. Cancelled (a timeout), the connection is closed.
        """
        if self._taken:
            raise RuntimeError("the response of this request was already taken")
        self._taken = True
        connection = self._connection
        try:
            status, headers, body, reusable = await read_response(connection, self._method)
        except HttpError:
            connection.close()  # the answer's state is unknown: never reuse the connection
            raise
        except Exception as e:  # a parser bug must still read as "outcome unknown"
            connection.close()
            raise ConnectionBroken(f"unreadable answer: {type(e).__name__}: {e}") from e
        except BaseException:  # cancelled (a timeout): the answer may still come, unread
            connection.close()
            raise
        self._client._release(connection, reusable)
        return Response(status, headers, body, self.sent_ns)

    def abandon(self) -> None:
        """Close the connection without reading the answer (whose outcome stays unknown)."""
        if not self._taken:
            self._taken = True
            self._connection.close()


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
        self._idle: list[Connection] = []
        self._generation = 0  # close() starts a new one

    def start(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> PendingResponse | None:
        """Write one request to an idle connection now, awaiting nothing; None if none is idle.

        None means nothing was sent: use send() or request(), which open a connection.
        Raises ValueError for a CR, LF or NUL in the target or a header (see request()).
        """
        data = self._encode(method, target, headers, body)
        connection = self._take_idle()
        if connection is None:
            return None
        return self._write(connection, method, data)

    async def send(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> PendingResponse:
        """Write one request, on an idle connection or a new one; return its pending answer.

        Raises ValueError as request() does, and ConnectError when no connection could be
        opened (nothing was sent).
        """
        data = self._encode(method, target, headers, body)
        connection = self._take_idle() or await self._open()
        return self._write(connection, method, data)

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        """Send one request (`target`: path and query, as sent) and return its answer.

        Raises ValueError, before connecting, for a CR, LF or NUL in the target or a header
        (it would end the request head early and send the rest as another request).
        """
        pending = await self.send(method, target, headers, body)
        return await pending.response()

    async def warm(self, n: int) -> None:
        """Open connections until `n` are idle (those too old or closed are dropped first).

        Raises ConnectError if one could not be opened; those that could are kept.
        """
        self._prune()
        missing = n - len(self._idle)
        if missing <= 0:
            return
        opened = await asyncio.gather(
            *(self._open() for _ in range(missing)), return_exceptions=True
        )
        failures = []
        for connection in opened:
            if isinstance(connection, Connection):
                self._release(connection, reusable=True)
            else:
                failures.append(connection)
        if failures:
            raise failures[0]

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

    def _encode(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> bytes:
        if _UNSAFE.search(" ".join((target, *headers.keys(), *headers.values()))):
            raise ValueError(f"CR, LF or NUL in the request target or a header: {target!r}")
        lines = [f"{method} {self._path_prefix}{target} HTTP/1.1\r\n", self._host_line]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode() + (body or b"")

    def _write(self, connection: Connection, method: str, data: bytes) -> PendingResponse:
        if connection.closed or connection.transport is None:
            raise ConnectError(f"{self._host}:{self._port}: closed before the request was written")
        try:
            connection.transport.write(data)
        except Exception as e:  # part of it may have left: the outcome is unknown
            connection.close()
            raise ConnectionBroken(f"write failed: {type(e).__name__}: {e}") from e
        return PendingResponse(self, connection, method, self._clock.now_ns())

    def _release(self, connection: Connection, reusable: bool) -> None:
        """Back to the idle pool if it may carry another request, else closed."""
        if reusable and self._may_reuse(connection):
            connection.idle_since_ns = self._clock.now_ns()
            self._idle.append(connection)
        else:
            connection.close()

    def _may_reuse(self, connection: Connection) -> bool:
        """Open, opened since the last close(), and nothing unasked-for waiting in it."""
        return (
            not connection.closed
            and not connection.buffer
            and connection.generation == self._generation
        )

    def _fresh(self, connection: Connection, oldest_ns: int) -> bool:
        return self._may_reuse(connection) and connection.idle_since_ns >= oldest_ns

    def _take_idle(self) -> Connection | None:
        oldest_ns = self._clock.now_ns() - int(IDLE_TIMEOUT_S * 1e9)
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely closed
            if self._fresh(connection, oldest_ns):
                return connection
            connection.close()
        return None

    def _prune(self) -> None:
        oldest_ns = self._clock.now_ns() - int(IDLE_TIMEOUT_S * 1e9)
        for connection in self._idle:
            if not self._fresh(connection, oldest_ns):
                connection.close()
        self._idle = [connection for connection in self._idle if not connection.closed]

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                Connection,
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls else None,
            )
        except OSError as e:
            raise ConnectError(f"{self._host}:{self._port}: {e}") from e
        connection.generation = self._generation
        return connection
