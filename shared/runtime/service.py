"""run_service(): the one lifecycle of every service process."""

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

from shared.runtime.parent import (
    PARENT_POLL_S,
    arm_parent_death_signal,
    parent_gone,
    parent_to_watch,
    reattach_output,
)

log = logging.getLogger(__name__)


class Service(Protocol):
    name: str

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        """Open sockets, clients and tasks; register each one's clean-up on `resources`."""
        ...

    async def run(self) -> None:
        """Work until cancelled. Returning, or raising, ends the process as a crash."""
        ...


async def run_service(service: Service, parent_pid: int | None = None) -> int:
    """Run `service` until SIGTERM/SIGINT and return the process exit code.

    0 after a requested stop; a crash in start() or run() propagates (the process exits
    non-zero and supervisord restarts it). Clean-ups registered in start() run in both
    cases, in reverse order.

    With `parent_pid` (the supervisor), the death of that parent stops the service the same
    way (see shared.runtime.parent); a service with an `outlive_supervisor()` coroutine
    method has it awaited first (the paper venue waits for the executor's last cancels).
    """
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    watcher = None
    if parent_pid is not None:
        arm_parent_death_signal(signal.SIGTERM)
        watcher = asyncio.create_task(_watch_parent(parent_pid, stop_requested), name="parent")
    try:
        async with contextlib.AsyncExitStack() as resources:
            log.info("starting service=%s", service.name)
            await service.start(resources)
            main = asyncio.create_task(service.run(), name=f"{service.name}.run")
            stop = asyncio.create_task(stop_requested.wait(), name="stop_requested")
            await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
            if main.done():
                stop.cancel()
                main.result()  # re-raise the crash
                raise RuntimeError(f"{service.name}.run returned without a stop request")
            if parent_pid is not None and parent_gone(parent_pid):
                await _orphaned(service, parent_pid)
            log.info("stop requested service=%s", service.name)
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
    finally:
        if watcher is not None:
            watcher.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped service=%s", service.name)
    return 0


async def _watch_parent(parent_pid: int, stop_requested: asyncio.Event) -> None:
    while True:
        if parent_gone(parent_pid):
            stop_requested.set()
            return
        await asyncio.sleep(PARENT_POLL_S)  # a poll period, not synchronisation


async def _orphaned(service: Service, parent_pid: int) -> None:
    path = reattach_output(service.name)
    log.warning(
        "supervisor gone parent_pid=%d service=%s: stopping as on SIGTERM (log now %s)",
        parent_pid,
        service.name,
        path or "stderr",
    )
    outlive: Callable[[], Awaitable[None]] | None = getattr(service, "outlive_supervisor", None)
    if outlive is not None:
        await outlive()


async def run_blocking(loop_body: Callable[[threading.Event], None], name: str) -> None:
    """Run a blocking loop in a worker thread until it returns or this task is cancelled.

    `loop_body(stop)` must return soon after `stop` is set (poll with a short timeout and
    check it). Used for hot paths measured faster as a blocking poll loop than in asyncio.
    """
    stop = threading.Event()
    worker = asyncio.create_task(asyncio.to_thread(loop_body, stop), name=name)
    try:
        await asyncio.shield(worker)
    except asyncio.CancelledError:
        stop.set()
        await worker  # the loop notices `stop` within its poll timeout
        raise


def run_main(service: Service) -> int:
    """Run `service` in a new event loop and return the exit code for sys.exit().

    A crash is logged as one line with its traceback and gives exit code 1, so that
    supervisord (autorestart=unexpected) restarts the process.
    """
    try:
        return asyncio.run(run_service(service, parent_pid=parent_to_watch()))
    except Exception:
        log.critical("crashed service=%s", service.name, exc_info=True)
        return 1
