"""The market-making selection (issue 16): the top N symbols to quote, by a making score (pure).

A symbol is eligible when it is a Trading USDT perpetual, not blacklisted, its ticker is
finite, and it passes every filter of `MakingRules`:

* 24 h turnover >= `min_turnover_24h_usdt` (USDT);
* a two-sided top (bid1 and ask1 in the ticker) whose spread (ask - bid) / mid is
  <= `max_spread_bps` (basis points of the mid);
* tick size / mid <= `max_tick_bps` (basis points): a tick that is a large part of the
  spread makes quoting coarse (one tick more or less is a big step in edge);
* displayed depth at the touch, min(bid1 x bid1 size, ask1 x ask1 size) (USDT, the thinner
  side), >= `min_touch_depth_usdt`.

Score (float, USDT of 24 h turnover per basis point of quoted width):

    score = turnover_24h_usdt / max(spread_bps, tick_bps)

the flow there is to trade against per bps of the narrowest quote the book allows (a width
is at least one tick, so the denominator is > 0). The ranking is best first by score, then
by turnover, then by symbol name: the order never depends on the venue's listing order.

The selection is the first `top_n` by the same order, where a symbol of the previous
selection that is still eligible counts its score x `hysteresis` (>= 1): a challenger must
score more than that factor above an incumbent to take its place, so symbols at the edge
of the N do not flap between scans (each change withdraws quotes and may leave a position).
With the same inputs, selecting again from the result keeps it. No I/O, no clock.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Protocol

from services.scanner.ranking import (
    Listing,
    MarketStats,
    RankingRules,
    exclusion_reason,
    parse_price,
)
from shared.schema import MarketMakingCandidate, Symbol

_BPS: Final = Decimal(10_000)


@dataclass(frozen=True)
class MakingRules:
    """How many symbols to select, and the filters a selected symbol passes (units in names)."""

    top_n: int = 0  # 0: no selection
    min_turnover_24h_usdt: Decimal = Decimal(0)
    min_touch_depth_usdt: Decimal = Decimal(0)
    max_spread_bps: Decimal = Decimal(10)
    max_tick_bps: Decimal = Decimal(2)
    blacklist: frozenset[str] = frozenset()
    hysteresis: float = 1.0  # an incumbent's score counts this many times

    def __post_init__(self) -> None:
        if self.top_n < 0:
            raise ValueError(f"top_n must be >= 0, got {self.top_n}")
        if not self.hysteresis >= 1.0:
            raise ValueError(f"hysteresis must be >= 1, got {self.hysteresis}")
        if not (self.max_spread_bps > 0 and self.max_tick_bps > 0):
            raise ValueError("max_spread_bps and max_tick_bps must be > 0")


@dataclass(frozen=True)
class MakingStats:
    """What the ticker and instruments-info say about one symbol, for the making filters."""

    symbol: str
    last_price: Decimal
    turnover_24h: Decimal  # USDT
    bid_price: Decimal | None  # None: no bid in the ticker
    bid_size: Decimal  # base coin; 0 when unknown
    ask_price: Decimal | None
    ask_size: Decimal
    tick_size: Decimal | None  # None: the instrument's tick is unknown


@dataclass(frozen=True)
class MakingSelection:
    """One scan's selection: the symbols to quote, the eligible ranking, and the rest's reasons."""

    symbols: tuple[Symbol, ...]
    ranking: tuple[MarketMakingCandidate, ...]  # every eligible symbol, best first
    excluded: Mapping[str, str] = field(default_factory=dict)  # symbol -> reason


class MakingTickerFields(Protocol):
    """The fields of a 24 h ticker (shared.bybit.wire.Ticker) used here."""

    @property
    def symbol(self) -> str: ...
    @property
    def last_price(self) -> Decimal: ...
    @property
    def turnover24h(self) -> Decimal: ...
    @property
    def bid1_price(self) -> str: ...
    @property
    def bid1_size(self) -> str: ...
    @property
    def ask1_price(self) -> str: ...
    @property
    def ask1_size(self) -> str: ...


def making_stats_of(ticker: MakingTickerFields, tick_size: Decimal | None) -> MakingStats:
    return MakingStats(
        symbol=ticker.symbol,
        last_price=ticker.last_price,
        turnover_24h=ticker.turnover24h,
        bid_price=parse_price(ticker.bid1_price),
        bid_size=parse_price(ticker.bid1_size) or Decimal(0),
        ask_price=parse_price(ticker.ask1_price),
        ask_size=parse_price(ticker.ask1_size) or Decimal(0),
        tick_size=tick_size,
    )


def making_score(turnover_24h_usdt: Decimal, spread_bps: Decimal, tick_bps: Decimal) -> float:
    """USDT of 24 h turnover per bps of the quoted width (at least one tick): see the module."""
    return float(turnover_24h_usdt / max(spread_bps, tick_bps))


def touch_depth_usdt(stats: MakingStats) -> Decimal:
    """The thinner side's displayed notional at the touch (USDT); 0 without a two-sided top."""
    if stats.bid_price is None or stats.ask_price is None:
        return Decimal(0)
    return min(stats.bid_price * stats.bid_size, stats.ask_price * stats.ask_size)


