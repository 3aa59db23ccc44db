"""`[strategy.market-maker] follow = "market-making"`: the maker quotes the scanner's selection;
a symbol that leaves it has its quotes withdrawn (its position left, with an alert)."""

import pytest

from services.strategy.mm.core import MarketMaker
from shared.schema import Alert, AlertSeverity, MarketMakingUniverse, Symbol
from tests.unit.services.strategy.mm.core_support import (
    ETH,
    START,
    FakeTimer,
    book,
    canceled,
    cancels,
    mm_settings,
    submits,
)
from tests.unit.services.strategy.support import (
    BTC,
    MS,
    T0,
    feed_ready,
    make_rules,
    position_changed,
    snapshot,
)


def selection(*symbols: Symbol, ts: int = T0) -> MarketMakingUniverse:
    return MarketMakingUniverse(symbols=symbols, ranking=(), reason="test", ts_event_ns=ts)


def following() -> MarketMaker:
    mm = MarketMaker(mm_settings(follow="market-making"), last_seq=T0, timer_ns=FakeTimer())
    mm.set_rules(make_rules("BTCUSDT"))
    mm.set_rules(make_rules("ETHUSDT"))
    mm.on_message(snapshot(), T0)
    return mm


def test_settings_follow_the_scanner_by_default_and_refuse_a_list_that_follows() -> None:
    assert mm_settings().market_maker.follow == "scanner"
    with pytest.raises(ValueError, match="needs symbols = "):
        mm_settings(symbols=("BTCUSDT",), follow="market-making")


def test_the_selections_symbols_are_quoted_each_after_its_feed_ready() -> None:
    mm = following()
    assert submits(book(mm, "50000.0", "50000.1", START)) == []  # no selection yet
    mm.on_message(selection(BTC, ETH), T0)
    mm.on_message(feed_ready(BTC, 1), T0)
    mm.on_message(feed_ready(ETH, 1), T0)

    btc = submits(book(mm, "50000.0", "50000.1", START + MS))
    eth = submits(book(mm, "50000.0", "50000.1", START + 2 * MS, symbol=ETH))

    assert {o.symbol for o in btc} == {BTC}
    assert {o.symbol for o in eth} == {ETH}
    assert len(btc) == len(eth) == 2


def test_a_symbol_leaving_the_selection_is_withdrawn_and_its_position_alerted() -> None:
    mm = following()
    mm.on_message(selection(BTC, ETH), T0)
    for symbol in (BTC, ETH):
        mm.on_message(feed_ready(symbol, 1), T0)
    book(mm, "50000.0", "50000.1", START)
    eth_quotes = submits(book(mm, "50000.0", "50000.1", START + MS, symbol=ETH))
    mm.on_message(position_changed(ETH, "0.002", "50000"), START + 2 * MS)

    out = mm.on_message(selection(BTC, ts=T0 + 1), START + 3 * MS)

    assert {c.client_order_id for c in cancels(out)} == {o.client_order_id for o in eth_quotes}
    assert {c.symbol for c in cancels(out)} == {ETH}
    [alert] = [o for o in out if isinstance(o, Alert)]
    assert alert.code == "mm_symbol_left_with_position"
    assert alert.severity is AlertSeverity.WARNING
    assert "ETHUSDT" in alert.detail
    assert "0.002" in alert.detail
    assert submits(book(mm, "50001.0", "50001.1", START + 4 * MS, symbol=ETH)) == []
    assert mm.counters["other_symbol_md"] >= 1
    assert mm.counters["mm_symbols_left"] == 1
    assert mm.status(START).symbol == BTC


def test_a_returning_symbol_waits_for_its_new_feed_ready() -> None:
    mm = following()
    mm.on_message(selection(ETH), T0)
    mm.on_message(feed_ready(ETH, 1), T0)
    assert len(submits(book(mm, "50000.0", "50000.1", START, symbol=ETH))) == 2
    out = mm.on_message(selection(ts=T0 + 1), START + MS)
    assert {c.symbol for c in cancels(out)} == {ETH}
    assert [o for o in out if isinstance(o, Alert)] == []  # no position: no alert
    for cancel in cancels(out):
        mm.on_message(canceled(cancel.client_order_id, ETH, START + MS), START + MS)

    mm.on_message(selection(ETH, ts=T0 + 2), START + 2 * MS)
    assert submits(book(mm, "50000.0", "50000.1", START + 3 * MS, symbol=ETH)) == []
    mm.on_message(feed_ready(ETH, 1), START + 4 * MS)
    assert submits(book(mm, "50000.0", "50000.1", START + 5 * MS, symbol=ETH)) != []


def test_an_older_selection_is_ignored_and_counted() -> None:
    mm = following()
    mm.on_message(selection(BTC, ts=T0 + 5), T0)
    mm.on_message(selection(ETH, ts=T0 + 4), T0)
    assert mm.selection == {BTC}
    assert mm.counters["stale_mm_universe"] == 1


def test_a_maker_that_does_not_follow_the_selection_counts_it() -> None:
    mm = MarketMaker(mm_settings(), last_seq=T0, timer_ns=FakeTimer())
    mm.on_message(selection(ETH), T0)
    assert mm.selection == frozenset()
    assert mm.counters["mm_universe_not_followed"] == 1
    assert not mm.quoted(ETH)
