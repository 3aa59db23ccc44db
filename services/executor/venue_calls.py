"""The executor's venue calls as a whole: the tasks that read their answers, the request
slots, and the health of each endpoint group.

Each group (orders, queries, private_stream) has a circuit breaker, told of every REST
attempt's outcome (BybitRest.observer) and of the stream's connects and drops: transport
failures, HTTP 5xx, unreadable answers and rate-limit refusals count against it; a venue's
business refusal (a bad price, no balance) is an answer, not a failure. An open orders breaker
denies new exposure (`circuit_open`); reduce-only orders and cancels still go, and after
the cool-down one order probes. Each change of a breaker's state is an alert, and the
states are in metrics (executor_circuit_state) and in the status.

Per strategy: an orders-per-minute limit, and a fair share of the venue's create budget
when it runs low and several strategies want it (order_budget.py); a strategy alone is
paced by the rate budget's wait instead.
"""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final

from services.executor.order_budget import FairShare, StrategyRateLimits
from services.executor.ports import Parts
from shared.bybit.errors import BybitError, VenueError
from shared.bybit.rest import endpoint_group
from shared.runtime.breaker import Breakers, BreakerState
from shared.schema import AlertSeverity

log = logging.getLogger(__name__)
CREATE_PATH: Final = "/v5/order/create"
WARM_CONNECTIONS: Final = 2  # idle order connections kept open for the next orders
WARM_INTERVAL_S: Final = 5.0


def is_venue_failure(error: BybitError) -> bool:
    """A failure of the venue or the way to it, not a refusal of what was asked."""
    return not isinstance(error, VenueError) or error.ret_code in (10006, 10016, 10018)


class VenueCalls:
    """Answers read by tasks; slots for creates in flight; breakers and strategy budgets."""

    def __init__(
        self,
        parts: Parts,
        breakers: Breakers,
        rates: StrategyRateLimits,
        max_in_flight: int,
    ) -> None:
        self._parts = parts
        self.breakers = breakers
        self._rates = rates
        self._fair = FairShare()
        self._max_in_flight = max_in_flight
        self.creates_in_flight = 0
        self._last_success_sent_ns: dict[str, int] = {}  # per group: the newest good news
        self._tasks: set[asyncio.Task[None]] = set()

    def orders_refusal(self, strategy_id: str, now_ns: int, *, reduce_only: bool) -> str | None:
        """Why a new order of `strategy_id` may not go now, or None (and it is counted)."""
        reason = self._rates.check(strategy_id, now_ns)
        if reason is None:
            remaining = self._parts.rest.budget.remaining(CREATE_PATH)
            if remaining is not None:
                reason = self._fair.check(
                    strategy_id, now_ns, remaining, reduces_exposure=reduce_only
                )
                if self._fair.active(now_ns) <= 1:
                    reason = None  # alone: the rate budget's wait paces it, nothing to share
        if reason is None and not reduce_only:
            breaker = self.breakers["orders"]
            if not breaker.allow(now_ns):
                reason = f"circuit_open: the venue's orders calls fail ({breaker.last_reason})"
        if reason is None:
            self._rates.note(strategy_id, now_ns)
            self._fair.note(strategy_id, now_ns)
        return reason

    def slot_free(self) -> bool:
        return self.creates_in_flight < self._max_in_flight

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task of its own; a failure in it is logged and counted."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._parts.counters["venue_task_failures"] += 1
            log.error("venue task failed error=%r", error, exc_info=error)

    async def keep_warm(self) -> None:
        """Idle order connections ready, so that an order's bytes go out without a connect
        (an unused one is closed after a while: see shared/bybit/http1.py)."""
        while True:
            try:
                await self._parts.rest.warm(WARM_CONNECTIONS)
            except BybitError as e:
                log.warning("could not open venue connections ahead error=%s", e)
            await asyncio.sleep(WARM_INTERVAL_S)  # pacing, not waiting for anything

    async def cancel_tasks(self) -> None:
        """Shutdown: stop reading answers (the last reconciliation books what happened)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def observe(self, path: str, sent_ns: int, error: BybitError | None) -> None:
        """One REST attempt's outcome (BybitRest.observer), to its group's breaker.

        With several requests in flight, answers come back out of order: a failure of a
        request sent before one that has since succeeded says nothing new about the venue
        (the success is newer news), so it is counted but not held against the breaker.
        Queries are never held back (reconciliation needs them most when the venue is
        sick): asking their breaker only moves it to half-open after its cool-down, so that
        this outcome can close it again.
        """
        group = endpoint_group(path)
        breaker, now = self.breakers[group], self._parts.clock.now_ns()
        if group != "orders":
            breaker.allow(now)
        if error is None or not is_venue_failure(error):
            last = self._last_success_sent_ns.get(group, 0)
            self._last_success_sent_ns[group] = max(last, sent_ns)
            self._changed(group, breaker.record_success(now))
        elif sent_ns < self._last_success_sent_ns.get(group, 0):
            self._parts.counters[f"breaker_{group}_stale_failures"] += 1
        else:
            self._changed(group, breaker.record_failure(now))

    def stream(self, *, up: bool) -> None:
        """The private stream connected (a success) or dropped (a failure)."""
        breaker, now = self.breakers["private_stream"], self._parts.clock.now_ns()
        breaker.allow(now)  # informational, as for queries: an open one may go half-open
        changed = breaker.record_success(now) if up else breaker.record_failure(now)
        self._changed("private_stream", changed)

    def _changed(self, group: str, state: BreakerState | None) -> None:
        if state is None:
            return
        breaker = self.breakers[group]
        self._parts.counters[f"breaker_{group}_{state.value}"] += 1
        severity = AlertSeverity.CRITICAL if state is BreakerState.OPEN else AlertSeverity.INFO
        self._parts.outbox.alert(
            severity,
            f"circuit_{state.value}",
            f"{group} breaker {state.value}: {breaker.last_reason}",
        )
