"""Orders per minute per strategy, and a fair share of the venue's request budget.

risk.check_order caps the orders of all strategies together; StrategyRateLimits caps each
strategy, so one runaway quoter cannot spend the account's budget alone. FairShare splits
what the venue says is left of its rolling window (X-Bapi-Limit-Status, read through
RateBudget.snapshot()) between the strategies asking for it, once it runs short. Both are
pure: times are integer ns passed in; check() answers with a denial reason or None and
note() counts what was sent.

Counts are kept in buckets of 1/60 of the window, so memory per strategy is bounded
whatever the rate, and a unit is forgotten between one window and one window plus one
bucket after it was counted: the error is on the side of refusing.
"""

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

NS_PER_S: Final = 1_000_000_000
RATE_WINDOW_S: Final = 60.0  # the strategy limits are per minute
BUCKETS_PER_WINDOW: Final = 60


class SlidingCount:
    """Units counted over the last `window_ns`, in at most BUCKETS_PER_WINDOW + 1 buckets."""

    def __init__(self, window_ns: int) -> None:
        self._window_ns = window_ns
        self._bucket_ns = max(1, window_ns // BUCKETS_PER_WINDOW)
        self._buckets: deque[list[int]] = deque()  # [bucket index, units], oldest first
        self._total = 0

    def add(self, now_ns: int, count: int) -> None:
        if count < 0:
            raise ValueError(f"count must be >= 0: {count}")
        self._prune(now_ns)
        index = now_ns // self._bucket_ns
        if self._buckets and self._buckets[-1][0] >= index:
            self._buckets[-1][1] += count  # a clock step back joins the newest bucket
        else:
            self._buckets.append([index, count])
        self._total += count

    def total(self, now_ns: int) -> int:
        self._prune(now_ns)
        return self._total

    def buckets(self) -> int:
        return len(self._buckets)

    def _prune(self, now_ns: int) -> None:
        # A bucket goes once its last instant is a whole window old.
        oldest_kept = (now_ns - self._window_ns) // self._bucket_ns
        while self._buckets and self._buckets[0][0] < oldest_kept:
            self._total -= self._buckets.popleft()[1]


@dataclass(frozen=True)
class StrategyRateSettings:
    """Orders per minute per strategy_id; strategies not named get the default."""

    default_per_min: int = 600  # a quoter re-pricing two sides every 200 ms
    per_strategy_per_min: Mapping[str, int] = field(default_factory=dict)

    def limit_per_min(self, strategy_id: str) -> int:
        return self.per_strategy_per_min.get(strategy_id, self.default_per_min)


class StrategyRateLimits:
    """Each strategy's orders over a sliding 60 s window against its per-minute limit."""

    def __init__(self, settings: StrategyRateSettings | None = None) -> None:
        self.settings = settings or StrategyRateSettings()
        self._sent: dict[str, SlidingCount] = {}

    def check(self, strategy_id: str, now_ns: int, count: int = 1) -> str | None:
        """Return why `count` more orders of `strategy_id` would exceed its limit, or None."""
        limit = self.settings.limit_per_min(strategy_id)
        sent = self.sent(strategy_id, now_ns)
        if sent + count <= limit:
            return None
        return (
            f"strategy {strategy_id}: {sent} orders in the last {RATE_WINDOW_S:g} s, "
            f"limit {limit}/min"
        )

    def note(self, strategy_id: str, now_ns: int, count: int = 1) -> None:
        """Count `count` orders of `strategy_id` sent at `now_ns`."""
        window = self._sent.get(strategy_id)
        if window is None:
            window = self._sent[strategy_id] = SlidingCount(int(RATE_WINDOW_S * NS_PER_S))
        window.add(now_ns, count)

    def sent(self, strategy_id: str, now_ns: int) -> int:
        """Return the orders of `strategy_id` counted in the window ending at `now_ns`."""
        window = self._sent.get(strategy_id)
        return 0 if window is None else window.total(now_ns)


@dataclass(frozen=True)
class FairShareSettings:
    """When the venue's budget counts as scarce, and the window shares are counted over."""

    window_s: float = 1.0  # Bybit's per-UID limits are rolling 1 s windows
    reserve: int = 5  # fewer units left than this and the budget is shared out


class FairShare:
    """Split an endpoint group's remaining venue budget between the strategies asking.

    While the budget is plentiful anyone may spend. When it is scarce each active strategy
    (one that asked within the window) may spend ceil(pool / active) units of the window,
    pool being what is left plus what was noted in the window. Orders and cancels that
    reduce exposure are never refused here (the rate budget still makes them wait).
    """

    def __init__(self, settings: FairShareSettings | None = None) -> None:
        self.settings = settings or FairShareSettings()
        self._window_ns = int(self.settings.window_s * NS_PER_S)
        self._asked_ns: dict[str, int] = {}  # strategy_id -> last ask
        self._spent: dict[str, SlidingCount] = {}

    def check(
        self,
        strategy_id: str,
        now_ns: int,
        remaining: int,
        count: int = 1,
        *,
        reduces_exposure: bool = False,
    ) -> str | None:
        """Return why `strategy_id` may not spend `count` of `remaining` units now, or None.

        Asking makes the strategy active for the window, granted or not.
        """
        self._asked_ns[strategy_id] = now_ns
        active = self.active(now_ns)
        if reduces_exposure or (remaining >= self.settings.reserve and remaining >= active * count):
            return None
        if count > remaining:
            return f"venue budget: {remaining} requests left in the window, asked {count}"
        spent = {s: w.total(now_ns) for s, w in self._spent.items() if s in self._asked_ns}
        share = math.ceil((remaining + sum(spent.values())) / active)
        own = spent.get(strategy_id, 0)
        if own + count <= share:
            return None
        return (
            f"strategy {strategy_id}: fair share {share} of a scarce venue budget "
            f"({remaining} left, {active} strategies), {own} spent in the window"
        )

    def note(self, strategy_id: str, now_ns: int, count: int = 1) -> None:
        """Count `count` venue requests of `strategy_id` sent at `now_ns`."""
        window = self._spent.get(strategy_id)
        if window is None:
            window = self._spent[strategy_id] = SlidingCount(self._window_ns)
        window.add(now_ns, count)

    def active(self, now_ns: int) -> int:
        """Return the number of strategies that asked within the window ending at `now_ns`."""
        since = now_ns - self._window_ns
        for strategy_id in [s for s, t in self._asked_ns.items() if t <= since]:
            del self._asked_ns[strategy_id]  # idle: forget it, and its spend with it
            self._spent.pop(strategy_id, None)
        return len(self._asked_ns)
