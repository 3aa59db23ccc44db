"""Statistics of a market's public data: what makes one market look like another.

Pure: a `Tape` (book tops, depth samples and trades, in venue time) in, `MarketStatistics`
out, plus `tape_of_frames`, which rebuilds a tape from Bybit V5 public frames (lines of
`<receive ns> <frame JSON>` as recorded, or bare JSON lines). Compared between markets of
different symbols, so every statistic is relative: spreads in ticks and bps, returns in
bps, depth in USDT within N bps of the touch, trades per second.

- spread: sampled on a regular grid of `sample_ms` of venue time (the latest top at each
  grid point), so busy moments do not weigh more than quiet ones; median and mean.
- returns: standard deviation of the log return of the mid over non-overlapping windows of
  1 s, 10 s and 60 s (mean not removed: over seconds it is noise). Six minutes hold only
  five one-minute windows, so the 60 s figure is shown but calibration uses the 10 s one
  (34 windows, still above the half-tick noise of the mid); `return_sd_60s_from_10s_bps`
  scales it by sqrt(6) as a random walk would.
- depth: USDT resting within N bps of the best price, per side (the mean of the bid and the
  ask side), median over the depth samples.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEPTH_BANDS_BPS = (1.0, 5.0, 10.0)
RETURN_WINDOWS_S = (1, 10, 60)


@dataclass(slots=True)
class Tape:
    """Public data of one symbol; times are venue milliseconds."""

    tick: float
    tops: list[tuple[int, float, float]] = field(default_factory=list)  # ts, bid, ask
    depths: list[tuple[int, tuple[float, ...]]] = field(default_factory=list)  # ts, USDT/band
    trades: list[tuple[int, float, float]] = field(default_factory=list)  # ts, price, qty


@dataclass(frozen=True, slots=True)
class MarketStatistics:
    duration_s: float
    spread_ticks_median: float
    spread_ticks_mean: float
    spread_bps_median: float
    spread_bps_mean: float
    trades_per_s: float
    trade_usdt_mean: float
    return_sd_1s_bps: float
    return_sd_10s_bps: float
    return_sd_60s_bps: float
    return_windows_60s: int
    return_sd_60s_from_10s_bps: float
    depth_usdt_1bps: float
    depth_usdt_5bps: float
    depth_usdt_10bps: float


def depth_within(
    levels: Iterable[tuple[float, float]],
    best: float,
    *,
    is_bid: bool,
    bands_bps: tuple[float, ...],
) -> tuple[float, ...]:
    """USDT of `levels` (price, qty) within each band (bps) of `best` on one side."""
    limits = [best * (1 - b / 1e4) if is_bid else best * (1 + b / 1e4) for b in bands_bps]
    sums = [0.0] * len(bands_bps)
    for price, qty in levels:
        for i, limit in enumerate(limits):
            if (price >= limit) if is_bid else (price <= limit):
                sums[i] += price * qty
    return tuple(sums)


def book_depth(
    bids: Iterable[tuple[float, float]],
    asks: Iterable[tuple[float, float]],
    bands_bps: tuple[float, ...] = DEPTH_BANDS_BPS,
) -> tuple[float, ...] | None:
    """Mean of the two sides' USDT within each band of the touch; None for a one-sided book."""
    bid_levels, ask_levels = list(bids), list(asks)
    if not bid_levels or not ask_levels:
        return None
    best_bid = max(p for p, _ in bid_levels)
    best_ask = min(p for p, _ in ask_levels)
    b = depth_within(bid_levels, best_bid, is_bid=True, bands_bps=bands_bps)
    a = depth_within(ask_levels, best_ask, is_bid=False, bands_bps=bands_bps)
    return tuple((x + y) / 2 for x, y in zip(b, a, strict=True))


