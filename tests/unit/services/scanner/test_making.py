"""The market-making selection: filters, score, order and size, as properties and examples."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scanner.__main__ import format_selection
from services.scanner.making import (
    MakingRules,
    MakingStats,
    candidate_or_reason,
    making_score,
    making_stats_of,
    rank_key,
    select,
    touch_depth_usdt,
)
from services.scanner.ranking import Listing
from shared.bybit import wire

D = Decimal


def listing(symbol: str, status: str = "Trading") -> Listing:
    return Listing(symbol, status, "LinearPerpetual", "USDT", "USDT")


def stats(
    symbol: str,
    *,
    bid: str = "100.00",
    ask: str = "100.01",
    size: str = "1000",
    tick: str | None = "0.01",
    turnover: str = "50000000",
    last: str = "100",
) -> MakingStats:
    return MakingStats(
        symbol=symbol,
        last_price=D(last),
        turnover_24h=D(turnover),
        bid_price=D(bid),
        bid_size=D(size),
        ask_price=D(ask),
        ask_size=D(size),
        tick_size=None if tick is None else D(tick),
    )


RULES = MakingRules(
    top_n=3,
    min_turnover_24h_usdt=D(1_000_000),
    min_touch_depth_usdt=D(10_000),
    max_spread_bps=D(5),
    max_tick_bps=D(2),
)

# ---------------------------------------------------------------- generated universes

symbols = st.from_regex(r"[A-Z]{2,5}USDT", fullmatch=True)
ticks = st.sampled_from([D("0.0001"), D("0.001"), D("0.01"), D("0.1"), D("1")])


@st.composite
def a_stat(draw: st.DrawFn, symbol: str) -> MakingStats:
    tick = draw(ticks)
    bid_ticks = draw(st.integers(min_value=1, max_value=10**7))
    spread_ticks = draw(st.integers(min_value=0, max_value=50))
    bid = tick * bid_ticks
    ask = bid + tick * spread_ticks
    return MakingStats(
        symbol=symbol,
        last_price=bid,
        turnover_24h=draw(st.decimals(min_value=0, max_value=D("1e11"), places=2)),
        bid_price=draw(st.sampled_from([bid, bid, bid, None])),
        bid_size=draw(st.decimals(min_value=0, max_value=D("1e6"), places=3)),
        ask_price=ask,
        ask_size=draw(st.decimals(min_value=0, max_value=D("1e6"), places=3)),
        tick_size=draw(st.sampled_from([tick, tick, tick, None])),
    )


@st.composite
def universes(draw: st.DrawFn) -> tuple[list[Listing], list[MakingStats]]:
    names = draw(st.lists(symbols, unique=True, max_size=10))
    listings = [
        listing(n, draw(st.sampled_from(["Trading", "Trading", "Closed"])))
        for n in names
        if draw(st.booleans()) or n.startswith("A")
    ]
    return listings, [draw(a_stat(n)) for n in names]


all_rules = st.builds(
    MakingRules,
    top_n=st.integers(min_value=0, max_value=6),
    min_turnover_24h_usdt=st.sampled_from([D(0), D(1_000_000)]),
    min_touch_depth_usdt=st.sampled_from([D(0), D(10_000)]),
    max_spread_bps=st.sampled_from([D("0.5"), D(5), D(50)]),
    max_tick_bps=st.sampled_from([D("0.1"), D(1), D(20)]),
    blacklist=st.frozensets(symbols, max_size=2),
    hysteresis=st.sampled_from([1.0, 1.2, 3.0]),
)


def previous_of(data: st.DataObject, items: list[MakingStats]) -> list[str]:
    """A previous selection: some of the symbols (eligible or not) and maybe an unknown one."""
    names = [i.symbol for i in items] + ["GONEUSDT"]
    return data.draw(st.lists(st.sampled_from(names), unique=True, max_size=4))


@given(universe=universes(), rules=all_rules, data=st.data())
def test_a_symbol_failing_a_filter_is_never_selected(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    listings, items = universe
    by_symbol = {item.symbol: item for item in listings}
    selection = select(listings, items, rules, previous_of(data, items))
    for symbol in selection.symbols:
        item = next(i for i in items if i.symbol == symbol)
        assert not isinstance(candidate_or_reason(by_symbol.get(symbol), item, rules), str)
        assert symbol not in rules.blacklist
        assert by_symbol[symbol].status == "Trading"
        assert item.tick_size is not None
        assert item.turnover_24h >= rules.min_turnover_24h_usdt
        assert touch_depth_usdt(item) >= rules.min_touch_depth_usdt
    for candidate in selection.ranking:
        assert candidate.spread_bps <= float(rules.max_spread_bps) * (1 + 1e-12)
        assert candidate.tick_bps <= float(rules.max_tick_bps) * (1 + 1e-12)
    ranked = {c.symbol for c in selection.ranking}
    assert ranked.isdisjoint(selection.excluded)
    assert ranked | set(selection.excluded) == {i.symbol for i in items}


@given(universe=universes(), rules=all_rules, data=st.data())
def test_at_most_n_are_selected_and_the_ranking_is_best_first(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    selection = select(*universe, rules, previous_of(data, universe[1]))
    assert len(selection.symbols) <= rules.top_n
    assert len(selection.symbols) == min(rules.top_n, len(selection.ranking))
    assert len(set(selection.symbols)) == len(selection.symbols)
    keys = [rank_key(c) for c in selection.ranking]
    assert keys == sorted(keys)


@given(universe=universes(), rules=all_rules)
def test_without_a_previous_selection_it_is_the_first_n_of_the_ranking(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules
) -> None:
    selection = select(*universe, rules)
    assert len(selection.symbols) <= rules.top_n
    assert len(selection.symbols) == min(rules.top_n, len(selection.ranking))
    assert selection.symbols == tuple(c.symbol for c in selection.ranking[: rules.top_n])
    keys = [rank_key(c) for c in selection.ranking]
    assert keys == sorted(keys)
    scores = [c.score for c in selection.ranking]
    assert scores == sorted(scores, reverse=True)


@given(universe=universes(), rules=all_rules, data=st.data())
def test_the_order_does_not_depend_on_the_venue_order(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    listings, items = universe
    previous = previous_of(data, items)
    shuffled = data.draw(st.permutations(items))
    assert select(listings, items, rules, previous) == select(listings, shuffled, rules, previous)


@given(universe=universes(), rules=all_rules, data=st.data())
def test_selecting_again_on_the_same_market_keeps_the_selection(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    first = select(*universe, rules, previous_of(data, universe[1])).symbols
    again = select(*universe, rules, first).symbols
    assert set(again) == set(first)


@given(universe=universes(), rules=all_rules, data=st.data())
def test_a_symbol_still_eligible_leaves_only_for_one_scoring_more_than_the_factor_above(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    previous = previous_of(data, universe[1])
    selection = select(*universe, rules, previous)
    scores = {c.symbol: c.score for c in selection.ranking}
    for symbol in previous:
        if symbol not in scores or symbol in selection.symbols:
            continue  # ineligible now, or kept
        assert len(selection.symbols) == rules.top_n  # dropped only for want of room
        for kept in selection.symbols:  # each took its place by the factor (or is held too)
            factor = 1.0 if kept in previous else rules.hysteresis
            assert scores[kept] >= scores[symbol] * factor


@given(universe=universes(), rules=all_rules, data=st.data())
def test_adding_a_symbol_removes_at_most_the_last_selected_and_only_for_itself(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    listings, items = universe
    newcomer = data.draw(a_stat("ZZZZZZUSDT"))
    previous = previous_of(data, items)
    before = select(listings, items, rules, previous).symbols
    after = select([*listings, listing("ZZZZZZUSDT")], [*items, newcomer], rules, previous).symbols
    removed = [s for s in before if s not in after]
    assert len(removed) <= 1
    if removed:
        assert removed == [before[-1]]
        assert "ZZZZZZUSDT" in after
    assert [s for s in after if s != "ZZZZZZUSDT"] == [s for s in before if s in after]


@given(universe=universes(), rules=all_rules, data=st.data())
def test_a_larger_n_extends_the_selection(
    universe: tuple[list[Listing], list[MakingStats]], rules: MakingRules, data: st.DataObject
) -> None:
    previous = previous_of(data, universe[1])
    smaller = select(*universe, rules, previous).symbols
    wider = MakingRules(**{**rules.__dict__, "top_n": rules.top_n + 1})
    larger = select(*universe, wider, previous)
    assert larger.symbols[: len(smaller)] == smaller


@given(
    turnover=st.decimals(min_value=1, max_value=D("1e11"), places=2),
    spread=st.decimals(min_value=0, max_value=100, places=4),
    tick=st.decimals(min_value=D("0.0001"), max_value=100, places=4),
    factor=st.decimals(min_value=1, max_value=100, places=2),
)
def test_the_score_grows_with_turnover_and_falls_with_the_width(
    turnover: Decimal, spread: Decimal, tick: Decimal, factor: Decimal
) -> None:
    base = making_score(turnover, spread, tick)
    assert making_score(turnover * factor, spread, tick) >= base
    assert making_score(turnover, spread * factor, tick) <= base
    assert making_score(turnover, spread, tick * factor) <= base
    assert base == pytest.approx(float(turnover / max(spread, tick)))


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (stats("X", turnover="999999"), "turnover_24h=999999 < mm_min_turnover_24h_usdt"),
        (stats("X", bid="100", ask="100.1"), "spread_bps=9.995 > mm_max_spread_bps=5"),
        (stats("X", tick="0.05"), "tick_bps=5.000 > mm_max_tick_bps=2"),
        (stats("X", size="99"), "touch_depth_usdt=9900.00 < mm_min_touch_depth_usdt=10000"),
        (stats("X", tick=None), "tick size unknown"),
        (stats("X", bid="101", ask="100"), "no two-sided top"),
    ],
)
def test_each_filter_names_its_setting(item: MakingStats, reason: str) -> None:
    found = candidate_or_reason(listing("X"), item, RULES)
    assert isinstance(found, str)
    assert found.startswith(reason)


def test_unlisted_closed_and_blacklisted_symbols_are_excluded() -> None:
    rules = MakingRules(top_n=5, blacklist=frozenset({"BUSDT"}))
    selection = select(
        [listing("BUSDT"), listing("CUSDT", "Closed")],
        [stats("AUSDT"), stats("BUSDT"), stats("CUSDT")],
        rules,
    )
    assert selection.symbols == ()
    assert selection.excluded == {
        "AUSDT": "not listed in status Trading",
        "BUSDT": "blacklisted",
        "CUSDT": "status=Closed",
    }


def test_ranked_by_score_then_turnover_then_name() -> None:
    items = [
        stats("CUSDT", turnover="10000000"),  # 1 bps wide: score 1e7
        stats("BUSDT", turnover="10000000", bid="100.00", ask="100.02"),  # 2 bps: 5e6
        stats("AUSDT", turnover="20000000", bid="100.00", ask="100.04"),  # 4 bps: 5e6
        stats("DUSDT", turnover="10000000"),  # 1e7, as CUSDT: by name
    ]
    selection = select([listing(i.symbol) for i in items], items, RULES)
    assert [c.symbol for c in selection.ranking] == ["CUSDT", "DUSDT", "AUSDT", "BUSDT"]
    assert selection.symbols == ("CUSDT", "DUSDT", "AUSDT")


def test_the_width_is_at_least_one_tick() -> None:
    locked = stats("XUSDT", bid="100", ask="100", tick="0.01")  # spread 0: one tick, 1 bps
    found = candidate_or_reason(listing("XUSDT"), locked, RULES)
    assert not isinstance(found, str)
    assert found.spread_bps == 0.0
    assert found.tick_bps == pytest.approx(1.0)
    assert found.score == pytest.approx(50_000_000.0)
    assert found.touch_depth_usdt == D("100000")


def test_an_incumbent_is_kept_until_beaten_by_more_than_the_hysteresis() -> None:
    rules = MakingRules(top_n=1, hysteresis=1.2)
    items = [stats("AUSDT", turnover="10000000"), stats("BUSDT", turnover="11900000")]
    listings = [listing(i.symbol) for i in items]
    assert select(listings, items, rules).symbols == ("BUSDT",)  # no incumbent: the best
    assert select(listings, items, rules, ["AUSDT"]).symbols == ("AUSDT",)  # 1.19 x: kept
    beaten = [items[0], stats("BUSDT", turnover="12100000")]
    assert select(listings, beaten, rules, ["AUSDT"]).symbols == ("BUSDT",)  # 1.21 x


def test_top_n_zero_selects_nothing() -> None:
    selection = select([listing("AUSDT")], [stats("AUSDT")], MakingRules(top_n=0))
    assert selection.symbols == ()
    assert [c.symbol for c in selection.ranking] == ["AUSDT"]


def test_rules_refuse_a_negative_n_and_a_hysteresis_below_one() -> None:
    with pytest.raises(ValueError, match="top_n"):
        MakingRules(top_n=-1)
    with pytest.raises(ValueError, match="hysteresis"):
        MakingRules(hysteresis=0.9)


def test_making_stats_of_reads_a_wire_ticker_and_its_tick() -> None:
    ticker = wire.Ticker(
        symbol="ETHUSDT",
        last_price=D("4000"),
        prev_price24h=D("3900"),
        price24h_pcnt=D("0.025"),
        high_price24h=D("4100"),
        low_price24h=D("3800"),
        turnover24h=D("1250000000"),
        volume24h=D("312500"),
        bid1_price="3999.99",
        bid1_size="8",
        ask1_price="4000.00",
        ask1_size="",
    )
    found = making_stats_of(ticker, D("0.01"))
    assert found == MakingStats(
        symbol="ETHUSDT",
        last_price=D("4000"),
        turnover_24h=D("1250000000"),
        bid_price=D("3999.99"),
        bid_size=D(8),
        ask_price=D("4000.00"),
        ask_size=D(0),
        tick_size=D("0.01"),
    )
    assert touch_depth_usdt(found) == 0


def test_once_prints_the_making_ranking_and_the_selection() -> None:
    items = [stats("AUSDT"), stats("BUSDT", turnover="20000000")]
    selection = select([listing(i.symbol) for i in items], items, RULES)
    lines = format_selection(selection, 1).splitlines()
    assert lines[0].split()[:3] == ["rank", "symbol", "mm_score"]
    assert lines[1].split()[:2] == ["1", "AUSDT"]
    assert len(lines) == 3
    assert lines[-1] == "market-making selection: AUSDT, BUSDT"
