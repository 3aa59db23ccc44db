"""Inventory skew (stage 3): the Guéant (2017) / GLFT closed form, tick rounding, limits.

Guéant, "Optimal market making" (arXiv 1605.01862, eqs 4.6-4.7), T → ∞ (no horizon):

    c1 = (1/(ξΔ)) · ln(1 + ξΔ/k)                                   [price units]
    c2 = √( gamma/(2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1) )                   [√s]
    half-spread = c1 + (Δ/2)·sigma·c2                                  [price units]
    skew = sigma·c2                                                    [price units per Δ]
    bid = fair - (half-spread + skew·q)      ask = fair + (half-spread - skew·q)

Units: q and Δ in the same unit (here q counts orders, q = position / order size, so
Δ = 1); sigma in price units per √s; A per s; k per price unit; gamma and ξ per (price unit · Δ),
ξ = gamma gives GLFT 2013. The total spread 2·c1 + Δ·sigma·c2 does not depend on q.

Combination with the adaptive spread (spread.py gives S bps, total):

    half = clamp(max(half-spread_GLFT, S/2 · fair · 1e-4), min_bps/2 · fair · 1e-4,
                 max_bps/2 · fair · 1e-4)
    bid = fair - half - s·skew·q        ask = fair + half - s·skew·q

so the adaptive spread is the half-spread's floor, GLFT may widen it, the total 2·half stays
inside [min-spread-bps, max-spread-bps] of the fair price, and the inventory term (scaled by
skew-scale-ratio s, hftbacktest found the raw skew too strong) shifts both quotes alike.

The math is float. `venue_quotes` is where floats become Decimal (via the float's shortest
repr, so 2681.62 stays 2681.62): bids round down and asks up to the tick, and for PostOnly a
bid at or above the best ask is pulled back to best ask - tick, an ask at or below the best
bid to best bid + tick. Inventory limits (`sides_allowed`) stop the side that would add to
inventory beyond the per-symbol or total USDT limit (its size is 0).
"""

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from services.strategy.mm.settings import MarketMakerSettings

BPS = 1e-4
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Glft:
    """The closed form's two numbers for given sigma, A, k, gamma, ξ, Δ (price units)."""

    half_spread: float
    skew: float  # per unit of q


def glft(sigma: float, a_per_s: float, k: float, gamma: float, xi: float, delta: float) -> Glft:
    """Return GLFT's half-spread and skew (see the module docstring for the formula)."""
    isfinite = math.isfinite  # every cycle with a fit: no generator over the five
    positive = a_per_s > 0 and k > 0 and gamma > 0 and xi > 0 and delta > 0
    finite = isfinite(a_per_s) and isfinite(k) and isfinite(gamma) and isfinite(xi)
    if not (positive and finite and isfinite(delta) and sigma >= 0 and isfinite(sigma)):
        raise ValueError(f"GLFT needs A, k, gamma, xi, delta > 0, sigma >= 0: {a_per_s=} {k=}")
    x = xi * delta / k
    c1 = math.log1p(x) / (xi * delta)
    c2 = math.sqrt(gamma / (2 * a_per_s * delta * k) * math.exp((1 / x + 1) * math.log1p(x)))
    return Glft(half_spread=c1 + delta / 2 * sigma * c2, skew=sigma * c2)


def glft_quotes(  # noqa: PLR0913 -- the closed form's eight symbols, model ones keyword-only
    fair: float,
    q: float,
    *,
    sigma: float,
    a_per_s: float,
    k: float,
    gamma: float,
    xi: float,
    delta: float,
) -> tuple[float, float]:
    """Return GLFT's (bid, ask) in price units, q in units of Δ."""
    g = glft(sigma, a_per_s, k, gamma, xi, delta)
    return fair - (g.half_spread + g.skew * q), fair + (g.half_spread - g.skew * q)


def combined_quotes(
    fair: float,
    q: float,
    model: Glft,
    spread_bps: float,
    settings: MarketMakerSettings,
) -> tuple[float, float]:
    """Return the float (bid, ask): the adaptive spread as floor, GLFT's skew shifting both.

    q counts orders (position / order size); the total spread stays within the bounds.
    """
    s = settings
    half_floor = spread_bps * 0.5 * fair * BPS
    half_min = s.min_spread_bps * 0.5 * fair * BPS
    half_max = s.max_spread_bps * 0.5 * fair * BPS
    half = min(half_max, max(half_min, model.half_spread, half_floor))
    shift = s.skew_scale_ratio * model.skew * q
    return fair - half - shift, fair + half - shift


