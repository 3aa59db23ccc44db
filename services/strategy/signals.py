"""The momentum signal and the entry filters (float64 analytics; nothing here is sent).

Momentum is (last trade price - VWAP) / VWAP over the last N trades, kept in a
preallocated ring buffer. An entry goes in the momentum's direction once the window is
full and |momentum| exceeds the threshold, and only when every filter of `EntryGate` passes.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.strategy.settings import StrategySettings

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
HOUR_NS = 3_600 * NS_PER_S

# Why an entry was not taken (counter names; constants, so the hot path does not format).
STALE_QUOTE = "entry_blocked_stale_quote"
STALE_TRADE = "entry_blocked_stale_trade"
WIDE_SPREAD = "entry_blocked_wide_spread"
THIN_BOOK = "entry_blocked_thin_book"
COOLDOWN = "entry_blocked_cooldown"
HOURLY_CAP = "entry_blocked_hourly_cap"


def vwap(prices: npt.NDArray[np.float64], qtys: npt.NDArray[np.float64]) -> float:
    """Return the volume-weighted average price (0.0 when there is no volume)."""
    volume = float(qtys.sum())
    return float(np.dot(prices, qtys)) / volume if volume > 0 else 0.0


def momentum(last_price: float, vwap_price: float) -> float:
    """Return (last - vwap) / vwap: positive when the last trade is above the VWAP."""
    return (last_price - vwap_price) / vwap_price if vwap_price > 0 else 0.0


class TradeWindow:
    """The last `capacity` trades of one symbol, and the momentum over them."""

    __slots__ = ("_count", "_next", "_prices", "_qtys", "last_price", "last_recv_ns", "momentum")

    def __init__(self, capacity: int) -> None:
        self._prices = np.zeros(capacity, dtype=np.float64)
        self._qtys = np.zeros(capacity, dtype=np.float64)
        self._next = 0
        self._count = 0
        self.last_price = 0.0
        self.last_recv_ns = 0
        self.momentum = 0.0  # 0.0 until the window is full

    @property
    def full(self) -> bool:
        return self._count == len(self._prices)

    def push(self, price: float, qty: float, recv_ns: int) -> None:
        """Add one trade; once the window is full, recompute the momentum."""
        i = self._next
        self._prices[i] = price
        self._qtys[i] = qty
        self._next = (i + 1) % len(self._prices)
        if self._count < len(self._prices):
            self._count += 1
        self.last_price = price
        self.last_recv_ns = recv_ns
        if self._count == len(self._prices):
            self.momentum = momentum(price, vwap(self._prices, self._qtys))

    def current_vwap(self) -> float:
        """Return the VWAP of the trades in the window so far."""
        n = self._count
        return vwap(self._prices[:n], self._qtys[:n])

    def reset(self) -> None:
        """Forget every trade (a new symbol starts with an empty window)."""
        self._next = 0
        self._count = 0
        self.last_price = 0.0
        self.last_recv_ns = 0
        self.momentum = 0.0


@dataclass(slots=True)
class TopOfBook:
    """A float mirror of the last quote, for the filters and the exit checks."""

    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    recv_ns: int

    @property
    def spread_bps(self) -> float:
        mid = (self.bid + self.ask) * 0.5
        return (self.ask - self.bid) / mid * 1e4 if mid > 0 else float("inf")


class EntryGate:
    """The filters an entry must pass besides the signal: freshness, book, pacing."""

    def __init__(self, settings: StrategySettings) -> None:
        self._stale_ns = settings.max_quote_age_ms * NS_PER_MS
        self._max_spread_bps = settings.max_spread_bps
        self._min_top_notional = settings.min_top_notional_usdt
        self._cooldown_ns = int(settings.cooldown_s * NS_PER_S)
        self._max_entries = settings.max_entries_per_hour
        self._entries_ns: deque[int] = deque()
        self.cooldown_until_ns = 0

    def block_reason(self, top: TopOfBook, last_trade_recv_ns: int, now_ns: int) -> str | None:
        """Return why no entry may be taken now, or None when every filter passes."""
        if now_ns - top.recv_ns > self._stale_ns:
            return STALE_QUOTE
        if now_ns - last_trade_recv_ns > self._stale_ns:
            return STALE_TRADE
        if top.spread_bps > self._max_spread_bps:
            return WIDE_SPREAD
        limit = self._min_top_notional
        if top.bid * top.bid_qty < limit or top.ask * top.ask_qty < limit:
            return THIN_BOOK
        if now_ns < self.cooldown_until_ns:
            return COOLDOWN
        return HOURLY_CAP if self.entries_last_hour(now_ns) >= self._max_entries else None

    def entries_last_hour(self, now_ns: int) -> int:
        entries = self._entries_ns
        while entries and entries[0] <= now_ns - HOUR_NS:
            entries.popleft()
        return len(entries)

    def record_entry(self, now_ns: int) -> None:
        self._entries_ns.append(now_ns)

    def start_cooldown(self, now_ns: int) -> None:
        self.cooldown_until_ns = now_ns + self._cooldown_ns
