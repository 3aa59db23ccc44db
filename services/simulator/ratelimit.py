"""Bybit's per-UID, per-endpoint rolling 1-second limits, and the per-IP limit (pure)."""

from collections import deque
from dataclasses import dataclass, field
from typing import Final

# Reference 3.3, linear defaults (requests per rolling second).
ENDPOINT_LIMITS: Final[dict[str, int]] = {
    "/v5/order/create": 10,
    "/v5/order/amend": 10,
    "/v5/order/cancel": 10,
    "/v5/order/cancel-all": 10,
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 50,
    "/v5/position/list": 50,
    "/v5/position/set-leverage": 10,
    "/v5/position/trading-stop": 10,
    "/v5/account/wallet-balance": 50,
    "/v5/order/create-batch": 10,  # counted per order (`take`), as Bybit does
    "/v5/order/amend-batch": 10,
    "/v5/order/cancel-batch": 10,
    "/v5/position/switch-mode": 10,
    "/v5/account/fee-rate": 5,
}
DEFAULT_LIMIT: Final = 50
IP_LIMIT: Final = 600  # per 5 s window
IP_WINDOW_MS: Final = 5_000


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at_ms: int  # when a slot frees up (now when slots remain)


@dataclass
class RateLimiter:
    """Rolling windows of request times per (account, path) and per client IP."""

    _calls: dict[tuple[str, str], deque[int]] = field(default_factory=dict)
    _ip_calls: dict[str, deque[int]] = field(default_factory=dict)

    def check(self, account: str, path: str, now_ms: int) -> Verdict:
        """Count one request of `account` on `path` unless it is over the limit."""
        limit = ENDPOINT_LIMITS.get(path, DEFAULT_LIMIT)
        window = self._calls.setdefault((account, path), deque())
        _expire(window, now_ms - 1_000)
        if len(window) >= limit:
            return Verdict(False, limit, 0, window[0] + 1_000)
        window.append(now_ms)
        return Verdict(True, limit, limit - len(window), now_ms)

    def take(self, account: str, path: str, now_ms: int, units: int) -> int:
        """Count up to `units` more requests of `account` on `path`; return how many fit.

        A batch's further orders (its first was counted by `check`): Bybit counts each order
        of a batch, and when the batch is over the remaining quota the first ones go through.
        """
        limit = ENDPOINT_LIMITS.get(path, DEFAULT_LIMIT)
        window = self._calls.setdefault((account, path), deque())
        _expire(window, now_ms - 1_000)
        granted = max(0, min(units, limit - len(window)))
        window.extend([now_ms] * granted)
        return granted

    def check_ip(self, ip: str, now_ms: int) -> bool:
        window = self._ip_calls.setdefault(ip, deque())
        _expire(window, now_ms - IP_WINDOW_MS)
        if len(window) >= IP_LIMIT:
            return False
        window.append(now_ms)
        return True


def _expire(window: deque[int], older_than_ms: int) -> None:
    while window and window[0] <= older_than_ms:
        window.popleft()
