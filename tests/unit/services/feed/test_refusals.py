"""Bad market data at the feed's boundary: counted, alerted, never published, and a bad
book level never corrupts the book (the frame is dropped whole and the book resynced)."""

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from services.feed.service import FeedService
from services.feed.session import FeedSession
from services.feed.settings import FeedSettings
from shared.bybit import wire
from shared.schema import Alert, BookLevels, FeedState, FeedStatus, Quote, Trade
from shared.schema.base import Message
from tests.helpers.samples import BTCUSDT_RULES

NOW = 1_700_000_000_000_000_000
D = Decimal
GRID = BTCUSDT_RULES
Levels = list[tuple[str, str]]


def _live_session() -> FeedSession:
    session = FeedSession(
        depth=50, published_levels=5, max_venue_lag_ns=10**9, stale_after_ns=5 * 10**9
    )
    session.begin_switch("BTCUSDT", 1, GRID)
    session.subscribed(NOW)
    out = session.on_book(_book(1, "snapshot", [("100.0", "1")], [("100.5", "2")]), NOW)
    assert any(isinstance(m, Quote) for m in out)
    return session


def _book(u: int, kind: str, bids: Levels, asks: Levels) -> wire.OrderBookMessage:
    frame = {
        "topic": "orderbook.50.BTCUSDT",
        "type": kind,
        "ts": NOW // 1_000_000,
        "data": {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": u},
    }
    return msgspec.json.decode(msgspec.json.encode(frame), type=wire.OrderBookMessage)


def _of(messages: list[Any], kind: type[Message]) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


BAD_LEVELS = [
    pytest.param([("100.1", "-1")], [], "negative", id="negative-size"),
    pytest.param([("0", "1")], [], "not_positive", id="zero-price"),
    pytest.param([], [("-100.5", "1")], "not_positive", id="negative-price"),
    pytest.param([("NaN", "1")], [], "not_finite", id="nan-price"),
    pytest.param([("100.1", "NaN")], [], "not_finite", id="nan-size"),
    pytest.param([], [("Infinity", "1")], "not_finite", id="infinite-price"),
    pytest.param([("100.05", "1")], [], "off_tick", id="off-tick-price"),
    pytest.param([("100.1", "0.0005")], [], "off_step", id="off-step-size"),
]


@pytest.mark.parametrize(("bids", "asks", "defect"), BAD_LEVELS)
@pytest.mark.parametrize("kind", ["delta", "snapshot"])
def test_a_bad_book_level_is_counted_alerted_and_nothing_is_published(
    bids: Levels, asks: Levels, defect: str, kind: str
) -> None:
    session = _live_session()

    out = session.on_book(_book(2, kind, bids, asks), NOW + 1)

    assert _of(out, Quote) == []
    assert _of(out, BookLevels) == []
    assert session.counters[f"refused_book_{defect}"] == 1
    (alert,) = _of(out, Alert)
    assert (alert.source, alert.code) == ("feed", "invalid_market_data")
    assert defect in alert.detail
    assert [m.state for m in _of(out, FeedStatus)] == [FeedState.RESYNCING]
    assert session.resync_needed


def test_one_bad_level_drops_the_whole_delta_and_the_book_resyncs_from_a_snapshot() -> None:
    session = _live_session()
    good_and_bad = _book(2, "delta", [("100.2", "5")], [("100.5", "-3")])

    session.on_book(good_and_bad, NOW + 1)

    assert session.book is not None
    assert session.book.top() is None  # not half-applied: no 100.2 bid, no -3 ask
    later = session.on_book(_book(3, "delta", [("100.3", "1")], []), NOW + 2)
    assert _of(later, Quote) == []  # nothing on top of a book that is not in sync
    session.subscribed(NOW + 3)  # the service resubscribed
    fresh = session.on_book(_book(10, "snapshot", [("99.9", "4")], [("100.4", "1")]), NOW + 4)
    (quote,) = _of(fresh, Quote)
    assert (quote.bid_price, quote.bid_qty, quote.ask_price, quote.ask_qty) == (
        D("99.9"),
        D("4"),
        D("100.4"),
        D("1"),
    )


def test_without_a_known_grid_sign_and_finiteness_are_still_checked() -> None:
    session = _live_session()
    session.grid = None
    assert _of(session.on_book(_book(2, "delta", [("100.05", "1")], []), NOW), Quote)
    assert not _of(session.on_book(_book(3, "delta", [("100.1", "-1")], []), NOW), Quote)
    assert session.counters["refused_book_negative"] == 1


def _trades(*trades: tuple[str, str]) -> wire.PublicTradeMessage:
    data = [
        {"T": NOW // 1_000_000, "s": "BTCUSDT", "S": "Buy", "v": v, "p": p, "i": f"t{n}"}
        for n, (p, v) in enumerate(trades)
    ]
    frame = {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1, "data": data}
    return msgspec.json.decode(msgspec.json.encode(frame), type=wire.PublicTradeMessage)


@pytest.mark.parametrize(
    ("price", "size", "defect"),
    [
        ("100.1", "-1", "not_positive"),
        ("100.1", "0", "not_positive"),
        ("0", "1", "not_positive"),
        ("-100.1", "1", "not_positive"),
        ("NaN", "1", "not_finite"),
        ("100.1", "Infinity", "not_finite"),
        ("100.15", "1", "off_tick"),
        ("100.1", "0.0001", "off_step"),
    ],
)
def test_a_bad_trade_is_counted_alerted_and_dropped_alone(
    price: str, size: str, defect: str
) -> None:
    session = _live_session()

    out = session.on_trades(_trades(("100.2", "0.5"), (price, size)), NOW)

    (trade,) = _of(out, Trade)  # the good one of the frame is published
    assert (trade.price, trade.qty) == (D("100.2"), D("0.5"))
    assert session.counters[f"refused_trade_{defect}"] == 1
    (alert,) = _of(out, Alert)
    assert alert.code == "invalid_market_data"


def test_alerts_are_held_back_while_the_same_refusal_repeats_but_all_are_counted() -> None:
    session = _live_session()
    bad = _trades(("0", "1"))

    alerts = [_of(session.on_trades(bad, NOW + i * 10**9), Alert) for i in range(12)]

    assert [len(a) for a in alerts] == [1] + [0] * 9 + [1, 0]  # one per 10 s
    assert session.counters["refused_trade_not_positive"] == 12
    assert session.counters["refusal_alerts_held"] == 10


class _Recording:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)


def test_the_feeds_hot_path_publishes_nothing_of_a_bad_frame() -> None:
    settings = FeedSettings(metrics_port=1, depth=50)
    feed = FeedService(settings, SimpleNamespace(clock=None))  # type: ignore[arg-type]
    publisher = _Recording()
    feed._publisher = publisher  # type: ignore[assignment]
    feed.session = _live_session()
    frame = (
        b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,'
        b'"data":{"s":"BTCUSDT","b":[["100.2","1"],["-5","1"]],"a":[],"u":2,"seq":2}}'
    )
    trades = (
        b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":'
        b'[{"T":1,"s":"BTCUSDT","S":"Sell","v":"-0.5","p":"100.1","i":"x"}]}'
    )

    for data in (frame, trades):
        feed._on_frame(SimpleNamespace(data=data, ts_recv_ns=NOW))  # type: ignore[arg-type]

    assert not [m for m in publisher.sent if isinstance(m, Quote | BookLevels | Trade)]
    assert len(_of(publisher.sent, Alert)) == 2
    assert feed.session.counters["refused_book_not_positive"] == 1
    assert feed.session.counters["refused_trade_not_positive"] == 1
