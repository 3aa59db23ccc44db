"""The market maker's cycle for one symbol: the pure stages in order, each one timed.

Run on every book or trade update of the symbol and on the timer (core.py):

1. guards      guards.decide: NONE / SOFT (widen, shrink) / HARD (cancel, stop, alert)
2. spread      spread.adaptive_spread: the four scores -> total spread in bps (SOFT widens)
3. skew        skew.*: GLFT half-spread and inventory skew around the mid, tick rounding,
               PostOnly pull-back, inventory limits -> one target per side (or none)
4. taker cap   taker_cap.TakerCap: only over the HARD inventory limit, and while the
               regime's cap of taker fills per hour allows, a reduce-only taker order
               brings the position back to the limit; below it the skew works the
               inventory off with maker quotes
(5. placement + requote, queue-aware and by difference, is the quote manager's
`on_targets`, timed by the core under "requote"; fast-cancel runs outside the cycle.)

`run_cycle` is pure but for the durations: `timer_ns` is injected (a fake in tests).
Without an intensity fit (A, k) yet, GLFT has no numbers: the half-spread is the adaptive
spread's and the skew a linear fallback that moves the quotes by one half-spread at the
per-symbol inventory limit.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from services.strategy.mm import guards
from services.strategy.mm.estimators import IntensityFit
from services.strategy.mm.requote import Target
from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.skew import (
    BPS,
    Glft,
    combined_quotes,
    glft,
    order_qty,
    sides_allowed,
    venue_quotes,
)
from services.strategy.mm.spread import AdaptiveSpread, SpreadInputs, adaptive_spread
from services.strategy.mm.taker_cap import TakerCap
from shared.schema import OrderSide

STAGES = ("guards", "spread", "skew", "taker_cap", "requote")
Targets = dict[OrderSide, Target | None]


@dataclass(frozen=True, slots=True)
class CycleInput:
    """What one symbol's cycle reads (built by the core from its `SymbolMarket`)."""

    mid: float
    best: tuple[Decimal, Decimal]  # (best bid, best ask)
    grid: tuple[Decimal, Decimal]  # (tick size, qty step)
    position_qty: Decimal  # signed
    total_gross_usdt: float  # Σ |position| · mid over the symbols, this one included
    sigma_log_per_sqrt_s: float | None
    spread_inputs: SpreadInputs
    guard_view: guards.Observations
    fit: IntensityFit | None
    max_taker_qty: Decimal  # the venue's largest market order (floored to the lot)


@dataclass(frozen=True, slots=True)
class TakerOrder:
    """A reduce-only market order toward the inventory limit."""

    side: OrderSide
    qty: Decimal


@dataclass(frozen=True, slots=True)
class CycleResult:
    decision: guards.Decision
    spread: AdaptiveSpread
    targets: Targets  # None on a side: no quote there
    taker: TakerOrder | None
    capped: bool  # a take was wanted but the taker cap refused it
    stage_ns: tuple[tuple[str, int], ...]  # (stage, duration ns), in order


NO_TARGETS: Targets = {OrderSide.BUY: None, OrderSide.SELL: None}


def run_cycle(
    view: CycleInput,
    settings: MarketMakerSettings,
    cap: TakerCap,
    now_ns: int,
    timer_ns: Callable[[], int],
) -> CycleResult:
    """Run stages 1-4 for one symbol (see the module docstring); the cap's regime moves."""
    t0 = timer_ns()
    decision = guards.decide(view.guard_view, settings)
    t1 = timer_ns()
    spread = adaptive_spread(view.spread_inputs, settings, decision.spread_widen_ratio)
    cap.set_volatility_score(spread.scores.volatility)
    t2 = timer_ns()
    targets = NO_TARGETS
    if decision.level is not guards.Level.HARD:
        targets = quote_targets(view, spread.spread_bps, decision.size_ratio, settings)
    t3 = timer_ns()
    wanted = taker_reduction(view, settings)
    allowed = wanted is not None and cap.may_take(now_ns)
    t4 = timer_ns()
    stages = (("guards", t1 - t0), ("spread", t2 - t1), ("skew", t3 - t2), ("taker_cap", t4 - t3))
    taker = wanted if allowed else None
    return CycleResult(decision, spread, targets, taker, wanted is not None and not allowed, stages)


def model_of(view: CycleInput, spread_bps: float, settings: MarketMakerSettings) -> Glft:
    """GLFT's numbers in price units, or the fallback without a fit (module docstring)."""
    fit, s = view.fit, settings
    sigma = 0.0 if view.sigma_log_per_sqrt_s is None else view.sigma_log_per_sqrt_s * view.mid
    if fit is not None:
        model = glft(sigma, fit.a_per_s, fit.k_per_price, s.gamma_per_price, s.xi_per_price, 1.0)
        if model.skew > 0:
            return model
    half = spread_bps * 0.5 * view.mid * BPS
    orders_at_limit = max(1.0, s.max_symbol_inventory_usdt / s.order_notional_usdt)
    return Glft(half_spread=0.0, skew=half / orders_at_limit)


def quote_targets(
    view: CycleInput, spread_bps: float, size_ratio: float, settings: MarketMakerSettings
) -> Targets:
    """Stage 3: the bid and ask targets (None on a side not quoted)."""
    tick, lot = view.grid
    full = order_qty(view.mid, lot, 1.0, settings)
    qty = full if size_ratio == 1.0 else order_qty(view.mid, lot, size_ratio, settings)
    if full <= 0 or qty <= 0:
        return NO_TARGETS
    q = float(view.position_qty / full)
    model = model_of(view, spread_bps, settings)
    bid, ask = combined_quotes(view.mid, q, model, spread_bps, settings)
    position, gross = float(view.position_qty), view.total_gross_usdt
    sides = sides_allowed(position, float(qty), view.mid, gross, settings)
    quotes = venue_quotes(bid, ask, tick, view.best, sides, qty)
    if quotes is None:
        return NO_TARGETS
    return {
        OrderSide.BUY: Target(quotes.bid_price, quotes.bid_qty) if quotes.bid_qty else None,
        OrderSide.SELL: Target(quotes.ask_price, quotes.ask_qty) if quotes.ask_qty else None,
    }


def taker_reduction(view: CycleInput, settings: MarketMakerSettings) -> TakerOrder | None:
    """Stage 4's want: over the HARD inventory limit, the qty back to the limit (in whole
    lots, at least one, at most the position and the venue's largest market order)."""
    s, position = settings, view.position_qty
    held_usdt = abs(float(position)) * view.mid
    if view.mid <= 0 or held_usdt <= s.max_symbol_inventory_usdt * s.inventory_hard_ratio:
        return None
    lot = view.grid[1]
    excess = Decimal(repr((held_usdt - s.max_symbol_inventory_usdt) / view.mid))
    lots = max(1, int((excess / lot).to_integral_value(ROUND_FLOOR)))
    qty = min(lots * lot, abs(position), view.max_taker_qty)
    if qty <= 0:
        return None
    return TakerOrder(OrderSide.SELL if position > 0 else OrderSide.BUY, qty)
