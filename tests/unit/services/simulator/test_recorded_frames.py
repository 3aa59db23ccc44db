"""Recorded Bybit frames decoded once, at the edge, into integer-tick venue events."""

import json
from decimal import Decimal
from pathlib import Path

from services.simulator.replay_file import read_lines
from services.simulator.venue import DepthUpdate, RecordedFrames, RecordedTrade

GRIDS = {"ETHUSDT": (Decimal("0.01"), Decimal("0.01"))}
REPLAY = Path(__file__).parents[3] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"


def book(topic: str, kind: str, bids: list[list[str]], asks: list[list[str]]) -> str:
    data = {"s": topic.rsplit(".", 1)[1], "b": bids, "a": asks, "u": 7, "seq": 9}
    return json.dumps({"topic": topic, "type": kind, "ts": 1_000, "data": data, "cts": 999})


def trades(*rows: tuple[str, str, str]) -> str:
    data = [
        {"T": 1_001 + i, "s": "ETHUSDT", "S": side, "v": qty, "p": price, "i": str(i)}
        for i, (side, qty, price) in enumerate(rows)
    ]
    return json.dumps(
        {"topic": "publicTrade.ETHUSDT", "type": "snapshot", "ts": 1_005, "data": data}
    )


def test_a_book_frame_becomes_one_update_in_ticks_and_lots() -> None:
    frames = RecordedFrames(GRIDS)
    raw = book(
        "orderbook.500.ETHUSDT",
        "delta",
        [["2681.62", "1.165"], ["2681.60", "0"]],
        [["2681.63", "0.001"]],
    )
    (update,) = frames.events(raw, recv_ns=42)
    assert update == DepthUpdate(
        symbol="ETHUSDT",
        ts_ms=1_000,
        depth=500,
        is_snapshot=False,
        bids=((268_162, 117), (268_160, 0)),  # sizes round up to whole lots: none vanishes
        asks=((268_163, 1),),
        recv_ns=42,
        match_ms=999,  # the matching engine's time of the book (cts)
    )
    assert set(frames.skipped.values()) == {0}


def test_a_book_frame_without_cts_keeps_its_ts_as_the_venue_time() -> None:
    raw = json.loads(book("orderbook.1.ETHUSDT", "snapshot", [["1", "1"]], [["2", "1"]]))
    del raw["cts"]
    (update,) = RecordedFrames(GRIDS).events(json.dumps(raw))
    assert isinstance(update, DepthUpdate)
    assert update.match_ms == 1_000


def test_trades_become_one_event_each_and_those_under_a_lot_are_counted() -> None:
    frames = RecordedFrames(GRIDS)
    events = frames.events(trades(("Sell", "1.009", "2681.62"), ("Buy", "0.004", "2681.63")))
    # rounded down; the venue time is the trade's T
    assert events == [RecordedTrade("ETHUSDT", 1_001, False, 268_162, 100, match_ms=1_001)]
    assert frames.skipped["trade_under_a_lot"] == 1


def test_prices_off_the_grid_round_away_from_the_touch_and_are_counted() -> None:
    frames = RecordedFrames(GRIDS)
    raw = book("orderbook.50.ETHUSDT", "snapshot", [["2681.625", "1"]], [["2681.625", "1"]])
    (update,) = frames.events(raw)
    assert isinstance(update, DepthUpdate)
    assert (update.bids[0][0], update.asks[0][0]) == (268_162, 268_163)
    assert frames.skipped["price_off_grid"] == 2


def test_what_is_not_a_market_frame_of_a_listed_symbol_is_counted() -> None:
    frames = RecordedFrames(GRIDS)
    assert frames.events('{"success":true,"op":"subscribe"}') == []
    assert frames.events("garbage") == []
    assert frames.events(json.dumps({"topic": "tickers.ETHUSDT", "ts": 1, "data": {}})) == []
    assert frames.events(book("orderbook.50.BTCUSDT", "snapshot", [], [])) == []
    assert frames.skipped == {
        "not_a_frame": 2,
        "other_topic": 1,
        "unknown_symbol": 1,
        "trade_under_a_lot": 0,
        "price_off_grid": 0,
    }


def test_the_replay_fixture_decodes_with_its_receive_times() -> None:
    frames = RecordedFrames(GRIDS)
    events = [e for recv_ns, raw in read_lines(REPLAY) for e in frames.events(raw, recv_ns)]
    depths = [e for e in events if isinstance(e, DepthUpdate)]
    assert [d.depth for d in depths if d.is_snapshot][:1] == [1]
    assert sum(1 for d in depths if d.depth == 500 and d.is_snapshot) == 1
    assert all(e.recv_ns > 1_723_161_255_000_000_000 for e in events)
    assert frames.skipped["not_a_frame"] == frames.skipped["other_topic"] == 0
    assert frames.skipped["price_off_grid"] == 0
