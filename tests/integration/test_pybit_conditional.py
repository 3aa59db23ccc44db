"""pybit (unchanged but for its URLs) places a conditional order on the simulator.

The simulator runs in-process with a still market (no price process, no synthetic trades),
so the last price moves only when the test's own Market order sweeps the book: the
conditional order stays Untriggered until then, and then triggers and fills on the private
stream. pybit is synchronous: its calls run in a worker thread, off the simulator's loop.
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pybit import unified_trading

from tests.helpers.pybit_streams import admin_stats, subscribed
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator(
        symbols=("BTCUSDT",), volatility_scale=0.0, trade_rate_scale=0.0
    ) as running:
        yield running


async def test_pybit_conditional_order_waits_untriggered_then_triggers_and_fills(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unified_trading, "PRIVATE_WSS", f"{sim.ws_url}/v5/private")
    http = unified_trading.HTTP(api_key=API_KEY, api_secret=API_SECRET)
    http.endpoint = sim.url  # the only change: where it connects
    orders: list[dict[str, Any]] = []
    lock = threading.Lock()

    def collect(message: dict[str, Any]) -> None:
        with lock:
            orders.extend(o for o in message["data"] if o["orderLinkId"] == "cond-1")

    def statuses() -> list[str]:
        with lock:
            return [o["orderStatus"] for o in orders]

    def open_private() -> unified_trading.WebSocket:
        return unified_trading.WebSocket(
            testnet=False, channel_type="private", api_key=API_KEY, api_secret=API_SECRET
        )

    def private_topics() -> int:
        return int(admin_stats(sim.url)["private_subscriptions"])

    private = await asyncio.to_thread(
        subscribed, open_private, [lambda ws: ws.order_stream(collect)], private_topics
    )
    try:
        book = (await asyncio.to_thread(http.get_orderbook, category="linear", symbol="BTCUSDT"))[
            "result"
        ]
        ticker = (await asyncio.to_thread(http.get_tickers, category="linear", symbol="BTCUSDT"))[
            "result"
        ]["list"][0]
        asks = [(Decimal(p), Decimal(q)) for p, q in book["a"]]
        trigger = max(asks[0][0], Decimal(ticker["lastPrice"])) + Decimal("0.1")
        placed = await asyncio.to_thread(
            http.place_order,
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            orderType="Market",
            qty="0.01",
            triggerPrice=str(trigger),
            triggerDirection=1,
            triggerBy="LastPrice",
            orderLinkId="cond-1",
        )
        assert placed["retCode"] == 0
        await eventually(lambda: statuses() == ["Untriggered"], 10)
        listed = (
            await asyncio.to_thread(
                http.get_open_orders, category="linear", symbol="BTCUSDT", orderLinkId="cond-1"
            )
        )["result"]["list"][0]
        assert listed["orderStatus"] == "Untriggered"
        assert listed["stopOrderType"] == "Stop"
        assert Decimal(listed["triggerPrice"]) == trigger
        assert (listed["triggerDirection"], listed["triggerBy"]) == (1, "LastPrice")
        plain = await asyncio.to_thread(
            http.get_open_orders, category="linear", symbol="BTCUSDT", orderFilter="Order"
        )
        assert plain["result"]["list"] == []

        # sweep the asks up to the trigger price: the last price reaches it
        sweep = sum((q for p, q in asks if p < trigger), Decimal(0)) + Decimal("0.001")
        await asyncio.to_thread(
            http.place_order,
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            orderType="Market",
            qty=str(sweep),
        )
        await eventually(lambda: statuses() == ["Untriggered", "Triggered", "Filled"], 10)
        with lock:
            filled = orders[-1]
        assert filled["cumExecQty"] == "0.010"
        assert filled["createType"] == "CreateByStopOrder"
    finally:
        await asyncio.to_thread(private.exit)