@dataclass(frozen=True, slots=True)
class QuoteTargets:
    """What to quote at the venue; a side with qty 0 is not quoted."""

    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal


def to_tick(price: float, tick: Decimal, *, up: bool) -> Decimal:
    """Return `price` as a Decimal on the tick grid, rounded up (asks) or down (bids)."""
    steps = (Decimal(repr(price)) / tick).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR)
    return steps * tick


def post_only_prices(
    bid: float, ask: float, tick: Decimal, best_bid: Decimal, best_ask: Decimal
) -> tuple[Decimal, Decimal] | None:
    """Return (bid, ask) on the tick grid that rest without crossing the book.

    None when the book itself is crossed or locked, or a price is not finite: nothing can
    rest safely then. The ask stays at least one tick above the bid. A bid that would fall
    to 0 or below is pinned at one tick.
    """
    found = _post_only(bid, ask, tick, best_bid, best_ask)
    return None if found is None else (found[0], found[1])


def _post_only(
    bid: float, ask: float, tick: Decimal, best_bid: Decimal, best_ask: Decimal
) -> tuple[Decimal, Decimal, Decimal] | None:
    # also the bid on the grid before the pull-back: venue_quotes reads it (one rounding less)
    if best_bid >= best_ask or best_bid <= 0 or not (math.isfinite(bid) and math.isfinite(ask)):
        return None
    bid_d = bid_tick = to_tick(bid, tick, up=False)
    ask_d = max(to_tick(ask, tick, up=True), bid_d + tick)  # a float-thin spread: one tick
    if bid_d >= best_ask:
        bid_d = best_ask - tick
    if ask_d <= best_bid:
        ask_d = best_bid + tick
    return max(tick, bid_d), ask_d, bid_tick


def sides_allowed(
    position_qty: float,
    order_qty: float,
    mid: float,
    total_gross_usdt: float,
    settings: MarketMakerSettings,
) -> tuple[bool, bool]:
    """Return whether a bid and an ask of `order_qty` may rest (inventory limits in USDT).

    A side may rest unless its fill would raise |position| and leave it above
    max-symbol-inventory-usdt, or raise Σ|position|·mid (`total_gross_usdt`, this symbol
    included) above max-total-inventory-usdt. A side that reduces inventory is always allowed.
    """
    return (
        _side_allowed(position_qty, order_qty, mid, total_gross_usdt, settings),
        _side_allowed(position_qty, -order_qty, mid, total_gross_usdt, settings),
    )


def _side_allowed(
    position_qty: float, signed_qty: float, mid: float, gross_usdt: float, s: MarketMakerSettings
) -> bool:
    after = abs(position_qty + signed_qty)
    added_usdt = (after - abs(position_qty)) * mid
    if added_usdt <= 0:
        return True
    within_symbol = after * mid <= s.max_symbol_inventory_usdt
    return within_symbol and gross_usdt + added_usdt <= s.max_total_inventory_usdt


def order_qty(
    mid: float, lot: Decimal, size_ratio: float, settings: MarketMakerSettings
) -> Decimal:
    """Return one quote's size Δ: order-notional-usdt x size_ratio / mid, floored to the lot."""
    if mid <= 0 or not math.isfinite(mid):
        return ZERO
    raw = Decimal(repr(settings.order_notional_usdt * size_ratio / mid))
    return (raw / lot).to_integral_value(ROUND_FLOOR) * lot


def venue_quotes(
    bid: float,
    ask: float,
    tick: Decimal,
    book: tuple[Decimal, Decimal],
    sides: tuple[bool, bool],
    qty: Decimal,
) -> QuoteTargets | None:
    """Return the PostOnly targets: prices on the tick grid, qty 0 on a side not allowed.

    `book` is (best bid, best ask); None when the book is crossed (see post_only_prices).
    """
    prices = _post_only(bid, ask, tick, book[0], book[1])
    if prices is None:
        return None
    bid_ok = sides[0] and prices[2] > 0
    return QuoteTargets(
        bid_price=prices[0],
        bid_qty=qty if bid_ok else ZERO,
        ask_price=prices[1],
        ask_qty=qty if sides[1] else ZERO,
    )
