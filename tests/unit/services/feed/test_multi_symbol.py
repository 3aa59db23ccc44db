"""`[feed] symbols`: one gap-checked session per listed symbol, frames routed by topic, a
gap resyncs its own symbol alone, and each symbol's rules go out before its book."""

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from services.feed import service
from services.feed.service import LISTED_EPOCH, FeedService
from services.feed.session import Phase
from services.feed.settings import FeedSettings
from shared.schema import (
    FeedReady,
    FeedState,
    FeedStatus,
    InstrumentRules,
    InstrumentRulesChanged,
    Quote,
    Trade,
)
from shared.schema.base import Message
from tests.helpers.samples import BTCUSDT_RULES
from tests.helpers.waiting import eventually

NOW = 1_700_000_000_000_000_000
ETHUSDT_RULES = InstrumentRules(
    symbol="ETHUSDT",
    tick_size=Decimal("0.01"),
    qty_step=Decimal("0.01"),
    min_qty=Decimal("0.01"),
    max_qty=Decimal("1000"),
    max_mkt_qty=Decimal("500"),
    min_notional=Decimal("5"),
)


class _Recording:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def of(self, kind: type[Message], symbol: str | None = None) -> list[Any]:
        found = [m for m in self.sent if isinstance(m, kind)]
        return [m for m in found if symbol is None or m.symbol == symbol]


