"""Choose the symbol to trade: eligibility, score, ranking and the switch decision (pure).

No I/O, no asyncio, no clock. Venue inputs stay Decimal as the venue sent them; the score
is a float (an analytic that is never booked or sent).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final, Protocol

from shared.schema import RankedSymbol, Symbol

QUOTE_COIN: Final = "USDT"
PERPETUAL: Final = "LinearPerpetual"
TRADING: Final = "Trading"
_BPS: Final = Decimal(10_000)


@dataclass(frozen=True)
class RankingRules:
    """The filters, the boost and the hysteresis that decide the universe."""

    min_turnover_24h_usdt: Decimal = Decimal(0)
    min_price: Decimal = Decimal(0)
    max_spread_bps: Decimal | None = None  # None: no spread filter
    blacklist: frozenset[str] = frozenset()
    whitelist: frozenset[str] = frozenset()
    whitelist_boost: float = 1.3
    hysteresis: float = 1.2  # a challenger must score this many times the current symbol

    def __post_init__(self) -> None:
        if not self.hysteresis >= 1.0:
            raise ValueError(f"hysteresis must be >= 1, got {self.hysteresis}")
        if not self.whitelist_boost > 0.0:
            raise ValueError(f"whitelist_boost must be > 0, got {self.whitelist_boost}")


@dataclass(frozen=True)
class Listing:
    """What instruments-info says about one symbol."""

    symbol: str
    status: str
    contract_type: str
    quote_coin: str
    settle_coin: str


@dataclass(frozen=True)
class MarketStats:
    """What the 24 h ticker says about one symbol."""

    symbol: str
    last_price: Decimal
    price_24h_pcnt: Decimal  # a fraction: 0.05 is +5 %
    turnover_24h: Decimal  # USDT
    bid_price: Decimal | None = None  # None: no bid in the ticker
    ask_price: Decimal | None = None


class InstrumentFields(Protocol):
    """The fields of an instruments-info entry (shared.bybit.wire.Instrument) used here."""

    @property
    def symbol(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def contract_type(self) -> str: ...
    @property
    def quote_coin(self) -> str: ...
    @property
    def settle_coin(self) -> str: ...


class TickerFields(Protocol):
    """The fields of a 24 h ticker (shared.bybit.wire.Ticker) used here."""

    @property
    def symbol(self) -> str: ...
    @property
    def last_price(self) -> Decimal: ...
    @property
    def price24h_pcnt(self) -> Decimal: ...
    @property
    def turnover24h(self) -> Decimal: ...
    @property
    def bid1_price(self) -> str: ...
    @property
    def ask1_price(self) -> str: ...


@dataclass(frozen=True)
class Screening:
    """One scan's outcome: the eligible symbols best first, and why the others were left out."""

    ranking: tuple[RankedSymbol, ...]
    excluded: Mapping[str, str] = field(default_factory=dict)  # symbol -> reason


@dataclass(frozen=True)
class Decision:
    """The symbol to trade after a scan; None when nothing eligible can be traded."""

    symbol: str | None
    reason: str
    switched: bool  # True: publish a new epoch


def listing_of(instrument: InstrumentFields) -> Listing:
    return Listing(
        instrument.symbol,
        instrument.status,
        instrument.contract_type,
        instrument.quote_coin,
        instrument.settle_coin,
    )


def market_stats_of(ticker: TickerFields) -> MarketStats:
    return MarketStats(
        symbol=ticker.symbol,
        last_price=ticker.last_price,
        price_24h_pcnt=ticker.price24h_pcnt,
        turnover_24h=ticker.turnover24h,
        bid_price=parse_price(ticker.bid1_price),
        ask_price=parse_price(ticker.ask1_price),
    )


def parse_price(text: str) -> Decimal | None:
    """Return the price in `text`, or None if it is empty, not a number or not positive."""
    try:
        price = Decimal(text)
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > 0 else None


def score(turnover_24h: Decimal, price_24h_pcnt: Decimal, boost: float) -> float:
    """Return turnover_24h x |price_24h_pcnt| x boost: busy and moving symbols first."""
    return float(turnover_24h * abs(price_24h_pcnt)) * boost


def boost_of(symbol: str, rules: RankingRules) -> float:
    return rules.whitelist_boost if symbol in rules.whitelist else 1.0


def spread_bps(stats: MarketStats) -> Decimal | None:
    """Return (ask - bid) / mid in basis points, or None without a sane two-sided quote."""
    bid, ask = stats.bid_price, stats.ask_price
    if bid is None or ask is None or ask < bid:
        return None
    return (ask - bid) / ((ask + bid) / 2) * _BPS


