"""Open a pybit WebSocket and subscribe it so that pybit's own subscribe race cannot fail a test.

pybit (5.17, `_V5WebSocketManager.subscribe`) sends a subscribe request and only then records
its `req_id`. On loopback the venue's answer can reach pybit's receive thread in between;
pybit then raises KeyError in its message callback, closes the socket and does not reconnect.
Bybit's round trip is milliseconds, so the window never opens against the real venue.

pybit is not changed. Each subscription is sent alone and waited for at the venue; when pybit
has closed its own socket, a fresh one is opened and subscribed again, at most `attempts` times.
Waiting for each answer before the next request also keeps the next `subscribe` from waiting
forever on a socket pybit closed (pybit's `subscribe` loops until the socket is connected).
"""

import json
import urllib.request
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from tests.helpers.waiting import eventually_sync

Socket = TypeVar("Socket")


def subscribed(
    open_socket: Callable[[], Socket],
    subscriptions: Sequence[Callable[[Socket], None]],
    venue_topics: Callable[[], int],
    attempts: int = 3,
    timeout_s: float = 15.0,
) -> Socket:
    """A socket from `open_socket` with every one of `subscriptions` answered by the venue.

    `venue_topics` counts the venue's subscriptions on this channel (the admin stats).
    """
    for _ in range(attempts):
        before = venue_topics()
        socket = open_socket()
        try:
            for count, subscribe in enumerate(subscriptions, 1):
                subscribe(socket)
                answered = partial(_answered_or_closed, socket, venue_topics, before + count)
                eventually_sync(answered, timeout_s=timeout_s, interval_s=0.02)
                if _closed(socket):
                    break
            else:
                return socket
        except BaseException:
            _close(socket)  # the venue never answered: no socket left open behind the failure
            raise
        # pybit closed it: wait until the venue has dropped its topics, so the counts stay true
        dropped = partial(_at_most, venue_topics, before)
        eventually_sync(dropped, timeout_s=timeout_s, interval_s=0.02)
    raise AssertionError(f"pybit closed its socket on each of {attempts} attempts to subscribe")


def _answered_or_closed(socket: object, venue_topics: Callable[[], int], wanted: int) -> bool:
    return _closed(socket) or venue_topics() >= wanted


def _at_most(venue_topics: Callable[[], int], most: int) -> bool:
    return venue_topics() <= most


def _close(socket: object) -> None:
    close = getattr(socket, "exit", None)
    if close is not None and not _closed(socket):
        close()


def _closed(socket: object) -> bool:
    return bool(getattr(socket, "exited", False))


def admin_stats(endpoint: str) -> dict[str, Any]:
    """The simulator's admin stats, read without an event loop (pybit's calls are blocking)."""
    with urllib.request.urlopen(f"{endpoint}/admin/stats", timeout=5) as response:
        stats: dict[str, Any] = json.loads(response.read())
    return stats