class _Stream:
    """The venue stream's subscription calls, acknowledged at once and recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    async def subscribe(self, topics: list[str]) -> None:
        self.calls.append(("subscribe", topics))

    async def unsubscribe(self, topics: list[str]) -> None:
        self.calls.append(("unsubscribe", topics))


class _Rest:
    """instruments-info that knows nothing (a symbol's rules then stay unknown)."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    async def instruments(self, symbol: str | None = None) -> list[Any]:
        self.asked.append(symbol)
        return []


def _feed(*symbols: str, depth: int = 50) -> tuple[FeedService, _Recording, _Stream]:
    settings = FeedSettings(metrics_port=1, depth=depth, symbols=symbols)
    clock = SimpleNamespace(now_ns=lambda: NOW)
    feed = FeedService(settings, SimpleNamespace(clock=clock))  # type: ignore[arg-type]
    publisher, stream = _Recording(), _Stream()
    feed._publisher = publisher  # type: ignore[assignment]
    feed._stream = stream  # type: ignore[assignment]
    feed._rest = _Rest()  # type: ignore[assignment]
    feed._grids = {"BTCUSDT": BTCUSDT_RULES, "ETHUSDT": ETHUSDT_RULES}
    return feed, publisher, stream


def _frame(symbol: str, u: int, kind: str, bid: str, ask: str, depth: int = 50) -> Any:
    data = {
        "topic": f"orderbook.{depth}.{symbol}",
        "type": kind,
        "ts": NOW // 1_000_000,
        "data": {"s": symbol, "b": [[bid, "1"]], "a": [[ask, "2"]], "u": u, "seq": u},
    }
    return SimpleNamespace(data=msgspec.json.encode(data), ts_recv_ns=NOW)


def _trades(symbol: str, price: str) -> Any:
    data = {
        "topic": f"publicTrade.{symbol}",
        "type": "snapshot",
        "ts": NOW // 1_000_000,
        "data": [{"T": NOW // 1_000_000, "s": symbol, "S": "Buy", "v": "1", "p": price, "i": "t"}],
    }
    return SimpleNamespace(data=msgspec.json.encode(data), ts_recv_ns=NOW)


async def _live(*symbols: str) -> tuple[FeedService, _Recording, _Stream]:
    feed, publisher, stream = _feed(*symbols)
    await feed._serve_listed()
    feed._on_frame(_frame("BTCUSDT", 1, "snapshot", "100.0", "100.5"))
    feed._on_frame(_frame("ETHUSDT", 1, "snapshot", "2000.00", "2000.05"))
    return feed, publisher, stream


def test_settings_list_symbols_once_each_and_default_to_the_scanners_one() -> None:
    assert FeedSettings(metrics_port=1).symbols == ()
    with pytest.raises(ValueError, match="listed twice: BTCUSDT"):
        FeedSettings(metrics_port=1, symbols=("BTCUSDT", "ETHUSDT", "BTCUSDT"))
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"metrics_port": 1, "symbols": ["btc-usdt"]}, FeedSettings)


def test_one_session_per_listed_symbol_the_first_is_the_services_own() -> None:
    feed, _, _ = _feed("BTCUSDT", "ETHUSDT")
    assert list(feed.sessions) == ["BTCUSDT", "ETHUSDT"]
    assert feed.sessions["BTCUSDT"] is feed.session
    assert list(feed.served()) == list(feed.sessions.values())
    single, _, _ = _feed()
    assert single.sessions == {}
    assert list(single.served()) == [single.session]


async def test_each_listed_symbol_gets_its_rules_then_its_book_and_subscription() -> None:
    feed, publisher, stream = _feed("BTCUSDT", "ETHUSDT")
    await feed._serve_listed()
    assert stream.calls == [
        ("subscribe", ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"]),
        ("subscribe", ["orderbook.50.ETHUSDT", "publicTrade.ETHUSDT"]),
    ]
    kinds = [(type(m).__name__, m.symbol) for m in publisher.sent]
    assert kinds == [
        ("InstrumentRulesChanged", "BTCUSDT"),
        ("FeedStatus", "BTCUSDT"),
        ("InstrumentRulesChanged", "ETHUSDT"),
        ("FeedStatus", "ETHUSDT"),
    ]
    assert publisher.of(InstrumentRulesChanged, "ETHUSDT")[0].rules == ETHUSDT_RULES
    for symbol, session in feed.sessions.items():
        assert (session.symbol, session.epoch, session.phase) == (
            symbol,
            LISTED_EPOCH,
            Phase.AWAITING_SNAPSHOT,
        )
        assert session.grid is not None
        assert session.grid.symbol == symbol


async def test_a_symbol_whose_rules_are_unknown_gets_no_rules_message_and_is_counted() -> None:
    feed, publisher, _ = _feed("BTCUSDT", "SOLUSDT")
    await feed._serve_listed()
    assert [m.symbol for m in publisher.of(InstrumentRulesChanged)] == ["BTCUSDT"]
    assert feed.sessions["SOLUSDT"].counters["grid_unknown"] == 1
    assert feed.sessions["SOLUSDT"].grid is None
    assert feed.counters()["grid_unknown"] == 1  # the metrics: every session's together


async def test_frames_go_to_their_symbols_session_and_each_symbol_is_quoted() -> None:
    feed, publisher, _ = await _live("BTCUSDT", "ETHUSDT")
    feed._on_frame(_trades("ETHUSDT", "2000.01"))
    assert [m.symbol for m in publisher.of(FeedReady)] == ["BTCUSDT", "ETHUSDT"]
    assert [(q.symbol, q.bid_price) for q in publisher.of(Quote)] == [
        ("BTCUSDT", Decimal("100.0")),
        ("ETHUSDT", Decimal("2000.00")),
    ]
    assert [t.symbol for t in publisher.of(Trade)] == ["ETHUSDT"]
    assert all(q.epoch == LISTED_EPOCH for q in publisher.of(Quote))
    assert feed.sessions["ETHUSDT"].counters["book_applied"] == 1
    assert feed.sessions["BTCUSDT"].counters["book_applied"] == 1


async def test_a_frame_of_a_symbol_not_listed_is_counted_never_published() -> None:
    feed, publisher, _ = await _live("BTCUSDT", "ETHUSDT")
    before = len(publisher.sent)
    feed._on_frame(_frame("SOLUSDT", 1, "snapshot", "150.00", "150.01"))
    feed._on_frame(_trades("SOLUSDT", "150.00"))
    assert len(publisher.sent) == before
    assert feed.counters()["wrong_symbol"] == 2


async def test_a_gap_on_one_symbol_resyncs_that_symbol_alone() -> None:
    feed, publisher, stream = await _live("BTCUSDT", "ETHUSDT")
    btc, eth = feed.sessions["BTCUSDT"], feed.sessions["ETHUSDT"]
    stream.calls.clear()
    feed._on_frame(_frame("ETHUSDT", 3, "delta", "2000.01", "2000.05"))  # u 2 skipped
    assert eth.resync_needed
    assert not btc.resync_needed
    assert feed._resync.is_set()
    feed._on_frame(_frame("BTCUSDT", 2, "delta", "100.1", "100.5"))  # BTC quotes on
    assert publisher.of(Quote, "BTCUSDT")[-1].bid_price == Decimal("100.1")

    for session in feed.served():  # what the watch task does for each served symbol
        if session.resync_needed:
            await feed._resubscribe(session)

    assert stream.calls == [
        ("unsubscribe", ["orderbook.50.ETHUSDT"]),
        ("subscribe", ["orderbook.50.ETHUSDT"]),
    ]
    assert (eth.counters["resyncs"], btc.counters["resyncs"]) == (1, 0)
    assert eth.phase is Phase.AWAITING_SNAPSHOT
    assert btc.phase is Phase.LIVE
    eth_states = [m.state for m in publisher.of(FeedStatus, "ETHUSDT")]
    assert eth_states[-1] is FeedState.RESYNCING
    assert FeedState.RESYNCING not in [m.state for m in publisher.of(FeedStatus, "BTCUSDT")][1:]
    feed._on_frame(_frame("ETHUSDT", 7, "snapshot", "2000.02", "2000.05"))
    assert publisher.of(Quote, "ETHUSDT")[-1].bid_price == Decimal("2000.02")
    assert len(publisher.of(FeedReady, "ETHUSDT")) == 1  # once per epoch, not per resync


async def test_the_watch_resyncs_the_gapped_symbol_and_flags_a_silent_one() -> None:
    feed, publisher, stream = await _live("BTCUSDT", "ETHUSDT")
    stream.calls.clear()
    feed._on_frame(_frame("ETHUSDT", 5, "delta", "2000.01", "2000.05"))  # a gap
    later = NOW + 6 * 10**9  # both books silent past stale-after
    feed._clock = SimpleNamespace(now_ns=lambda: later)  # type: ignore[assignment]
    watch = asyncio.create_task(feed._watch())
    try:
        await eventually(
            lambda: (
                publisher.of(FeedStatus, "BTCUSDT")[-1].state is FeedState.STALE
                and len(stream.calls) >= 2
            )
        )
    finally:
        watch.cancel()
    assert stream.calls[:2] == [
        ("unsubscribe", ["orderbook.50.ETHUSDT"]),
        ("subscribe", ["orderbook.50.ETHUSDT"]),
    ]
    assert feed.sessions["BTCUSDT"].counters["stale_books"] == 1
    assert feed.sessions["ETHUSDT"].counters["stale_books"] == 0  # resyncing, not live


async def test_rules_unknown_at_start_are_read_again_and_published_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed, publisher, _ = _feed("BTCUSDT")
    feed._grids = {}
    await feed._serve_listed()
    assert publisher.of(InstrumentRulesChanged) == []

    async def found(symbol: str | None) -> list[InstrumentRules]:
        return [BTCUSDT_RULES]

    monkeypatch.setattr(feed, "_instruments", found)
    monkeypatch.setattr(service, "_RULES_RETRY_S", 0.0)
    retry = asyncio.create_task(feed._retry_rules())
    try:
        await eventually(lambda: publisher.of(InstrumentRulesChanged))
        for _ in range(5):  # more rounds of the retry: nothing is unknown any more
            await asyncio.sleep(0)
    finally:
        retry.cancel()
    assert [m.rules for m in publisher.of(InstrumentRulesChanged)] == [BTCUSDT_RULES]
    assert feed.session.counters["rules_retries"] == 1
    assert feed.session.grid == BTCUSDT_RULES
