"""FeedSession: what the feed publishes, decided without I/O."""

from decimal import Decimal

import msgspec

from services.feed.session import FeedSession, Phase, trace_prefix
from shared.bybit import wire
from shared.schema import BookLevels, FeedReady, FeedState, FeedStatus, Quote, Trade

NOW = 1_700_000_000_000_000_000


def _session() -> FeedSession:
    return FeedSession(
        depth=50, published_levels=5, max_venue_lag_ns=10**9, stale_after_ns=5 * 10**9
    )


def _book(
    u: int, kind: str = "snapshot", bid: str = "100", ask: str = "101", symbol: str = "BTCUSDT"
) -> wire.OrderBookMessage:
    return wire.OrderBookMessage(
        topic=f"orderbook.50.{symbol}",
        type=kind,
        ts=NOW // 1_000_000,
        data=wire.OrderBookData(
            s=symbol, b=[(Decimal(bid), Decimal(1))], a=[(Decimal(ask), Decimal(1))], u=u, seq=u
        ),
    )


def test_feed_ready_comes_once_per_epoch_with_the_first_book() -> None:
    session = _session()
    session.begin_switch("BTCUSDT", 4)
    session.subscribed(NOW)
    first = session.on_book(_book(1), NOW)
    second = session.on_book(_book(2, "delta", bid="100.5"), NOW)
    assert [type(m) for m in first].count(FeedReady) == 1
    assert not any(isinstance(m, FeedReady) for m in second)
    assert session.phase is Phase.LIVE


def test_frames_of_the_old_symbol_are_dropped_from_the_start_of_a_switch() -> None:
    session = _session()
    session.begin_switch("BTCUSDT", 1)
    session.subscribed(NOW)
    session.on_book(_book(1), NOW)
    session.begin_switch("ETHUSDT", 2)
    assert session.on_book(_book(2, "delta", bid="99"), NOW) == []
    assert session.counters["wrong_symbol"] == 1


def test_stale_frame_is_flagged_and_not_quoted() -> None:
    session = _session()
    session.begin_switch("BTCUSDT", 1)
    session.subscribed(NOW)
    out = session.on_book(_book(1), NOW + 5 * 10**9)  # arrived 5 s after its venue time
    assert not any(isinstance(m, Quote) for m in out)
    assert [m.state for m in out if isinstance(m, FeedStatus)] == [FeedState.STALE]


def test_a_nan_level_resets_the_book_and_asks_for_a_resync() -> None:
    session = _session()
    session.begin_switch("BTCUSDT", 1)
    session.subscribed(NOW)
    session.on_book(_book(1), NOW)
    frame = (
        b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,'
        b'"data":{"s":"BTCUSDT","b":[["NaN","1"]],"a":[],"u":2,"seq":2}}'
    )
    message = msgspec.json.decode(frame, type=wire.OrderBookMessage)
    out = session.on_book(message, NOW)  # refused before the book sees it: nothing raises
    assert session.book is not None
    assert not session.book.synced
    assert session.resync_needed
    assert session.counters["refused_book_not_finite"] == 1
    assert [m.state for m in out if isinstance(m, FeedStatus)] == [FeedState.RESYNCING]


def test_the_quote_and_levels_of_one_frame_carry_that_frames_trace_id() -> None:
    session = _session()
    session.begin_switch("BTCUSDT", 1)
    session.subscribed(NOW)
    session.on_book(_book(1), NOW, "mj4k2x9a-1")

    out = session.on_book(_book(2, "delta", bid="100.5"), NOW, "mj4k2x9a-2")

    market = [m for m in out if isinstance(m, Quote | BookLevels)]
    assert [type(m) for m in market] == [Quote, BookLevels]
    assert {m.trace_id for m in market} == {"mj4k2x9a-2"}


def test_every_trade_of_a_frame_carries_that_frames_trace_id() -> None:
    session = _session()
    session.begin_switch("BTCUSDT", 1)
    session.subscribed(NOW)
    trade = b'{"T":1,"s":"BTCUSDT","S":"Buy","v":"0.01","p":"100","i":"t%d","BT":false}'
    frame = b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[%s,%s]}' % (
        trade % 1,
        trade % 2,
    )
    message = msgspec.json.decode(frame, type=wire.PublicTradeMessage)

    out = session.on_trades(message, NOW, "mj4k2x9a-7")

    assert [(type(m), m.trace_id) for m in out] == [(Trade, "mj4k2x9a-7")] * 2


def test_trace_prefix_is_the_start_in_milliseconds_in_base_36() -> None:
    assert trace_prefix(0) == "0-"
    assert trace_prefix(35 * 1_000_000) == "z-"
    assert trace_prefix(36 * 1_000_000) == "10-"
    assert trace_prefix(NOW) == "loyw3v28-"
    assert int(trace_prefix(NOW)[:-1], 36) == NOW // 1_000_000
