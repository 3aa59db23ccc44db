"""Every ZeroMQ socket of the project is opened here, with its delivery semantics explicit.

All sockets are plain (blocking-capable) pyzmq sockets. The hot path drains them with
non-blocking reads after one readiness wait, either a blocking poll or an asyncio reader
(see shared.bus.readiness), never one await per message.
"""

from collections.abc import Iterable

import zmq

from shared.endpoints import check_endpoint


def new_context() -> zmq.Context[zmq.Socket[bytes]]:
    """Return a new ZeroMQ context (one per process; the caller terminates it)."""
    return zmq.Context()


def open_publisher(
    ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, *, hwm: int
) -> zmq.Socket[bytes]:
    """Bind a publisher. A send never blocks; a subscriber whose pipe is at the HWM misses it.

    The drop is per subscriber (a stuck tap cannot starve the strategy), and silent here:
    every receiver sees its own loss as a `seq` gap, counts it (`lost`) and repairs its view
    from a snapshot. (XPUB_NODROP would count drops at the sender, but one stuck subscriber
    would then make every send fail for all of them.) XPUB rather than PUB so the
    publisher sees subscriptions arrive.
    """
    check_endpoint(endpoint)
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.LINGER, 0)  # market data is worthless after a stop
    sock.bind(endpoint)
    return sock


def open_tap(ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, *, hwm: int) -> zmq.Socket[bytes]:
    """Bind a tap: a PUB for one reader (the recorder) whose send fails at its HWM.

    Unlike open_publisher, the loss is seen by the sender (XPUB_NODROP: a non-blocking
    send raises zmq.Again), so the sender counts every message its reader did not get. The
    price: a stuck second reader would make every send fail for the first too, hence one
    reader. With no reader connected, a send succeeds and goes nowhere.
    """
    check_endpoint(endpoint)
    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.XPUB_NODROP, 1)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    return sock


def open_subscriber(
    ctx: zmq.Context[zmq.Socket[bytes]],
    endpoints: Iterable[str],
    prefixes: Iterable[str],
    *,
    hwm: int,
) -> zmq.Socket[bytes]:
    """Connect a subscriber to publishers for topic prefixes; past the HWM the sender drops."""
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, hwm)
    sock.setsockopt(zmq.LINGER, 0)
    for prefix in prefixes:
        sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    for endpoint in endpoints:
        check_endpoint(endpoint)
        sock.connect(endpoint)
    return sock


def open_command_sender(
    ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, *, hwm: int
) -> zmq.Socket[bytes]:
    """Connect a PUSH socket that queues only to a connected receiver, so no stale backlog builds.

    With no receiver connected, or at the HWM, a non-blocking send fails at once; the
    caller counts it and treats the receiver as away.
    """
    check_endpoint(endpoint)
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.IMMEDIATE, 1)  # no queue for a peer that is not there
    sock.setsockopt(zmq.LINGER, 0)  # on close, drop unsent commands: they would be stale
    sock.connect(endpoint)
    return sock


def open_command_receiver(
    ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, *, hwm: int
) -> zmq.Socket[bytes]:
    """Bind a PULL socket for commands; past the HWM the senders' sends fail (they count it)."""
    check_endpoint(endpoint)
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.RCVHWM, hwm)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    return sock


def open_snapshot_server(ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
    """Bind a ROUTER that answers snapshot requests; a reply to a vanished peer is discarded."""
    check_endpoint(endpoint)
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.SNDHWM, 100_000)  # one reply may be many messages
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    return sock


def open_snapshot_client(ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
    """Connect a DEALER for one snapshot request (a fresh socket per request: no stale replies)."""
    check_endpoint(endpoint)
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock
