"""Wait on conditions, never on sleeps."""

import asyncio
import inspect
import time
from collections.abc import Callable


async def eventually(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Return once `condition()` is truthy; fail the test after `timeout_s`.

    `condition` may be a coroutine function (e.g. a REST query); it is then awaited, and
    asked again at most every 50 ms.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        is_query = inspect.isawaitable(result)
        if is_query:
            result = await result  # type: ignore[misc]
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s: {condition}")
        await asyncio.sleep(0.05 if is_query else 0.002)


def eventually_sync(
    condition: Callable[[], object], timeout_s: float = 5.0, interval_s: float = 0.002
) -> None:
    """Blocking form of `eventually`, for code outside an event loop.

    A costly `condition` (a database or a venue query) should pass a longer `interval_s`.
    """
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s: {condition}")
        time.sleep(interval_s)
