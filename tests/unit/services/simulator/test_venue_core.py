"""The venue core driven directly, as a backtest would: no HTTP, no asyncio, time passed in."""

import ast
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.simulator import venue as venue_package
from services.simulator.venue import (
    BookTop,
    ExchangeConfig,
    TradePrint,
    Venue,
    VenueError,
    market_events,
)
from shared.bybit import wire
from tests.helpers.fixtures import BYBIT_FIXTURES

D = Decimal
T0 = 1_780_000_000_000


def venue(**overrides: Any) -> Venue:
    config: dict[str, Any] = {"seed": 3, "symbols": ("BTCUSDT",), "history_minutes": 120}
    config.update(overrides)
    return Venue(ExchangeConfig(**config), T0)


def quiet() -> Venue:
    """A synthetic market that only our orders move."""
    return venue(volatility_scale=0.0, trade_rate_scale=0.0)


def recorded() -> Venue:
    """No price process: the market moves only by the events fed to it."""
    return venue(market_source="recorded-tops")


def limit(side: str, qty: str, price: Decimal, **fields: Any) -> wire.OrderCreateRequest:
    return wire.OrderCreateRequest(
        symbol="BTCUSDT", side=side, order_type="Limit", qty=qty, price=str(price), **fields
    )


def reports(v: Venue, account: str) -> list[tuple[str, Any]]:
    return [(topic, payload) for who, topic, payload in v.drain_reports() if who == account]


def top(v: Venue) -> tuple[Decimal, Decimal]:
    bids, asks = v.book_top("BTCUSDT", 1)
    return bids[0][0], asks[0][0]


def test_submit_match_and_the_fill_reports_of_both_sides() -> None:
    v = quiet()
    v.advance(T0 + 100)
    bid, _ = top(v)
    maker = v.submit("alice", limit("Buy", "0.010", bid), v.now_ms)
    assert [t for t, _ in reports(v, "alice")] == ["order", "position", "wallet"]
    v.advance(T0 + 200)
    v.open_account("bob", D(10_000_000))
    # bob sells through the whole bid level: the synthetic size ahead of alice, then alice
    v.submit(
        "bob",
        wire.OrderCreateRequest(symbol="BTCUSDT", side="Sell", order_type="Market", qty="50"),
        v.now_ms,
    )
    events = v.drain_reports()
    alice = [(t, p) for who, t, p in events if who == "alice"]
    bob = [(t, p) for who, t, p in events if who == "bob"]
    assert [t for t, _ in alice] == ["execution", "order", "position", "wallet"]
    fill, done = alice[0][1], alice[1][1]
    assert (fill.order_id, fill.is_maker, fill.exec_price, fill.exec_qty) == (
        maker.order_id,
        True,
        bid,
        D("0.010"),
    )
    assert done.order_status == "Filled"
    assert [t for t, _ in bob][-3:] == ["order", "position", "wallet"]
    assert all(not p.is_maker for t, p in bob if t == "execution")
    assert v.drain_reports() == []


def test_cancel_reports_the_cancelled_order() -> None:
    v = quiet()
    bid, _ = top(v)
    ids = v.submit("alice", limit("Buy", "0.010", bid - 50, order_link_id="c1"), T0 + 100)
    v.drain_reports()
    v.cancel("alice", wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="c1"), T0 + 200)
    (order, _), *rest = reports(v, "alice")
    assert (order, rest[0][0]) == ("order", "position")
    assert v.orders("alice", order_id=ids.order_id)[0].order_status == "Cancelled"
    with pytest.raises(VenueError) as refused:
        v.cancel("alice", wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="c1"), T0 + 300)
    assert refused.value.code == 110001


def test_without_the_synthetic_market_time_alone_moves_no_price() -> None:
    v = recorded()
    before = top(v)
    v.advance(T0 + 600_000)
    assert top(v) == before
    assert v.take_public_trades() == []


