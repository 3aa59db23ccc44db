"""Ranking: eligibility, score, order and the hysteresis decision, as properties and examples."""

from decimal import Decimal
from typing import Final

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.scanner.ranking import (
    Listing,
    MarketStats,
    RankingRules,
    choose,
    exclusion_reason,
    market_stats_of,
    parse_price,
    rank,
    score,
    screen,
    spread_bps,
)
from shared.bybit import wire
from shared.schema import RankedSymbol, Symbol

RULES = RankingRules(min_turnover_24h_usdt=Decimal(1_000_000))

turnovers = st.decimals(min_value=0, max_value=Decimal("1e12"), places=4)
changes = st.decimals(min_value=-10, max_value=10, places=6)
boosts = st.floats(min_value=0.1, max_value=10)
hysteresis_factors = st.floats(min_value=1.0, max_value=5.0)


def listing(symbol: str, **overrides: str) -> Listing:
    fields = {
        "status": "Trading",
        "contract_type": "LinearPerpetual",
        "quote_coin": "USDT",
        "settle_coin": "USDT",
    }
    return Listing(symbol=symbol, **{**fields, **overrides})


def stats(
    symbol: str,
    *,
    last: str = "10",
    pcnt: str = "0.05",
    turnover: str = "2000000",
    bid: str | None = None,
    ask: str | None = None,
) -> MarketStats:
    return MarketStats(
        symbol=symbol,
        last_price=Decimal(last),
        price_24h_pcnt=Decimal(pcnt),
        turnover_24h=Decimal(turnover),
        bid_price=None if bid is None else Decimal(bid),
        ask_price=None if ask is None else Decimal(ask),
    )


def ranked(symbol: str, score_: float) -> RankedSymbol:
    return RankedSymbol(
        symbol=Symbol(symbol),
        score=score_,
        turnover_24h=Decimal(1),
        price_24h_pcnt=Decimal(1),
        boost=1.0,
        last_price=Decimal(1),
    )


def best_first(*entries: RankedSymbol) -> list[RankedSymbol]:
    return sorted(entries, key=lambda r: -r.score)


# ---------------------------------------------------------------- properties


@given(t1=turnovers, t2=turnovers, pcnt=changes, boost=boosts)
def test_score_grows_with_turnover(t1: Decimal, t2: Decimal, pcnt: Decimal, boost: float) -> None:
    low, high = sorted((t1, t2))
    assert score(low, pcnt, boost) <= score(high, pcnt, boost)
    if pcnt != 0 and high > low * Decimal("1.0001"):
        assert score(low, pcnt, boost) < score(high, pcnt, boost)


@given(turnover=turnovers, p1=changes, p2=changes, boost=boosts)
def test_score_grows_with_the_absolute_change(
    turnover: Decimal, p1: Decimal, p2: Decimal, boost: float
) -> None:
    small, large = sorted((p1, p2), key=abs)
    assert score(turnover, small, boost) <= score(turnover, large, boost)
    assert score(turnover, -large, boost) == score(turnover, large, boost)
    if turnover > 0 and abs(large) > abs(small) * Decimal("1.0001"):
        assert score(turnover, small, boost) < score(turnover, large, boost)


@given(
    low=st.floats(min_value=0, max_value=1e12),
    ratio=st.floats(min_value=1.0, max_value=5.0),
    hysteresis=hysteresis_factors,
    current=st.sampled_from(["AAAUSDT", "BBBUSDT"]),
    a_is_higher=st.booleans(),
)
def test_hysteresis_keeps_either_symbol_when_scores_are_within_the_factor(
    low: float, ratio: float, hysteresis: float, current: str, a_is_higher: bool
) -> None:
    assume(ratio <= hysteresis)
    high = low * ratio
    scores = (high, low) if a_is_higher else (low, high)
    ranking = best_first(ranked("AAAUSDT", scores[0]), ranked("BBBUSDT", scores[1]))
    rules = RankingRules(hysteresis=hysteresis)

    decision = choose(current, ranking, rules)

    assert decision.symbol == current
    assert not decision.switched