def grid_tops(tape: Tape, sample_ms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, bids and asks on a grid of `sample_ms`: the latest top at each grid point."""
    ts = np.array([t for t, _, _ in tape.tops], dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    bid = np.array([b for _, b, _ in tape.tops])[order]
    ask = np.array([a for _, _, a in tape.tops])[order]
    grid = np.arange(ts[0], ts[-1] + 1, sample_ms)
    idx = np.searchsorted(ts, grid, side="right") - 1
    return grid, bid[idx], ask[idx]


def _return_sd_bps(log_mid: np.ndarray, step: int) -> tuple[float, int]:
    points = log_mid[::step]
    returns = np.diff(points)
    if len(returns) == 0:
        return math.nan, 0
    return float(math.sqrt(np.mean(returns**2)) * 1e4), len(returns)


def statistics_of(tape: Tape, sample_ms: int = 100) -> MarketStatistics:
    """The statistics of `tape` (at least two tops); `sample_ms` divides 1000."""
    if len(tape.tops) < 2 or 1000 % sample_ms:
        raise ValueError("a tape needs two book tops and a sample_ms dividing 1000")
    grid, bid, ask = grid_tops(tape, sample_ms)
    duration_s = (grid[-1] - grid[0]) / 1000
    mid = (bid + ask) / 2
    spread_ticks = np.round((ask - bid) / tape.tick, 6)  # prices are floats of ticks
    spread_bps = (ask - bid) / mid * 1e4
    log_mid = np.log(mid)
    per_s = 1000 // sample_ms
    sd = {w: _return_sd_bps(log_mid, w * per_s) for w in RETURN_WINDOWS_S}
    in_span = [(p, q) for t, p, q in tape.trades if grid[0] <= t <= grid[-1]]
    trade_usdt = [p * q for p, q in in_span]
    depth = np.array([d for _, d in tape.depths]) if tape.depths else np.full((1, 3), math.nan)
    depth_median = np.median(depth, axis=0)
    return MarketStatistics(
        duration_s=float(duration_s),
        spread_ticks_median=float(np.median(spread_ticks)),
        spread_ticks_mean=float(np.mean(spread_ticks)),
        spread_bps_median=float(np.median(spread_bps)),
        spread_bps_mean=float(np.mean(spread_bps)),
        trades_per_s=len(in_span) / float(duration_s) if duration_s else math.nan,
        trade_usdt_mean=float(np.mean(trade_usdt)) if trade_usdt else math.nan,
        return_sd_1s_bps=sd[1][0],
        return_sd_10s_bps=sd[10][0],
        return_sd_60s_bps=sd[60][0],
        return_windows_60s=sd[60][1],
        return_sd_60s_from_10s_bps=sd[10][0] * math.sqrt(6),
        depth_usdt_1bps=float(depth_median[0]),
        depth_usdt_5bps=float(depth_median[1]),
        depth_usdt_10bps=float(depth_median[2]),
    )


# ---------------------------------------------------------------- Bybit public frames


def _apply_levels(side: dict[float, float], levels: list[list[str]]) -> None:
    for price_text, qty_text in levels:
        price, qty = float(price_text), float(qty_text)
        if qty == 0:
            side.pop(price, None)
        else:
            side[price] = qty


class _FrameReader:
    """Applies one symbol's frames to a tape: trades, orderbook.1 tops, the deeper book."""

    def __init__(self, symbol: str, tick: float, sample_ms: int) -> None:
        self.symbol = symbol
        self.tape = Tape(tick=tick)
        self.deep_tops: list[tuple[int, float, float]] = []
        self._sample_ms = sample_ms
        self._deep_topic = ""
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}
        self._next_depth_ms = 0

    def read(self, frame: dict[str, Any]) -> None:
        topic = frame.get("topic", "")
        if not topic.endswith("." + self.symbol):
            return  # another symbol's, or no topic (a subscription's answer)
        ts, data = int(frame["ts"]), frame["data"]
        if topic == f"publicTrade.{self.symbol}":
            self.tape.trades.extend((int(t["T"]), float(t["p"]), float(t["v"])) for t in data)
        elif topic == f"orderbook.1.{self.symbol}":
            if data["b"] and data["a"]:
                self.tape.tops.append((ts, float(data["b"][0][0]), float(data["a"][0][0])))
        elif topic.startswith("orderbook."):
            self._deep_topic = self._deep_topic or topic  # the first deeper book of the stream
            if topic == self._deep_topic:
                self._book(frame["type"] == "snapshot", data, ts)

    def _book(self, snapshot: bool, data: dict[str, Any], ts: int) -> None:
        if snapshot:
            self._bids.clear()
            self._asks.clear()
        _apply_levels(self._bids, data["b"])
        _apply_levels(self._asks, data["a"])
        if self._bids and self._asks:
            self.deep_tops.append((ts, max(self._bids), min(self._asks)))
        if ts >= self._next_depth_ms:
            depth = book_depth(self._bids.items(), self._asks.items())
            if depth is not None:
                self.tape.depths.append((ts, depth))
                self._next_depth_ms = ts + self._sample_ms


def tape_of_frames(lines: Iterable[str], *, symbol: str, tick: float, sample_ms: int = 100) -> Tape:
    """Rebuild `symbol`'s tape from Bybit public frames, one per line.

    Tops come from `orderbook.1` when the stream has it (it is real time; deeper books
    arrive batched), else from the rebuilt deeper book; depth is sampled from the deeper
    book at most once per `sample_ms`.
    """
    reader = _FrameReader(symbol, tick, sample_ms)
    for line in lines:
        text = line.strip()
        if text:
            reader.read(json.loads(text[text.index("{") :]))
    if not reader.tape.tops:
        reader.tape.tops = reader.deep_tops
    return reader.tape


# ---------------------------------------------------------------- side by side

STAT_ROWS: tuple[tuple[str, str, str], ...] = (  # key, label, format
    ("duration_s", "duration s", ".0f"),
    ("spread_ticks_median", "spread ticks median", ".2f"),
    ("spread_ticks_mean", "spread ticks mean", ".2f"),
    ("spread_bps_median", "spread bps median", ".3f"),
    ("spread_bps_mean", "spread bps mean", ".3f"),
    ("trades_per_s", "trades per s", ".1f"),
    ("trade_usdt_mean", "trade USDT mean", ",.0f"),
    ("return_sd_1s_bps", "return sd 1 s bps", ".2f"),
    ("return_sd_10s_bps", "return sd 10 s bps (calibrated)", ".2f"),
    ("return_sd_60s_bps", "return sd 60 s bps", ".2f"),
    ("return_windows_60s", "  one-minute windows", "d"),
    ("return_sd_60s_from_10s_bps", "return sd 60 s from 10 s bps", ".2f"),
    ("depth_usdt_1bps", "depth USDT/side within 1 bps", ",.0f"),
    ("depth_usdt_5bps", "depth USDT/side within 5 bps", ",.0f"),
    ("depth_usdt_10bps", "depth USDT/side within 10 bps", ",.0f"),
)


def table_lines(columns: dict[str, dict[str, float]]) -> list[str]:
    """Statistics side by side: one row per statistic, one column per market."""
    width = max(len(label) for _, label, _ in STAT_ROWS)
    lines = [f"{'':<{width}}" + "".join(f" {name:>14}" for name in columns)]
    for key, label, fmt in STAT_ROWS:
        cells = []
        for stats in columns.values():
            value = stats.get(key)
            ok = isinstance(value, int | float) and math.isfinite(value)
            cells.append(f" {format(value, fmt) if ok else '-':>14}")
        lines.append(f"{label:<{width}}" + "".join(cells))
    return lines
