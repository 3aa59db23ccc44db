"""run_service(): the one lifecycle of every service process."""

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Service(Protocol):
    name: str

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        """Open sockets, clients and tasks; register each one's clean-up on `resources`."""
        ...

    async def run(self) -> None:
        """Work until cancelled. Returning, or raising, ends the process as a crash."""
        ...


async def run_service(service: Service) -> int:
    """Run `service` until SIGTERM/SIGINT and return the process exit code.

    0 after a requested stop; a crash in start() or run() propagates (the process exits
    non-zero and supervisord restarts it). Clean-ups registered in start() run in both
    cases, in reverse order.
    """
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
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
            log.info("stop requested service=%s", service.name)
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped service=%s", service.name)
    return 0


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
        return asyncio.run(run_service(service))
    except Exception:
        log.critical("crashed service=%s", service.name, exc_info=True)
        return 1
