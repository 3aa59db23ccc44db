"""One quoted symbol's state in the market maker's core: book, estimators, inventory, PnL.

Everything here is moved by messages with their time passed in (`now_ns`); nothing reads
a clock. The core owns one `SymbolMarket` per quoted symbol; the pipeline (pipeline.py)
reads them through `cycle_input`.

Units: `position_qty` in coin (signed, short < 0), money in USDT, times in ns, sigma in log
units per √s (x mid: price units per √s, as GLFT wants).
"""

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from services.strategy.mm.estimators import (
    NS_PER_S,
    IntensityEstimator,
    IntensityFit,
    MidVolatility,
    seeded_fit,
)
from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.spread import near_touch_usdt
from services.strategy.mm.taker_cap import TakerCap
from shared.pnl import Holding, apply_fill
from shared.schema import BookLevel, BookLevels, OrderSide, Quote, Symbol

DAY_NS: Final = 86_400 * NS_PER_S
ZERO = Decimal(0)


def quote_levels(quote: Quote) -> BookLevels:
    """A top-of-book Quote as one level a side (the feed publishes BookLevels only at
    depth 50; the quote manager's queue board reads levels)."""
    return BookLevels(
        symbol=quote.symbol,
        epoch=quote.epoch,
        bids=(BookLevel(price=quote.bid_price, qty=quote.bid_qty),),
        asks=(BookLevel(price=quote.ask_price, qty=quote.ask_qty),),
        venue_update_id=quote.venue_update_id,
        ts_event_ns=quote.ts_event_ns,
        ts_recv_ns=quote.ts_recv_ns,
        trace_id=quote.trace_id,
    )


@dataclass(slots=True)
class PnlWindow:
    """Realised PnL net of fees: the rolling window's entries and sum, today's sum (UTC).
    The window's sum is kept as entries come and go (asked on every cycle), and summed
    exactly again when the window empties, so float drift cannot build up."""

    window_ns: int
    entries: deque[tuple[int, float]] = field(default_factory=deque)
    day: int = -1
    day_usdt: float = 0.0
    sum_usdt: float = 0.0  # of `entries`

    def add(self, now_ns: int, net_usdt: float) -> None:
        self.entries.append((now_ns, net_usdt))
        self.sum_usdt += net_usdt
        if now_ns // DAY_NS != self.day:
            self.day, self.day_usdt = now_ns // DAY_NS, 0.0
        self.day_usdt += net_usdt

    def window_usdt(self, now_ns: int) -> float:
        entries = self.entries
        while entries and entries[0][0] <= now_ns - self.window_ns:
            self.sum_usdt -= entries.popleft()[1]
            if not entries:
                self.sum_usdt = 0.0
        return self.sum_usdt

    def today_usdt(self, now_ns: int) -> float:
        return self.day_usdt if now_ns // DAY_NS == self.day else 0.0


class SymbolMarket:
    """One symbol: its grid, last book, estimators, taker cap, position and PnL."""

    def __init__(
        self, symbol: Symbol, grid: tuple[Decimal, Decimal], settings: MarketMakerSettings
    ) -> None:
        self.symbol = symbol
        self.tick, self.lot = grid
        self.levels: BookLevels | None = None
        # The top of `levels` and its USDT near the touch, worked out once per book: a cycle
        # reads the mid five times (inventory, PnL), and a trade's or the timer's cycle
        # reads the same book again. Keyed on the levels object, so they cannot go stale.
        self._top_of: BookLevels | None = None
        self._mid: float | None = None
        self._best: tuple[Decimal, Decimal] | None = None
        self._near_of: BookLevels | None = None
        self._near_band_bps = 0.0
        self._near: float | None = None
        self.levels_from_feed = False  # BookLevels seen: Quotes no longer stand in
        self.book_ns = 0  # receive time of the last book update (0: none yet)
        self.epoch = 0
        self.feed_ready = False
        self.feed_live = True
        self.below_lot_told = False  # the alert that one quote's size is under a lot, once
        self.volatility = MidVolatility(settings.vol_window_s)
        self.intensity = IntensityEstimator(
            float(self.tick),
            settings.intensity_window_s,
            settings.intensity_step_s,
            settings.intensity_levels_count,
        )
        self.fit: IntensityFit | None = seeded_fit(settings, float(self.tick))
        self.next_fit_ns = 0
        self.taker_cap = TakerCap(settings)
        self.holding = Holding()
        self.realised_usdt = ZERO  # before fees
        self.fees_usdt = ZERO
        self.pnl = PnlWindow(int(settings.pnl_window_s * NS_PER_S))

    @property
    def position_qty(self) -> Decimal:
        return self.holding.qty

    def mid(self) -> float | None:
        if self.levels is not self._top_of:
            self._read_top()
        return self._mid

    def best(self) -> tuple[Decimal, Decimal] | None:
        if self.levels is not self._top_of:
            self._read_top()
        return self._best

    def _read_top(self) -> None:
        levels = self._top_of = self.levels
        if levels is None or not levels.bids or not levels.asks:
            self._mid = self._best = None
            return
        bid, ask = levels.bids[0].price, levels.asks[0].price
        self._mid, self._best = float(bid + ask) / 2, (bid, ask)

    def on_levels(self, levels: BookLevels, now_ns: int) -> None:
        """A book update: the estimators' mid and the feed's age."""
        self.levels, self.book_ns, self.epoch = levels, now_ns, levels.epoch
        mid = self.mid()
        if mid is not None:
            self.volatility.add_mid(now_ns, mid)
            self.intensity.advance(now_ns, mid)

    def refit(self, now_ns: int, every_ns: int) -> None:
        """Fit A and k again when due (a fit is numpy over the window: not every update)."""
        if now_ns >= self.next_fit_ns:
            self.next_fit_ns = now_ns + every_ns
            self.fit = self.intensity.fit() or self.fit

    def on_fill(
        self, side: OrderSide, qty: Decimal, price: Decimal, fee: Decimal, now_ns: int
    ) -> None:
        signed = qty if side is OrderSide.BUY else -qty
        self.holding, realised = apply_fill(self.holding, signed, price)
        self.realised_usdt += realised
        self.fees_usdt += fee
        self.pnl.add(now_ns, float(realised - fee))

    def set_position(self, qty: Decimal, avg_entry_price: Decimal) -> None:
        """The venue's position (PositionChanged, a snapshot) wins over our fills' sum."""
        self.holding = Holding(qty, avg_entry_price if qty else ZERO)

    def inventory_usdt(self) -> float:
        mid = self.mid()
        return 0.0 if mid is None else abs(float(self.position_qty)) * mid

    def unrealised_usdt(self) -> float:
        mid, h = self.mid(), self.holding
        if mid is None or not h.qty:
            return 0.0
        return float(h.qty) * (mid - float(h.entry_price))

    def near_touch_usdt(self, band_bps: float) -> float | None:
        levels = self.levels
        if levels is None:
            return None
        if levels is not self._near_of or band_bps != self._near_band_bps:
            bids = [(float(lv.price), float(lv.qty)) for lv in levels.bids]
            asks = [(float(lv.price), float(lv.qty)) for lv in levels.asks]
            self._near = near_touch_usdt(bids, asks, band_bps)
            self._near_of, self._near_band_bps = levels, band_bps
        return self._near

    def feed_age_ms(self, now_ns: int) -> float | None:
        return None if not self.book_ns else (now_ns - self.book_ns) / 1e6
