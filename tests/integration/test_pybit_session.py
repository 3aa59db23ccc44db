"""The official SDK (pybit), pointed at the simulator and otherwise unchanged, trades on it."""

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pybit import unified_trading

from tests.helpers.pybit_streams import admin_stats, subscribed
from tests.helpers.simulator_process import simulator_process
from tests.helpers.waiting import eventually_sync

pytestmark = pytest.mark.integration

API_KEY = "pybitkey0001"
API_SECRET = "pybit-secret-not-real-0001"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("run"), API_KEY, API_SECRET) as url:
        yield url


@pytest.fixture
def http(simulator: str) -> unified_trading.HTTP:
    session = unified_trading.HTTP(api_key=API_KEY, api_secret=API_SECRET)
    session.endpoint = f"http://{simulator}"  # the only change: where it connects
    return session


@pytest.fixture
def ws_urls(simulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        unified_trading, "PUBLIC_WSS", f"ws://{simulator}/v5/public/{{CHANNEL_TYPE}}"
    )
    monkeypatch.setattr(unified_trading, "PRIVATE_WSS", f"ws://{simulator}/v5/private")


def test_pybit_reads_market_data(http: unified_trading.HTTP) -> None:
    tickers = http.get_tickers(category="linear")
    assert {t["symbol"] for t in tickers["result"]["list"]} == {"BTCUSDT", "ETHUSDT"}
    instruments = http.get_instruments_info(category="linear")
    assert len(instruments["result"]["list"]) == 2
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)
    assert float(book["result"]["b"][0][0]) < float(book["result"]["a"][0][0])


def test_pybit_places_queries_amends_and_cancels(http: unified_trading.HTTP) -> None:
    bid = float(http.get_orderbook(category="linear", symbol="BTCUSDT")["result"]["b"][0][0])
    price = f"{round(bid * 0.9, 1):.1f}"
    placed = http.place_order(
        category="linear",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.01",
        price=price,
        orderLinkId="pybit-1",
    )
    assert placed["result"]["orderLinkId"] == "pybit-1"
    open_orders = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [o["orderLinkId"] for o in open_orders] == ["pybit-1"]
    new_price = f"{round(bid * 0.85, 1):.1f}"
    http.amend_order(category="linear", symbol="BTCUSDT", orderLinkId="pybit-1", price=new_price)
    amended = http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="pybit-1")[
        "result"
    ]["list"][0]
    assert float(amended["price"]) == float(new_price)
    http.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="pybit-1")
    assert http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"] == []


def test_pybit_reads_positions_and_wallet(http: unified_trading.HTTP) -> None:
    http.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Market", qty="0.1")
    position = http.get_positions(category="linear", symbol="ETHUSDT")["result"]["list"][0]
    assert position["side"] == "Buy"
    assert float(position["size"]) >= 0.1
    wallet = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert wallet["coin"][0]["coin"] == "USDT"
    http.place_order(
        category="linear",
        symbol="ETHUSDT",
        side="Sell",
        orderType="Market",
        qty=position["size"],
        reduceOnly=True,
    )


def test_pybit_receives_public_and_private_websocket_messages(
    http: unified_trading.HTTP, ws_urls: None
) -> None:
    received: dict[str, list[Any]] = {}
    lock = threading.Lock()

    def collect(message: dict[str, Any]) -> None:
        with lock:
            received.setdefault(message["topic"].split(".")[0], []).append(message)

    public = subscribed(
        lambda: unified_trading.WebSocket(testnet=False, channel_type="linear"),
        [
            lambda ws: ws.orderbook_stream(50, "BTCUSDT", collect),
            lambda ws: ws.trade_stream("BTCUSDT", collect),
        ],
        lambda: int(admin_stats(http.endpoint)["public_subscriptions"]),
    )
    with contextlib.ExitStack() as sockets:
        sockets.callback(public.exit)
        private = subscribed(
            lambda: unified_trading.WebSocket(
                testnet=False, channel_type="private", api_key=API_KEY, api_secret=API_SECRET
            ),
            [
                lambda ws: ws.order_stream(collect),
                lambda ws: ws.execution_stream(collect),
                lambda ws: ws.position_stream(collect),
                lambda ws: ws.wallet_stream(collect),
            ],
            lambda: int(admin_stats(http.endpoint)["private_subscriptions"]),
        )
        sockets.callback(private.exit)
        eventually_sync(lambda: "orderbook" in received and "publicTrade" in received, timeout_s=15)
        http.place_order(
            category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01"
        )
        eventually_sync(
            lambda: {"order", "execution", "position", "wallet"} <= set(received), timeout_s=15
        )
        http.place_order(
            category="linear",
            symbol="BTCUSDT",
            side="Sell",
            orderType="Market",
            qty="0.01",
            reduceOnly=True,
        )
    assert received["order"][0]["data"][0]["symbol"] == "BTCUSDT"
    assert received["execution"][0]["data"][0]["execType"] == "Trade"