@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1e12), st.floats(min_value=1, max_value=5)),
        min_size=1,
        max_size=30,
    ),
    hysteresis=hysteresis_factors,
    flips=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_hysteresis_never_flaps_over_scans_within_the_factor(
    steps: list[tuple[float, float]], hysteresis: float, flips: list[bool]
) -> None:
    rules = RankingRules(hysteresis=hysteresis)
    current = "AAAUSDT"
    for (low, ratio), a_is_higher in zip(steps, flips, strict=False):
        ratio = min(ratio, hysteresis)
        a, b = (low * ratio, low) if a_is_higher else (low, low * ratio)
        decision = choose(current, best_first(ranked("AAAUSDT", a), ranked("BBBUSDT", b)), rules)
        assert decision.symbol == current
        assert not decision.switched


symbols = st.sampled_from([f"S{i}USDT" for i in range(8)])
prices = st.decimals(min_value=Decimal("0.0001"), max_value=100_000, places=4)
turnovers_usdt = st.decimals(min_value=0, max_value=Decimal("1e10"), places=2)
half_spreads = st.none() | st.decimals(min_value=0, max_value=Decimal("0.002"), places=5)


_DEFECTS: Final = [
    ("unlisted", ""),
    ("status", "Closed"),
    ("status", "PreLaunch"),
    ("contract_type", "LinearFutures"),
    ("quote_coin", "USDC"),
    ("settle_coin", "USDC"),
]


@st.composite
def universes(draw: st.DrawFn) -> tuple[list[Listing], list[MarketStats]]:
    """Tickers of distinct symbols; about half of them listed as Trading USDT perpetuals."""
    venue_listings, venue_tickers = [], []
    for symbol in draw(st.lists(symbols, unique=True, max_size=8)):
        defect = draw(st.none() | st.sampled_from(_DEFECTS))
        if defect is None or defect[0] != "unlisted":
            fields = dict([defect]) if defect else {}
            venue_listings.append(listing(symbol, **fields))
        last, half_spread = draw(prices), draw(half_spreads)
        venue_tickers.append(
            MarketStats(
                symbol=symbol,
                last_price=last,
                price_24h_pcnt=draw(changes),
                turnover_24h=draw(turnovers_usdt),
                bid_price=None if half_spread is None else last * (1 - half_spread),
                ask_price=None if half_spread is None else last * (1 + half_spread),
            )
        )
    return venue_listings, venue_tickers


all_rules = st.builds(
    RankingRules,
    min_turnover_24h_usdt=st.sampled_from([Decimal(0), Decimal(1000)]),
    min_price=st.sampled_from([Decimal(0), Decimal("0.001"), Decimal(1)]),
    max_spread_bps=st.sampled_from([None, None, Decimal(5), Decimal(30)]),
    blacklist=st.frozensets(symbols, max_size=2),
    whitelist=st.frozensets(symbols, max_size=3),
    whitelist_boost=st.floats(min_value=0.5, max_value=3),
    hysteresis=hysteresis_factors,
)


@given(universe=universes(), rules=all_rules, current=st.none() | symbols)
def test_an_ineligible_symbol_is_never_chosen(
    universe: tuple[list[Listing], list[MarketStats]], rules: RankingRules, current: str | None
) -> None:
    venue_listings, venue_tickers = universe
    by_symbol = {item.symbol: item for item in venue_listings}
    screening = screen(venue_listings, venue_tickers, rules)

    decision = choose(current, screening.ranking, rules, screening.excluded)

    if decision.symbol is not None:
        chosen = next(t for t in venue_tickers if t.symbol == decision.symbol)
        assert exclusion_reason(by_symbol.get(chosen.symbol), chosen, rules) is None
        assert chosen.symbol not in rules.blacklist
        assert decision.symbol not in screening.excluded
    ranked_symbols = {r.symbol for r in screening.ranking}
    assert ranked_symbols.isdisjoint(screening.excluded)
    assert ranked_symbols | set(screening.excluded) == {t.symbol for t in venue_tickers}
    scores = [r.score for r in screening.ranking]
    assert scores == sorted(scores, reverse=True)


