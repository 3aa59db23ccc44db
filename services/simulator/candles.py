"""Minute candles of one symbol: a ring buffer of completed minutes plus the current one.

`CandleSeries` starts from the `synthetic_history` candles before the start, adds the live
trades, and derives the rolling 24 h statistics (`Stats24h`) and Bybit's klines of every
interval from them. Prices are integer ticks, volumes integer lots.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np

from services.simulator.market import DAY_MINUTES, MINUTE_MS, FloatArray, History, IntArray

_WEEK_OFFSET_MIN: Final = 4 * DAY_MINUTES  # 1970-01-05 was the first Monday


@dataclass(frozen=True, slots=True)
class Stats24h:
    """Rolling 24 h statistics, prices in ticks."""

    prev_price_24h: int
    prev_price_1h: int
    high: int
    low: int
    volume: int  # lots
    turnover: float  # USDT


KlineRow = tuple[int, int, int, int, int, int, float]  # start ms, o, h, l, c (ticks), lots, USDT


class CandleSeries:
    """Minute candles of one symbol: a ring buffer of completed minutes plus the current one."""

    def __init__(self, *, capacity: int, unit_value: float, history: History, now_ms: int) -> None:
        self._cap = capacity
        self._unit = unit_value  # USDT per tick x lot
        self._minute: IntArray = np.full(capacity, -1, dtype=np.int64)
        self._o: IntArray = np.zeros(capacity, dtype=np.int64)
        self._h: IntArray = np.zeros(capacity, dtype=np.int64)
        self._l: IntArray = np.zeros(capacity, dtype=np.int64)
        self._c: IntArray = np.zeros(capacity, dtype=np.int64)
        self._v: IntArray = np.zeros(capacity, dtype=np.int64)
        self._t: FloatArray = np.zeros(capacity)
        count = min(len(history.close), capacity - 1)
        minutes = np.arange(history.first_minute, history.first_minute + len(history.close))
        minutes = minutes[-count:]
        idx = minutes % capacity
        self._minute[idx] = minutes
        self._o[idx] = history.open[-count:]
        self._h[idx] = history.high[-count:]
        self._l[idx] = history.low[-count:]
        self._c[idx] = history.close[-count:]
        self._v[idx] = history.volume[-count:]
        self._t[idx] = history.turnover[-count:]
        last = int(history.close[-1])
        self._cm = now_ms // MINUTE_MS
        self._co = self._ch = self._cl = self._cc = last
        self._cv = 0
        self._ct = 0.0
        self._cache_minute = -1
        self._cache: tuple[int, int, int, int, int, float] = (last, last, last, last, 0, 0.0)

    @property
    def last(self) -> int:
        """The latest close (the last traded price), in ticks."""
        return self._cc

    def record(self, now_ms: int, price: int, lots: int) -> None:
        """Add one trade."""
        minute = now_ms // MINUTE_MS
        if minute != self._cm:
            self.roll(now_ms)
        if price > self._ch:
            self._ch = price
        elif price < self._cl:
            self._cl = price
        self._cc = price
        self._cv += lots
        self._ct += price * lots * self._unit

    def roll(self, now_ms: int) -> None:
        """Close the current minute (and any empty minutes) if `now_ms` is in a later one."""
        minute = now_ms // MINUTE_MS
        if minute <= self._cm:
            return
        i = self._cm % self._cap
        self._minute[i] = self._cm
        self._o[i], self._h[i], self._l[i], self._c[i] = self._co, self._ch, self._cl, self._cc
        self._v[i] = self._cv
        self._t[i] = self._ct
        if minute - self._cm > 1:
            gap = np.arange(max(self._cm + 1, minute - self._cap + 1), minute)
            gi = gap % self._cap
            self._minute[gi] = gap
            self._o[gi] = self._h[gi] = self._l[gi] = self._c[gi] = self._cc
            self._v[gi] = 0
            self._t[gi] = 0.0
        self._cm = minute
        self._co = self._ch = self._cl = self._cc
        self._cv = 0
        self._ct = 0.0

    def _close_at(self, minute: int, default: int) -> int:
        i = minute % self._cap
        return int(self._c[i]) if self._minute[i] == minute else default

    def _completed_day(self) -> tuple[int, int, int, int, int, float]:
        if self._cache_minute != self._cm:
            minutes = np.arange(self._cm - DAY_MINUTES + 1, self._cm)
            idx = minutes % self._cap
            idx = idx[self._minute[idx] == minutes]
            oldest = int(self._o[idx[0]]) if len(idx) else self._co
            if len(idx):
                high, low = int(self._h[idx].max()), int(self._l[idx].min())
                volume, turnover = int(self._v[idx].sum()), float(self._t[idx].sum())
            else:
                high, low, volume, turnover = self._co, self._co, 0, 0.0
            prev24 = self._close_at(self._cm - DAY_MINUTES, oldest)
            prev1 = self._close_at(self._cm - 60, oldest)
            self._cache = (prev24, prev1, high, low, volume, turnover)
            self._cache_minute = self._cm
        return self._cache

    def stats(self, now_ms: int) -> Stats24h:
        """Rolling 24 h statistics: the last 1439 complete minutes plus the current one."""
        self.roll(now_ms)
        prev24, prev1, high, low, volume, turnover = self._completed_day()
        return Stats24h(
            prev_price_24h=prev24,
            prev_price_1h=prev1,
            high=max(high, self._ch),
            low=min(low, self._cl),
            volume=volume + self._cv,
            turnover=turnover + self._ct,
        )

    def klines(
        self,
        interval: str,
        limit: int,
        now_ms: int,
        window: tuple[int | None, int | None] = (None, None),
    ) -> list[KlineRow]:
        """Candles of `interval` (Bybit's 1 .. 720, D, W, M), newest first, at most `limit`.

        `window` (start ms, end ms; None: open) keeps the candles holding a time in it: the
        first `limit` of them from a start, else the last `limit` up to the end.
        """
        self.roll(now_ms)
        minutes = np.arange(self._cm - self._cap + 1, self._cm)
        idx = minutes % self._cap
        idx = idx[self._minute[idx] == minutes]
        m = np.append(self._minute[idx], self._cm)
        o = np.append(self._o[idx], self._co)
        h = np.append(self._h[idx], self._ch)
        lo = np.append(self._l[idx], self._cl)
        c = np.append(self._c[idx], self._cc)
        v = np.append(self._v[idx], self._cv)
        t = np.append(self._t[idx], self._ct)
        keys = group_start_minutes(m, interval)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
        ends = np.concatenate((starts[1:] - 1, [len(keys) - 1]))
        starts, ends = _in_window(keys, starts, ends, _window_keys(window, interval), limit)
        rows: list[KlineRow] = []
        for s, e in zip(starts.tolist()[::-1], ends.tolist()[::-1], strict=True):
            rows.append(
                (
                    int(keys[s]) * MINUTE_MS,
                    int(o[s]),
                    int(h[s : e + 1].max()),
                    int(lo[s : e + 1].min()),
                    int(c[e]),
                    int(v[s : e + 1].sum()),
                    float(t[s : e + 1].sum()),
                )
            )
        return rows


def _window_keys(
    window: tuple[int | None, int | None], interval: str
) -> tuple[int | None, int | None]:
    """The start minutes of the candles holding the window's start and end."""

    def key(ms: int | None) -> int | None:
        if ms is None:
            return None
        return int(group_start_minutes(np.array([ms // MINUTE_MS], dtype=np.int64), interval)[0])

    return key(window[0]), key(window[1])


def _in_window(
    keys: IntArray,
    starts: IntArray,
    ends: IntArray,
    window: tuple[int | None, int | None],
    limit: int,
) -> tuple[IntArray, IntArray]:
    """The candles (index ranges) whose start minute is in `window`, at most `limit`."""
    first, last = window
    kept = np.ones(len(starts), dtype=bool)
    if first is not None:
        kept &= keys[starts] >= first
    if last is not None:
        kept &= keys[starts] <= last
    starts, ends = starts[kept], ends[kept]
    if first is not None:
        return starts[:limit], ends[:limit]
    return starts[-limit:], ends[-limit:]


KLINE_INTERVALS: Final = frozenset(
    {"1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M"}
)


def group_start_minutes(minutes: IntArray, interval: str) -> IntArray:
    """The start minute (since the epoch, UTC) of the `interval` candle holding each minute."""
    if interval == "M":
        months = minutes.astype("datetime64[m]").astype("datetime64[M]")
        starts: IntArray = months.astype("datetime64[m]").astype(np.int64)
        return starts
    if interval == "W":
        return (minutes - _WEEK_OFFSET_MIN) // 10_080 * 10_080 + _WEEK_OFFSET_MIN
    size = DAY_MINUTES if interval == "D" else int(interval)
    return minutes // size * size
