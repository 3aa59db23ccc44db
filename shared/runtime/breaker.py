"""Circuit breakers per venue endpoint group: stop calling a venue that keeps failing.

A breaker opens on N consecutive failures or on a failure rate over a sliding window, refuses
calls for a cool-down, then lets exactly one probe through (half-open): the probe's success
closes it, its failure opens it again for a fresh cool-down. Pure: the caller passes `now_ns`
and records the outcome of every call it was allowed to make, a cancelled call included
(as a failure); a probe whose outcome is never recorded keeps the breaker half-open.
"""

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

GROUPS: Final = ("orders", "queries", "private_stream")


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


# The value of the executor_circuit_state gauge: ordered by how bad it is, so max() and
# `== 2` read naturally in alert rules.
GAUGE_VALUES: Final = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(frozen=True)
class BreakerSettings:
    """When a breaker opens and how long it stays open.

    cool_down_s should exceed the request timeout: an outcome recorded while half-open is
    taken as the probe's, and a call sent before the breaker opened must be over by then.
    """

    consecutive_failures: int = 5
    error_rate: float = 0.5  # opens when failures / calls in the window exceed this
    window_s: float = 30.0
    min_calls: int = 10  # fewer calls in the window say nothing about the rate
    cool_down_s: float = 10.0
    max_window_calls: int = 1_000  # memory cap: the oldest outcomes go first

    def __post_init__(self) -> None:
        if self.consecutive_failures < 1 or self.min_calls < 1 or self.max_window_calls < 1:
            raise ValueError("consecutive_failures, min_calls and max_window_calls must be >= 1")
        if not 0.0 <= self.error_rate < 1.0:
            raise ValueError(f"error_rate must be in [0, 1): {self.error_rate}")
        if self.window_s <= 0 or self.cool_down_s < 0:
            raise ValueError("window_s must be > 0 and cool_down_s >= 0")


class CircuitBreaker:
    """One endpoint group's breaker; record_* return the new state when it changed."""

    def __init__(self, group: str, settings: BreakerSettings | None = None) -> None:
        self.group = group
        self.settings = settings or BreakerSettings()
        self._window_ns = int(self.settings.window_s * 1e9)
        self._cool_down_ns = int(self.settings.cool_down_s * 1e9)
        self._state = BreakerState.CLOSED
        self._opened_at_ns = 0
        self._consecutive = 0
        self._window: deque[tuple[int, bool]] = deque()  # (ts_ns, failed), oldest first
        self._window_failures = 0
        self._opened_count = 0
        self._last_reason = ""

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def opened_count(self) -> int:
        """Times the breaker opened, a failed probe's reopening included."""
        return self._opened_count

    @property
    def last_reason(self) -> str:
        """Why it last opened ("" if it never did), for the alert and the status page."""
        return self._last_reason

    @property
    def window_calls(self) -> int:
        return len(self._window)

    def allow(self, now_ns: int) -> bool:
        """Return True if a call may go now; after the cool-down, True once (the probe)."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN and now_ns - self._opened_at_ns >= self._cool_down_ns:
            self._state = BreakerState.HALF_OPEN  # this call is the one probe
            return True
        return False

    def record_success(self, now_ns: int) -> BreakerState | None:
        """Count a successful call; a probe's success closes the breaker and clears the window."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.CLOSED
            self._clear()
            return self._state
        if self._state is BreakerState.CLOSED:
            self._consecutive = 0
            self._add(now_ns, failed=False)
        return None  # open: a call from before the opening says nothing about the venue now

    def record_failure(self, now_ns: int) -> BreakerState | None:
        """Count a failed call; return OPEN if this failure opened (or reopened) the breaker."""
        if self._state is BreakerState.HALF_OPEN:
            return self._open(now_ns, "probe failed while half-open")
        if self._state is BreakerState.OPEN:
            return None  # already open: a late failure must not stretch the cool-down
        self._consecutive += 1
        self._add(now_ns, failed=True)
        if self._consecutive >= self.settings.consecutive_failures:
            return self._open(now_ns, f"{self._consecutive} consecutive failures")
        calls = len(self._window)
        rate = self._window_failures / calls
        if calls >= self.settings.min_calls and rate > self.settings.error_rate:
            window = f"{self.settings.window_s:g} s"
            return self._open(now_ns, f"error rate {rate:.2f} over {window} ({calls} calls)")
        return None

    def _open(self, now_ns: int, reason: str) -> BreakerState:
        self._state = BreakerState.OPEN
        self._opened_at_ns = now_ns
        self._opened_count += 1
        self._last_reason = reason
        self._clear()
        return self._state

    def _clear(self) -> None:
        self._consecutive = 0
        self._window.clear()
        self._window_failures = 0

    def _add(self, now_ns: int, *, failed: bool) -> None:
        window = self._window
        while window and (
            window[0][0] <= now_ns - self._window_ns
            or len(window) >= self.settings.max_window_calls
        ):
            self._window_failures -= window.popleft()[1]
        window.append((now_ns, failed))
        self._window_failures += failed


class Breakers:
    """One CircuitBreaker per endpoint group, with the views status and metrics read."""

    def __init__(
        self,
        groups: Iterable[str] = GROUPS,
        settings: BreakerSettings | None = None,
        overrides: Mapping[str, BreakerSettings] | None = None,
    ) -> None:
        overrides = overrides or {}
        self._breakers = {g: CircuitBreaker(g, overrides.get(g, settings)) for g in groups}

    def __getitem__(self, group: str) -> CircuitBreaker:
        return self._breakers[group]

    def groups(self) -> list[str]:
        return list(self._breakers)

    def snapshot(self) -> dict[str, str]:
        """Return group -> state name, for the status report."""
        return {group: b.state.value for group, b in self._breakers.items()}

    def gauge_values(self) -> dict[str, float]:
        """Return group -> 0 closed, 1 half-open, 2 open: the executor_circuit_state gauge."""
        return {group: float(GAUGE_VALUES[b.state]) for group, b in self._breakers.items()}