def exclusion_reason(
    listing: Listing | None, stats: MarketStats, rules: RankingRules
) -> str | None:
    """Return why `stats.symbol` may not be traded, or None if it is eligible."""
    if listing is None:
        return f"not listed in status {TRADING}"
    if reason := _listing_reason(listing):
        return reason
    if stats.symbol in rules.blacklist:
        return "blacklisted"
    return _market_reason(stats, rules)


def _listing_reason(listing: Listing) -> str | None:
    if listing.status != TRADING:
        return f"status={listing.status}"
    if listing.contract_type != PERPETUAL:
        return f"contract={listing.contract_type}"
    if listing.quote_coin != QUOTE_COIN or listing.settle_coin != QUOTE_COIN:
        return f"quote={listing.quote_coin} settle={listing.settle_coin}"
    return None


def _market_reason(stats: MarketStats, rules: RankingRules) -> str | None:
    inputs = (stats.last_price, stats.price_24h_pcnt, stats.turnover_24h)
    if not all(value.is_finite() for value in inputs):
        return "non-finite ticker value"
    if stats.last_price <= 0 or stats.last_price < rules.min_price:
        return f"last_price={stats.last_price} < min_price={rules.min_price}"
    if stats.turnover_24h < rules.min_turnover_24h_usdt:
        return (
            f"turnover_24h={stats.turnover_24h} < min_turnover_24h_usdt="
            f"{rules.min_turnover_24h_usdt}"
        )
    if rules.max_spread_bps is not None:
        spread = spread_bps(stats)
        if spread is None:
            return "no two-sided quote for the spread filter"
        if spread > rules.max_spread_bps:
            return f"spread_bps={spread:.2f} > max_spread_bps={rules.max_spread_bps}"
    return None


def screen(
    listings: Iterable[Listing], tickers: Iterable[MarketStats], rules: RankingRules
) -> Screening:
    """Rank the eligible tickers best first (score, then turnover, then name) and explain the rest.

    Only symbols with a ticker are considered; a ticker without a listing is excluded.
    """
    by_symbol = {listing.symbol: listing for listing in listings}
    ranked: list[RankedSymbol] = []
    excluded: dict[str, str] = {}
    for stats in tickers:
        if reason := exclusion_reason(by_symbol.get(stats.symbol), stats, rules):
            excluded[stats.symbol] = reason
            continue
        boost = boost_of(stats.symbol, rules)
        ranked.append(
            RankedSymbol(
                symbol=Symbol(stats.symbol),
                score=score(stats.turnover_24h, stats.price_24h_pcnt, boost),
                turnover_24h=stats.turnover_24h,
                price_24h_pcnt=stats.price_24h_pcnt,
                boost=boost,
                last_price=stats.last_price,
            )
        )
    ranked.sort(key=lambda r: (-r.score, -r.turnover_24h, r.symbol))
    return Screening(tuple(ranked), excluded)


def rank(
    listings: Iterable[Listing], tickers: Iterable[MarketStats], rules: RankingRules
) -> list[RankedSymbol]:
    """Return the eligible symbols, best first."""
    return list(screen(listings, tickers, rules).ranking)


def choose(
    current: str | None,
    ranking: Sequence[RankedSymbol],
    rules: RankingRules,
    excluded: Mapping[str, str] | None = None,
) -> Decision:
    """Decide what to trade after a scan, given the symbol traded now (None at first).

    Switch when the best candidate scores more than `rules.hysteresis` times the current
    symbol, or when the current symbol is no longer in `ranking` (ineligible); otherwise
    keep it. Only a symbol of `ranking` is ever chosen. `excluded` adds the reason why an
    ineligible current symbol was dropped.
    """
    best = ranking[0] if ranking else None
    held = next((r for r in ranking if r.symbol == current), None)
    why = (excluded or {}).get(str(current), "not eligible")
    if best is None:
        reason = f"{current} ineligible ({why}), none eligible" if current else "no eligible symbol"
        return Decision(None, reason, switched=False)
    if current is None:
        return Decision(best.symbol, f"first choice score={best.score:.4g}", switched=True)
    if held is None:
        return Decision(best.symbol, f"{current} ineligible ({why})", switched=True)
    if best.symbol != current and best.score > held.score * rules.hysteresis:
        reason = (
            f"{best.symbol} score={best.score:.4g} beats {current} score={held.score:.4g}"
            f" x hysteresis={rules.hysteresis}"
        )
        return Decision(best.symbol, reason, switched=True)
    if best.symbol == current:
        reason = "current is best"
    else:
        reason = f"{best.symbol} score={best.score:.4g} within hysteresis={rules.hysteresis}"
    return Decision(current, reason, switched=False)