def test_a_recorded_book_moving_through_a_resting_order_fills_it_at_its_price() -> None:
    v = recorded()
    bid, ask = top(v)
    price = bid - 10
    v.submit("alice", limit("Sell", "0.010", ask + 10), T0 + 100)
    ids = v.submit("alice", limit("Buy", "0.010", price), T0 + 100)
    v.drain_reports()
    v.on_market(BookTop("BTCUSDT", T0 + 1_000, bid=price - 5, ask=price - 4))
    alice = reports(v, "alice")
    assert [t for t, _ in alice] == ["execution", "order", "position", "wallet"]
    assert (alice[0][1].order_id, alice[0][1].exec_price) == (ids.order_id, price)
    assert alice[1][1].order_status == "Filled"
    assert top(v)[1] <= price  # the recorded top, not the synthetic one


def test_a_recorded_trade_fills_the_resting_order_it_reaches() -> None:
    v = recorded()
    bid, ask = top(v)
    v.on_market(BookTop("BTCUSDT", T0 + 100, bid=bid - 100, ask=ask))
    inside = bid - 50  # alone at its price: nothing synthetic ahead of it
    ids = v.submit("alice", limit("Buy", "0.020", inside), T0 + 200)
    v.drain_reports()
    v.on_market(TradePrint("BTCUSDT", T0 + 300, taker_is_buy=False, price=inside, qty=D("0.005")))
    alice = reports(v, "alice")
    assert [t for t, _ in alice] == ["execution", "order", "position", "wallet"]
    assert (alice[0][1].exec_qty, alice[1][1].order_status) == (D("0.005"), "PartiallyFilled")
    (trade,) = v.take_public_trades()
    assert (trade.p, trade.v, trade.S, trade.T) == (inside, D("0.005"), "Sell", T0 + 300)
    v.on_market(TradePrint("BTCUSDT", T0 + 400, taker_is_buy=False, price=inside, qty=D("1")))
    assert v.orders("alice", order_id=ids.order_id)[0].order_status == "Filled"
    (pos,) = v.positions("alice", "BTCUSDT")
    assert (pos.side, pos.size) == ("Buy", D("0.020"))


def _frame(name: str, **changes: Any) -> str:
    frame = json.loads((BYBIT_FIXTURES / name).read_text())
    if changes:
        frame["data"][0].update(changes)
    return json.dumps(frame)


def test_recorded_bybit_frames_drive_the_book_and_fill_a_resting_order() -> None:
    snapshot_ms = 1_685_082_877_414  # the recorded orderbook.50 snapshot's ts
    v = Venue(
        ExchangeConfig(symbols=("BTCUSDT",), history_minutes=60, market_source="recorded-tops"),
        snapshot_ms - 1_000,
    )
    book = [_frame("ws_public_linear_orderbook50_snapshot.json")]
    (event,) = market_events(book)
    v.on_market(event)
    assert event == BookTop("BTCUSDT", snapshot_ms, bid=D("26368.50"), ask=D("26368.70"))
    assert top(v) == (D("26368.50"), D("26368.70"))
    ids = v.submit("alice", limit("Buy", "0.004", D("26368.60")), snapshot_ms + 10)
    v.drain_reports()
    trades = [
        _frame("ws_public_linear_publicTrade.json", T=snapshot_ms + 20, p="26368.60", v="0.003"),
        _frame("ws_public_linear_orderbook50_delta.json"),  # changes no best price: no event
        _frame("ws_public_linear_publicTrade.json", T=snapshot_ms + 30, p="26368.60", v="0.004"),
    ]
    events = list(market_events(book + trades))[1:]
    assert [type(e) for e in events] == [TradePrint, TradePrint]
    for event in events:
        v.on_market(event)
    fills = [p for t, p in reports(v, "alice") if t == "execution"]
    assert [(f.exec_qty, f.exec_price, f.is_maker) for f in fills] == [
        (D("0.003"), D("26368.60"), True),
        (D("0.001"), D("26368.60"), True),
    ]
    assert v.orders("alice", order_id=ids.order_id)[0].order_status == "Filled"


def test_the_core_does_no_io_and_keeps_the_module_budget() -> None:
    package = Path(venue_package.__file__).parent
    for module in package.glob("*.py"):
        source = module.read_text()
        assert len(source.splitlines()) <= 300, module.name
        imported = {
            name.split(".")[0]
            for node in ast.walk(ast.parse(source))
            for name in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        }
        assert not imported & {"aiohttp", "asyncio", "time", "socket"}, module.name