# ---------------------------------------------------------------- eligibility examples


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status": "Closed"}, "status=Closed"),
        ({"status": "PreLaunch"}, "status=PreLaunch"),
        ({"contract_type": "LinearFutures"}, "contract=LinearFutures"),
        ({"quote_coin": "USDC", "settle_coin": "USDC"}, "quote=USDC settle=USDC"),
    ],
)
def test_only_trading_usdt_perpetuals_are_eligible(overrides: dict[str, str], reason: str) -> None:
    screening = screen([listing("XUSDT", **overrides)], [stats("XUSDT")], RULES)

    assert screening.ranking == ()
    assert screening.excluded == {"XUSDT": reason}


def test_ticker_without_a_trading_listing_is_excluded() -> None:
    screening = screen([], [stats("GHOSTUSDT")], RULES)

    assert screening.excluded == {"GHOSTUSDT": "not listed in status Trading"}


def test_blacklisted_symbol_is_excluded_even_when_best() -> None:
    rules = RankingRules(blacklist=frozenset({"BESTUSDT"}))
    tickers_ = [stats("BESTUSDT", turnover="9e9"), stats("OKUSDT")]

    screening = screen([listing("BESTUSDT"), listing("OKUSDT")], tickers_, rules)

    assert [r.symbol for r in screening.ranking] == ["OKUSDT"]
    assert screening.excluded == {"BESTUSDT": "blacklisted"}


def test_symbol_below_min_price_is_excluded() -> None:
    rules = RankingRules(min_price=Decimal("0.01"))
    tickers_ = [stats("DUSTUSDT", last="0.0012"), stats("OKUSDT", last="0.01")]

    screening = screen([listing("DUSTUSDT"), listing("OKUSDT")], tickers_, rules)

    assert [r.symbol for r in screening.ranking] == ["OKUSDT"]
    assert screening.excluded["DUSTUSDT"] == "last_price=0.0012 < min_price=0.01"


def test_symbol_below_min_turnover_is_excluded() -> None:
    screening = screen([listing("THINUSDT")], [stats("THINUSDT", turnover="999999.99")], RULES)

    assert (
        "turnover_24h=999999.99 < min_turnover_24h_usdt=1000000" in screening.excluded["THINUSDT"]
    )


def test_max_spread_excludes_wide_and_one_sided_books() -> None:
    rules = RankingRules(max_spread_bps=Decimal(10))
    tickers_ = [
        stats("TIGHTUSDT", bid="99.95", ask="100.05"),  # 10 bps: at the limit, kept
        stats("WIDEUSDT", bid="99.9", ask="100.1"),  # 20 bps
        stats("ONESIDEUSDT", bid="100", ask=None),
    ]
    names = ["TIGHTUSDT", "WIDEUSDT", "ONESIDEUSDT"]

    screening = screen([listing(s) for s in names], tickers_, rules)

    assert [r.symbol for r in screening.ranking] == ["TIGHTUSDT"]
    assert screening.excluded["WIDEUSDT"] == "spread_bps=20.00 > max_spread_bps=10"
    assert screening.excluded["ONESIDEUSDT"] == "no two-sided quote for the spread filter"


def test_spread_is_ignored_without_a_max_spread() -> None:
    screening = screen([listing("WIDEUSDT")], [stats("WIDEUSDT", bid="90", ask="110")], RULES)

    assert [r.symbol for r in screening.ranking] == ["WIDEUSDT"]


def test_spread_bps_is_relative_to_the_mid() -> None:
    assert spread_bps(stats("X", bid="99", ask="101")) == Decimal(200)
    assert spread_bps(stats("X", bid="101", ask="99")) is None  # crossed: no sane quote


# ---------------------------------------------------------------- score and order examples


def test_whitelist_boost_is_applied_and_recorded() -> None:
    rules = RankingRules(whitelist=frozenset({"BTCUSDT"}), whitelist_boost=1.3)
    tickers_ = [
        stats("BTCUSDT", turnover="1000000", pcnt="-0.10"),
        stats("ALTUSDT", turnover="1200000", pcnt="0.10"),
    ]

    ranking = rank([listing("BTCUSDT"), listing("ALTUSDT")], tickers_, rules)

    assert [r.symbol for r in ranking] == ["BTCUSDT", "ALTUSDT"]  # 130k beats 120k
    assert ranking[0].boost == 1.3
    assert ranking[0].score == pytest.approx(1_000_000 * 0.10 * 1.3)
    assert ranking[1].boost == 1.0
    assert ranking[1].score == pytest.approx(120_000)


