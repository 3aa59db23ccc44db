"""A per-endpoint request budget fed by Bybit's X-Bapi-Limit* response headers.

Bybit limits each endpoint per UID in a rolling window and reports on every response the
limit, the requests left and when an exhausted limit resets (reference section 3.2). One
RateBudget per process, shared by every client, keeps the latest report per path and makes
a request wait until the reset instead of earning a 10006.

The headers alone let bursts through: once a reset has passed the budget counted the whole
limit again, but a rolling window frees one slot at a time (a market maker's requotes drew
314 answers of 10006 in two minutes on the paper venue). So each path also keeps the times
of its own sends over the last window: a request waits until fewer than `limit` units were
sent in the `window_ms` before it (the executor is the account's only trader, so its own
sends are what the venue counts). A unit leaves that window `ROLLING_MARGIN_MS` late: the
venue counts a request when it arrives, and two requests' trips differ by a few ms.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from shared.runtime.clock import Clock

log = logging.getLogger(__name__)

ROLLING_MARGIN_MS = 50  # a send's window ends this much after the venue's, to be safe
LIMIT_HEADER = "X-Bapi-Limit"
STATUS_HEADER = "X-Bapi-Limit-Status"
RESET_HEADER = "X-Bapi-Limit-Reset-Timestamp"


@dataclass
class PathBudget:
    """The venue's last word on one endpoint, minus the requests sent since."""

    limit: int
    remaining: int
    reset_ms: int


class RateBudget:
    """Central budget per endpoint path; wait in acquire() while a path is exhausted."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_delay_s: float = 5.0,
        window_ms: int = 1000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # max_delay_s caps a wait: a reset timestamp far in the future is a bad header or a
        # skewed clock, and a request retried into 10006 is better than one stuck for minutes.
        self._clock = clock
        self._max_delay_s = max_delay_s
        self._window_ms = window_ms  # Bybit's per-UID windows are rolling 1 s windows
        self._sleep = sleep
        self._paths: dict[str, PathBudget] = {}
        self._sent: dict[str, deque[int]] = {}  # per path, the ms of each unit sent lately
        self.waits = 0  # acquire() calls that had to wait
        self.waited_s = 0.0
        self.bad_headers = 0  # responses whose rate headers could not be read

    @property
    def max_delay_s(self) -> float:
        return self._max_delay_s

    def update(self, path: str, headers: Mapping[str, str], now_ms: int) -> None:
        """Record the rate headers of one response to `path`; ignore a response without them."""
        raw = (headers.get(LIMIT_HEADER), headers.get(STATUS_HEADER), headers.get(RESET_HEADER))
        if raw == (None, None, None):
            return
        try:
            limit, remaining = int(raw[0] or ""), int(raw[1] or "")
            reset_ms = int(raw[2]) if raw[2] else now_ms
        except ValueError:
            self.bad_headers += 1
            log.warning("bad rate headers path=%s headers=%r", path, raw)
            return
        known = self._paths.get(path)
        if known is not None and now_ms < known.reset_ms:
            # Same window: answers arrive out of order under concurrency, so an older
            # answer must not reopen a budget that newer sends have used up.
            remaining = min(remaining, known.remaining)
        self._paths[path] = PathBudget(limit=limit, remaining=remaining, reset_ms=reset_ms)

    def exhaust(self, path: str, reset_ms: int) -> None:
        """Mark `path` exhausted until `reset_ms` (a 10006 answer says so even without headers)."""
        budget = self._paths.get(path)
        if budget is None:
            self._paths[path] = PathBudget(limit=0, remaining=0, reset_ms=reset_ms)
            return
        budget.remaining = 0
        budget.reset_ms = max(budget.reset_ms, reset_ms)

    def delay_s(self, path: str, now_ms: int, units: int = 1) -> float:
        """Return how long `units` requests to `path` must wait at `now_ms` (0: they may go now).

        `units`: what the request counts for, 1 or a batch's orders (Bybit counts each).
        """
        budget = self._paths.get(path)
        if budget is None:
            return 0.0
        rolling_ms = self._rolling_wait_ms(path, budget.limit, now_ms, units)
        if budget.reset_ms <= now_ms or budget.remaining >= min(units, max(budget.limit, 1)):
            wait_ms = rolling_ms
        else:
            wait_ms = max(rolling_ms, budget.reset_ms - now_ms)
        return min(self._max_delay_s, wait_ms / 1000)

    def _rolling_wait_ms(self, path: str, limit: int, now_ms: int, units: int) -> int:
        """How long until `units` more sends to `path` keep every window of `window_ms` at
        most `limit` units (a batch larger than the limit: until the window is empty)."""
        sent = self._sent.get(path)
        if not sent or limit <= 0:
            return 0
        while sent and sent[0] <= now_ms - self._window_ms - ROLLING_MARGIN_MS:
            sent.popleft()
        over = len(sent) + min(units, limit) - limit  # the oldest `over` must leave first
        if over <= 0:
            return 0
        return sent[over - 1] + self._window_ms + ROLLING_MARGIN_MS - now_ms

    async def acquire(self, path: str, units: int = 1) -> None:
        """Wait until `units` requests to `path` may be sent, then count them against it."""
        delay = self.delay_s(path, self._now_ms(), units)
        if delay > 0:
            self.waits += 1
            self.waited_s += delay
            log.info("rate budget wait path=%s delay_s=%.3f", path, delay)
            await self._sleep(delay)
        self.consume(path, units)

    def consume(self, path: str, units: int = 1) -> None:
        """Count `units` requests to `path` sent without acquire() (after delay_s() said 0)."""
        # Counting a request before its answer stops concurrent callers from all spending
        # the last unit; the next response's headers overwrite this estimate.
        budget = self._paths.get(path)
        if budget is None or budget.limit <= 0:
            return
        now_ms = self._now_ms()
        sent = self._sent.setdefault(path, deque())
        sent.extend([now_ms] * min(units, budget.limit))
        while len(sent) > budget.limit:  # what a window can hold is all that matters
            sent.popleft()
        if budget.remaining <= 0 and budget.reset_ms <= now_ms:
            budget.remaining = budget.limit  # the window has rolled since the last report
        budget.remaining -= units
        if budget.remaining <= 0:
            # Spent locally: the venue's reset header is only "about now" while a limit is
            # not exceeded, so assume a whole window must pass before the next request.
            budget.remaining = 0
            budget.reset_ms = max(budget.reset_ms, now_ms + self._window_ms)

    def remaining(self, path: str) -> int | None:
        """Requests to `path` left in the current window as last reported (None: unknown)."""
        budget = self._paths.get(path)
        return None if budget is None else budget.remaining

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Return limit, remaining and reset_ms per path, for metrics."""
        return {
            path: {"limit": b.limit, "remaining": b.remaining, "reset_ms": b.reset_ms}
            for path, b in sorted(self._paths.items())
        }

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000
