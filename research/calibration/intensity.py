"""Fit A, k and sigma from a recording's trades and books (offline; the doc's §4.1 method).

The recording is read in file (receive-time) order. Order book frames (any depth, kept by
the feed's own `OrderBook`) give the mid, from the shallowest book in sync (orderbook.1,
the venue's top of book, when recorded); each public trade is noted at its price and taker
side. Every `step_s` of receive time closes a step: the deepest distance a trade reached
from the previous step's mid (in ticks) is recorded, and the mid is sampled for sigma.
Then (estimators.py): λ(δ) = #(steps with depth ≥ δ) / (steps · step_s), least squares on
ln λ = ln A - k·δ, and sigma = std of the sampled mid log returns / √step_s.

Units: A per s; k per tick and per price unit (USDT per coin); sigma in bps per √s and in
price units per √s (sigma_bps · 1e-4 · the last mid). A value that cannot be fitted is None,
with the reason in `refusal`; never 0.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.feed.book import OrderBook
from services.strategy.mm.estimators import NS_PER_S, IntensityEstimator, MidVolatility
from shared.bybit import wire
from shared.bybit.ws_frames import FrameDrop, decode_public
from shared.recordings import read_file


@dataclass(frozen=True, slots=True)
class Calibration:
    """What a recording says about A, k and sigma (None: could not be fitted)."""

    a_per_s: float | None
    k_per_tick: float | None
    k_per_price: float | None
    sigma_bps_per_sqrt_s: float | None
    sigma_price_per_sqrt_s: float | None
    refusal: str | None  # why A and k are None
    fit_points: int | None  # depth levels in the regression
    r_squared: float | None  # of ln λ on δ
    steps: int
    trades: int
    duration_s: float
    tick: float
    step_s: float


class _Recorder:
    """Feeds one recording's frames to the estimators, keeping a book per topic."""

    def __init__(self, tick: float, step_s: float, levels: int) -> None:
        self.intensity = IntensityEstimator(tick, window_s=1e9, step_s=step_s, levels=levels)
        self.vol = MidVolatility(window_s=1e9, max_samples=10_000_000, min_returns=10)
        self.books: dict[str, OrderBook] = {}
        self.mid: float | None = None
        self.trades = 0
        self.first_ns: int | None = None
        self.last_ns = 0
        self._sampled_steps = 0

    def on_line(self, recv_ns: int, raw: bytes) -> None:
        frame = decode_public(raw)
        if isinstance(frame, FrameDrop):
            return
        if self.first_ns is None:
            self.first_ns = recv_ns
        self.last_ns = recv_ns
        if self.mid is not None:  # close the steps that ended before this frame first
            self.intensity.advance(recv_ns, self.mid)
            if self.intensity.steps() > self._sampled_steps:  # a step closed: sample the mid
                self._sampled_steps = self.intensity.steps()
                self.vol.add_mid(recv_ns, self.mid)
        if isinstance(frame, wire.OrderBookMessage):
            self._on_book(frame, recv_ns)
        else:
            self._on_trades(frame)

    def _on_book(self, frame: wire.OrderBookMessage, recv_ns: int) -> None:
        book = self.books.get(frame.topic)
        if book is None:
            depth = int(frame.topic.split(".")[1])
            book = self.books[frame.topic] = OrderBook(frame.data.s, depth)
        book.apply(frame, recv_ns)
        for shallowest in sorted(self.books.values(), key=lambda b: b.depth):
            top = shallowest.top()
            if shallowest.tradeable and top is not None:
                self.mid = float(top[0] + top[2]) / 2
                return

    def _on_trades(self, frame: wire.PublicTradeMessage) -> None:
        for trade in frame.data:
            self.trades += 1
            self.intensity.on_trade(float(trade.p), taker_buy=trade.S == "Buy")


def calibrate(
    lines: Iterable[tuple[int, bytes]], tick: float, step_s: float = 0.1, levels: int = 70
) -> Calibration:
    """Return A, k and sigma fitted on the (receive ns, frame) `lines` of one symbol."""
    rec = _Recorder(tick, step_s, levels)
    for recv_ns, raw in lines:
        rec.on_line(recv_ns, raw)
    fit = rec.intensity.fit()
    sigma_bps = rec.vol.sigma_bps_per_sqrt_s(rec.last_ns)
    sigma_price = None
    if sigma_bps is not None and rec.mid is not None:
        sigma_price = sigma_bps * 1e-4 * rec.mid
    return Calibration(
        a_per_s=None if fit is None else fit.a_per_s,
        k_per_tick=None if fit is None else fit.k_per_tick,
        k_per_price=None if fit is None else fit.k_per_price,
        sigma_bps_per_sqrt_s=sigma_bps,
        sigma_price_per_sqrt_s=sigma_price,
        refusal=rec.intensity.refusal,
        fit_points=None if fit is None else fit.points,
        r_squared=None if fit is None else fit.r_squared,
        steps=rec.intensity.steps(),
        trades=rec.trades,
        duration_s=(rec.last_ns - (rec.first_ns or rec.last_ns)) / NS_PER_S,
        tick=tick,
        step_s=step_s,
    )


def calibrate_file(path: Path, tick: float, step_s: float = 0.1, levels: int = 70) -> Calibration:
    """Return A, k and sigma fitted on one `.frames.gz` recording."""
    return calibrate(read_file(path), tick, step_s, levels)