def test_ranking_carries_the_inputs_of_the_score() -> None:
    ranking = rank([listing("XUSDT")], [stats("XUSDT", last="2.5", pcnt="-0.2")], RULES)

    assert ranking[0].last_price == Decimal("2.5")
    assert ranking[0].price_24h_pcnt == Decimal("-0.2")
    assert ranking[0].turnover_24h == Decimal(2_000_000)


def test_equal_scores_are_ordered_by_turnover_then_symbol() -> None:
    tickers_ = [
        stats("BUSDT", turnover="2000000", pcnt="0.05"),
        stats("AUSDT", turnover="2000000", pcnt="-0.05"),
        stats("CUSDT", turnover="4000000", pcnt="0.025"),
    ]

    ranking = rank([listing(t.symbol) for t in tickers_], tickers_, RULES)

    assert [r.symbol for r in ranking] == ["CUSDT", "AUSDT", "BUSDT"]


# ---------------------------------------------------------------- decision examples


def test_first_scan_chooses_the_best() -> None:
    decision = choose(None, best_first(ranked("AUSDT", 5), ranked("BUSDT", 9)), RULES)

    assert (decision.symbol, decision.switched) == ("BUSDT", True)


def test_switches_when_beaten_by_more_than_the_factor() -> None:
    ranking = best_first(ranked("AUSDT", 100), ranked("BUSDT", 121))

    decision = choose("AUSDT", ranking, RankingRules(hysteresis=1.2))

    assert (decision.symbol, decision.switched) == ("BUSDT", True)
    assert "beats AUSDT" in decision.reason


def test_keeps_when_the_best_is_exactly_at_the_factor() -> None:
    ranking = best_first(ranked("AUSDT", 100), ranked("BUSDT", 120))

    decision = choose("AUSDT", ranking, RankingRules(hysteresis=1.2))

    assert (decision.symbol, decision.switched) == ("AUSDT", False)


def test_switches_away_from_an_ineligible_current_symbol_whatever_the_scores() -> None:
    decision = choose(
        "GONEUSDT", [ranked("AUSDT", 1e-9)], RULES, excluded={"GONEUSDT": "status=Closed"}
    )

    assert (decision.symbol, decision.switched) == ("AUSDT", True)
    assert decision.reason == "GONEUSDT ineligible (status=Closed)"


def test_nothing_is_chosen_when_nothing_is_eligible() -> None:
    assert choose(None, [], RULES).symbol is None
    decision = choose("GONEUSDT", [], RULES, excluded={"GONEUSDT": "blacklisted"})
    assert (decision.symbol, decision.switched) == (None, False)
    assert "GONEUSDT ineligible (blacklisted)" in decision.reason


def test_rules_refuse_a_hysteresis_below_one() -> None:
    with pytest.raises(ValueError, match="hysteresis"):
        RankingRules(hysteresis=0.9)


# ---------------------------------------------------------------- venue inputs


def test_market_stats_of_reads_a_wire_ticker() -> None:
    ticker = wire.Ticker(
        symbol="BTCUSDT",
        last_price=Decimal("97250.00"),
        prev_price24h=Decimal("100000"),
        price24h_pcnt=Decimal("-0.0275"),
        high_price24h=Decimal("101000"),
        low_price24h=Decimal("96000"),
        turnover24h=Decimal("5000000000.5"),
        volume24h=Decimal("51000"),
        bid1_price="97250.00",
        ask1_price="",
    )

    result = market_stats_of(ticker)

    assert result == MarketStats(
        symbol="BTCUSDT",
        last_price=Decimal("97250.00"),
        price_24h_pcnt=Decimal("-0.0275"),
        turnover_24h=Decimal("5000000000.5"),
        bid_price=Decimal("97250.00"),
        ask_price=None,
    )


@pytest.mark.parametrize("text", ["", "abc", "0", "-1", "NaN", "Infinity"])
def test_parse_price_refuses_what_is_not_a_positive_price(text: str) -> None:
    assert parse_price(text) is None
