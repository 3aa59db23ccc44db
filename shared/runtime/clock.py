"""Time as a dependency: LiveClock in services, FakeClock in tests."""

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """Return UNIX time in integer nanoseconds."""
        ...


class LiveClock:
    def now_ns(self) -> int:
        return time.time_ns()


@dataclass
class FakeClock:
    """A clock that moves only when told to."""

    ns: int = 0

    def now_ns(self) -> int:
        return self.ns

    def advance(self, ns: int) -> None:
        self.ns += ns
