"""`[feed] follow = "market-making"`: the scanner's selection is served as a list that changes:
a newcomer gets its session (rules, book, subscription), a leaver is unsubscribed and
forgotten, the others are untouched; an older selection is ignored and counted."""

from types import SimpleNamespace

import pytest

from services.feed.service import LISTED_EPOCH, FeedService
from services.feed.settings import FeedSettings
from shared.schema import (
    FeedReady,
    InstrumentRulesChanged,
    MarketMakingUniverse,
    Quote,
    Symbol,
)
from tests.helpers.samples import BTCUSDT_RULES
from tests.unit.services.feed.test_multi_symbol import (
    ETHUSDT_RULES,
    NOW,
    _frame,
    _Recording,
    _Rest,
    _Stream,
)


class _Publisher(_Recording):
    def __init__(self) -> None:
        super().__init__()
        self.forgotten: list[bytes] = []

    def forget(self, prefix: bytes) -> None:
        self.forgotten.append(prefix)


def _feed() -> tuple[FeedService, _Publisher, _Stream]:
    settings = FeedSettings(metrics_port=1, depth=50, follow="market-making")
    clock = SimpleNamespace(now_ns=lambda: NOW)
    feed = FeedService(settings, SimpleNamespace(clock=clock))  # type: ignore[arg-type]
    publisher, stream = _Publisher(), _Stream()
    feed._publisher = publisher  # type: ignore[assignment]
    feed._stream = stream  # type: ignore[assignment]
    feed._rest = _Rest()  # type: ignore[assignment]
    feed._grids = {"BTCUSDT": BTCUSDT_RULES, "ETHUSDT": ETHUSDT_RULES}
    return feed, publisher, stream


def _selection(*symbols: str, ts_ns: int = NOW) -> MarketMakingUniverse:
    return MarketMakingUniverse(
        symbols=tuple(Symbol(s) for s in symbols), ranking=(), reason="test", ts_event_ns=ts_ns
    )


def _calls(stream: _Stream) -> list[tuple[str, list[str]]]:
    found = list(stream.calls)
    stream.calls.clear()
    return found


def test_settings_follow_the_scanner_by_default_and_refuse_a_list_that_follows() -> None:
    assert FeedSettings(metrics_port=1).follow == "scanner"
    with pytest.raises(ValueError, match="needs symbols = "):
        FeedSettings(metrics_port=1, symbols=("BTCUSDT",), follow="market-making")


async def test_nothing_is_served_before_a_selection() -> None:
    feed, _, stream = _feed()
    assert list(feed.served()) == []
    assert feed.sessions == {}
    assert stream.calls == []


async def test_a_changed_selection_changes_the_session_set() -> None:
    feed, publisher, stream = _feed()

    await feed.select(_selection("BTCUSDT", "ETHUSDT"))

    assert list(feed.sessions) == ["BTCUSDT", "ETHUSDT"]
    assert all(s.epoch == LISTED_EPOCH for s in feed.sessions.values())
    assert _calls(stream) == [
        ("subscribe", ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"]),
        ("subscribe", ["orderbook.50.ETHUSDT", "publicTrade.ETHUSDT"]),
    ]
    assert [m.symbol for m in publisher.of(InstrumentRulesChanged)] == ["BTCUSDT", "ETHUSDT"]
    feed._on_frame(_frame("BTCUSDT", 1, "snapshot", "100.0", "100.5"))
    feed._on_frame(_frame("ETHUSDT", 1, "snapshot", "2000.00", "2000.05"))
    assert {m.symbol for m in publisher.of(FeedReady)} == {"BTCUSDT", "ETHUSDT"}
    eth_session = feed.sessions["ETHUSDT"]

    # BTCUSDT leaves, SOLUSDT enters (its rules unknown: asked for, counted), ETHUSDT stays.
    await feed.select(_selection("ETHUSDT", "SOLUSDT", ts_ns=NOW + 1))

    assert list(feed.sessions) == ["ETHUSDT", "SOLUSDT"]
    assert feed.sessions["ETHUSDT"] is eth_session  # untouched: no resubscription
    assert _calls(stream) == [
        ("unsubscribe", ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"]),
        ("subscribe", ["orderbook.50.SOLUSDT", "publicTrade.SOLUSDT"]),
    ]
    assert b"md.book.BTCUSDT." in publisher.forgotten
    assert b"md.rules.BTCUSDT." in publisher.forgotten
    counters = feed.counters()
    assert counters["mm_symbols_added"] == 3
    assert counters["mm_symbols_removed"] == 1
    assert counters["grid_unknown"] == 1  # SOLUSDT's rules were not read
    assert counters["book_applied"] == 2  # BTCUSDT's counters kept after it left

    # A frame of the symbol that left is counted, never published.
    before = len(publisher.of(Quote))
    feed._on_frame(_frame("BTCUSDT", 2, "delta", "100.1", "100.5"))
    assert len(publisher.of(Quote)) == before
    assert feed.counters()["wrong_symbol"] == 1


async def test_an_empty_selection_serves_nothing_and_an_older_one_is_ignored() -> None:
    feed, _, stream = _feed()
    await feed.select(_selection("BTCUSDT", ts_ns=NOW + 5))
    _calls(stream)

    await feed.select(_selection("ETHUSDT", ts_ns=NOW + 4))  # older than the one applied
    assert list(feed.sessions) == ["BTCUSDT"]
    assert feed.counters()["stale_mm_universe"] == 1
    assert stream.calls == []

    await feed.select(_selection(ts_ns=NOW + 6))
    assert feed.sessions == {}
    assert list(feed.served()) == []
    assert _calls(stream) == [("unsubscribe", ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"])]


async def test_a_symbol_that_returns_gets_a_fresh_session_and_its_rules_again() -> None:
    feed, publisher, _ = _feed()
    await feed.select(_selection("BTCUSDT", ts_ns=NOW))
    first = feed.sessions["BTCUSDT"]
    await feed.select(_selection(ts_ns=NOW + 1))
    await feed.select(_selection("BTCUSDT", ts_ns=NOW + 2))
    assert feed.sessions["BTCUSDT"] is not first
    assert len(publisher.of(InstrumentRulesChanged, "BTCUSDT")) == 2


async def test_a_session_dropped_meanwhile_is_not_resubscribed_nor_reported() -> None:
    feed, _, stream = _feed()
    await feed.select(_selection("BTCUSDT", "ETHUSDT", ts_ns=NOW))
    feed._on_frame(_frame("BTCUSDT", 1, "snapshot", "100.0", "100.5"))
    btc = feed.sessions["BTCUSDT"]
    btc.resync_needed = True  # the watch saw a gap, then the selection dropped BTCUSDT
    await feed.select(_selection("ETHUSDT", ts_ns=NOW + 1))
    _calls(stream)

    await feed._resubscribe(btc)

    assert stream.calls == []
    assert btc.counters["resyncs"] == 0
    assert not feed._serves(btc)
    assert feed._serves(feed.sessions["ETHUSDT"])
