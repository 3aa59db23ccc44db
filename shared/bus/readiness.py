"""Wait in asyncio until a ZeroMQ socket has a message, with no await per message.

ZeroMQ's file descriptor is edge-triggered: it signals that the socket's state changed,
not that a message is waiting. So the socket's EVENTS are checked after every wake-up and
before every wait; the reader stays registered for the socket's life.
"""

import asyncio

import zmq


def is_readable(socket: zmq.Socket[bytes]) -> bool:
    return bool(int(socket.getsockopt(zmq.EVENTS)) & zmq.POLLIN)


class AsyncReadiness:
    def __init__(self, socket: zmq.Socket[bytes]) -> None:
        self._socket = socket
        self._fd = int(socket.getsockopt(zmq.FD))
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Return True once a message is waiting, False if `timeout_s` passed first."""
        if is_readable(self._socket):
            return True
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._fd, self._event.set)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    self._event.clear()
                    if is_readable(self._socket):
                        return True
                    await self._event.wait()
        except TimeoutError:
            return is_readable(self._socket)

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._loop = None