def candidate_or_reason(
    listing: Listing | None, stats: MakingStats, rules: MakingRules
) -> MarketMakingCandidate | str:
    """The symbol's ranking entry if it passes every filter, else why it does not."""
    general = MarketStats(stats.symbol, stats.last_price, Decimal(0), stats.turnover_24h)
    if reason := exclusion_reason(listing, general, RankingRules(blacklist=rules.blacklist)):
        return reason
    measured = _measure(stats)
    if isinstance(measured, str):
        return measured
    spread, tick_bps, depth = measured
    if reason := _filter_reason(stats.turnover_24h, spread, tick_bps, depth, rules):
        return reason
    return MarketMakingCandidate(
        symbol=Symbol(stats.symbol),
        score=making_score(stats.turnover_24h, spread, tick_bps),
        turnover_24h_usdt=stats.turnover_24h,
        spread_bps=float(spread),
        tick_bps=float(tick_bps),
        touch_depth_usdt=depth,
        last_price=stats.last_price,
    )


def _measure(stats: MakingStats) -> tuple[Decimal, Decimal, Decimal] | str:
    """(spread_bps, tick_bps, touch_depth_usdt), or why they cannot be measured."""
    tick, bid, ask = stats.tick_size, stats.bid_price, stats.ask_price
    if tick is None or not tick.is_finite() or tick <= 0:
        return "tick size unknown"
    if bid is None or ask is None or ask < bid:
        return "no two-sided top"
    mid = (bid + ask) / 2
    return (ask - bid) / mid * _BPS, tick / mid * _BPS, touch_depth_usdt(stats)


def _filter_reason(
    turnover_24h: Decimal, spread: Decimal, tick_bps: Decimal, depth: Decimal, rules: MakingRules
) -> str | None:
    if turnover_24h < rules.min_turnover_24h_usdt:
        return (
            f"turnover_24h={turnover_24h} < mm_min_turnover_24h_usdt={rules.min_turnover_24h_usdt}"
        )
    if spread > rules.max_spread_bps:
        return f"spread_bps={spread:.3f} > mm_max_spread_bps={rules.max_spread_bps}"
    if tick_bps > rules.max_tick_bps:
        return f"tick_bps={tick_bps:.3f} > mm_max_tick_bps={rules.max_tick_bps}"
    if depth < rules.min_touch_depth_usdt:
        return (
            f"touch_depth_usdt={depth:.2f} < mm_min_touch_depth_usdt={rules.min_touch_depth_usdt}"
        )
    return None


def rank_key(candidate: MarketMakingCandidate) -> tuple[float, Decimal, str]:
    """Best first: higher score, then higher turnover, then the symbol's name."""
    return (-candidate.score, -candidate.turnover_24h_usdt, candidate.symbol)


def select(
    listings: Iterable[Listing],
    stats: Iterable[MakingStats],
    rules: MakingRules,
    previous: Collection[str] = (),
) -> MakingSelection:
    """Rank the eligible symbols best first and select `rules.top_n` of them, the symbols
    of `previous` (the last selection) counting their score x `rules.hysteresis`.

    Only symbols with a ticker are considered; a symbol seen twice keeps its first ticker.
    """
    by_symbol = {listing.symbol: listing for listing in listings}
    ranked: list[MarketMakingCandidate] = []
    excluded: dict[str, str] = {}
    seen: set[str] = set()
    for item in stats:
        if item.symbol in seen:
            continue
        seen.add(item.symbol)
        found = candidate_or_reason(by_symbol.get(item.symbol), item, rules)
        if isinstance(found, str):
            excluded[item.symbol] = found
        else:
            ranked.append(found)
    ranked.sort(key=rank_key)
    held = frozenset(previous)

    def held_key(candidate: MarketMakingCandidate) -> tuple[float, Decimal, str]:
        factor = rules.hysteresis if candidate.symbol in held else 1.0
        return (-candidate.score * factor, -candidate.turnover_24h_usdt, candidate.symbol)

    chosen = tuple(c.symbol for c in sorted(ranked, key=held_key)[: rules.top_n])
    return MakingSelection(chosen, tuple(ranked), excluded)
