"""What the simulator refuses, and how, as Bybit does: raw requests on loopback.

Missing category (181000, and 181001 for position/list), missing symbol / settleCoin,
unknown paths (JSON 10017, not a text 404), other categories (empty but well-formed),
kline windows, and the websocket details clients rely on (req_id echoed as sent, expires
as a string, the kline and execution.fast topics).
"""

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.bybit.auth import ws_auth_signature
from tests.helpers.fixtures import BYBIT_FIXTURES
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, resting_buy, running_simulator

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as running:
        yield running


def _error(reply: dict[str, Any]) -> tuple[int, str]:
    assert reply["result"] == {}
    return reply["retCode"], reply["retMsg"]


async def test_a_missing_category_is_refused(sim: Sim) -> None:
    assert _error(await sim.get("/v5/market/tickers")) == (181000, "category is null")
    assert _error(await sim.get("/v5/order/realtime", {"symbol": "BTCUSDT"}, signed=True)) == (
        181000,
        "category is null",
    )
    body = {k: v for k, v in resting_buy().items() if k != "category"}
    assert _error(await sim.post("/v5/order/create", body)) == (181000, "category is null")
    positions = await sim.get("/v5/position/list", {"symbol": "BTCUSDT"}, signed=True)
    assert _error(positions) == (181001, "category only support linear or option")
    for path in ("/v5/account/fee-rate", "/v5/position/closed-pnl"):
        assert _error(await sim.get(path, {}, signed=True)) == (181000, "category is null"), path
    for path in ("/v5/market/funding/history", "/v5/market/open-interest"):
        assert _error(await sim.get(path, {"symbol": "BTCUSDT"})) == (181000, "category is null")
    batch = {"request": [resting_buy()]}
    assert _error(await sim.post("/v5/order/create-batch", batch)) == (181000, "category is null")


async def test_a_missing_symbol_or_settle_coin_is_refused(sim: Sim) -> None:
    linear = {"category": "linear"}
    positions = await sim.get("/v5/position/list", linear, signed=True)
    assert _error(positions)[0] == 10001
    orders = await sim.get("/v5/order/realtime", linear, signed=True)
    assert _error(orders)[0] == 10001
    by_settle = await sim.get("/v5/position/list", linear | {"settleCoin": "USDT"}, signed=True)
    assert by_settle["retCode"] == 0


async def test_other_categories_answer_empty_and_well_formed(sim: Sim) -> None:
    spot = await sim.get("/v5/market/instruments-info", {"category": "spot"})
    assert spot["retCode"] == 0
    assert spot["result"] == {"category": "spot", "list": [], "nextPageCursor": ""}
    option = await sim.get("/v5/position/list", {"category": "option"}, signed=True)
    assert option["result"]["list"] == []
    inverse = await sim.get("/v5/market/tickers", {"category": "inverse"})
    assert inverse["result"] == {"category": "inverse", "list": [], "nextPageCursor": ""}
    refused = await sim.post("/v5/order/create", resting_buy() | {"category": "spot"})
    assert _error(refused)[0] == 10001


async def test_unknown_paths_and_methods_answer_json(sim: Sim) -> None:
    async with sim.session.get(f"{sim.url}/v5/no/such/path") as response:
        assert response.status == 404
        assert response.content_type == "application/json"
        assert _error(await response.json()) == (10017, "Route not found")
    async with sim.session.post(f"{sim.url}/v5/market/time") as response:
        assert response.status == 405
        assert _error(await response.json())[0] == 10017


async def test_account_queries_before_trading(sim: Sim) -> None:
    key = await sim.get("/v5/user/query-api", signed=True)
    assert key["result"]["apiKey"] == API_KEY
    assert key["result"]["uta"] == 1
    info = await sim.get("/v5/account/info", signed=True)
    assert info["result"]["unifiedMarginStatus"] in (5, 6)
    coins = await sim.get("/v5/asset/coin/query-info", signed=True)
    assert {"USDT", "BTC", "ETH"} <= {row["coin"] for row in coins["result"]["rows"]}


async def test_klines_keep_to_the_asked_window(sim: Sim) -> None:
    now_ms = int(time.time() * 1000)
    start = (now_ms // MINUTE_MS - 120) * MINUTE_MS
    params = {"category": "linear", "symbol": "BTCUSDT", "interval": "1", "limit": "5"}
    from_start = (await sim.get("/v5/market/kline", params | {"start": str(start)}))["result"]
    assert [int(row[0]) for row in from_start["list"]] == [
        start + i * MINUTE_MS for i in range(4, -1, -1)
    ]  # the first five from start, newest first
    end = start + 30 * MINUTE_MS
    up_to_end = await sim.get("/v5/market/kline", params | {"end": str(end + 59_999)})
    assert [int(row[0]) for row in up_to_end["result"]["list"]] == [
        end - i * MINUTE_MS for i in range(5)
    ]
    both = params | {"start": str(start), "end": str(start + 2 * MINUTE_MS), "limit": "10"}
    assert len((await sim.get("/v5/market/kline", both))["result"]["list"]) == 3


async def _receive(ws: aiohttp.ClientWebSocketResponse, topic: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=10)
        if message.get("topic") == topic:
            return message


async def test_public_stream_echoes_a_numeric_req_id_and_pushes_klines(sim: Sim) -> None:
    async with sim.session.ws_connect(f"{sim.ws_url}/v5/public/linear") as ws:
        await ws.send_json({"req_id": 7, "op": "ping"})
        pong = await ws.receive_json(timeout=10)
        assert (pong["op"], pong["req_id"], pong["ret_msg"]) == ("ping", 7, "pong")
        await ws.send_json({"req_id": 8, "op": "subscribe", "args": ["kline.1.BTCUSDT"]})
        ack = await ws.receive_json(timeout=10)
        assert (ack["success"], ack["req_id"]) == (True, 8)
        frame = await _receive(ws, "kline.1.BTCUSDT")
        candle = frame["data"][-1]
        assert frame["type"] == "snapshot"
        assert candle["end"] == candle["start"] + MINUTE_MS - 1
        assert candle["interval"] == "1"
        assert candle["confirm"] is False
        assert float(candle["low"]) <= float(candle["close"]) <= float(candle["high"])


async def test_private_stream_takes_string_expires_and_sends_execution_fast(sim: Sim) -> None:
    async with sim.session.ws_connect(f"{sim.ws_url}/v5/private") as ws:
        expires = str(int(time.time() * 1000) + 10_000)
        signature = ws_auth_signature(API_SECRET, int(expires))
        await ws.send_json({"req_id": 1, "op": "auth", "args": [API_KEY, expires, signature]})
        auth = await ws.receive_json(timeout=10)
        assert (auth["success"], auth["req_id"]) == (True, 1)
        await ws.send_json({"req_id": 2, "op": "subscribe", "args": ["execution.fast"]})
        assert (await ws.receive_json(timeout=10))["req_id"] == 2
        await ws.send_json({"req_id": 3, "op": "ping"})
        pong = await ws.receive_json(timeout=10)
        assert (pong["op"], pong["req_id"]) == ("pong", 3)
        body = resting_buy() | {"orderType": "Market", "orderLinkId": "fast-1"}
        del body["price"]
        assert (await sim.post("/v5/order/create", body))["retCode"] == 0
        frame = await _receive(ws, "execution.fast")
    assert "id" not in frame
    fill = frame["data"][0]
    assert fill["orderLinkId"] == "fast-1"
    assert fill["isMaker"] is False
    assert set(fill) == {
        "category",
        "symbol",
        "execId",
        "execPrice",
        "execQty",
        "orderId",
        "isMaker",
        "orderLinkId",
        "side",
        "execTime",
        "seq",
    }


async def test_rest_orders_show_unset_enumerations_as_unknown(sim: Sim) -> None:
    assert (await sim.post("/v5/order/create", resting_buy("enum-1")))["retCode"] == 0
    params = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "enum-1"}
    order = (await sim.get("/v5/order/realtime", params, signed=True))["result"]["list"][0]
    unset = ("stopOrderType", "triggerBy", "tpTriggerBy", "slTriggerBy", "cancelType")
    assert {name: order[name] for name in unset} == dict.fromkeys(unset, "UNKNOWN")


async def test_replayed_stream_echoes_a_numeric_req_id(tmp_path: Path) -> None:
    recording = tmp_path / "recording.jsonl"
    recording.write_text((BYBIT_FIXTURES / "ws_public_linear_publicTrade.json").read_text())
    async with (
        running_simulator(symbols=("BTCUSDT",), replay_file=str(recording)) as replayed,
        replayed.session.ws_connect(f"{replayed.ws_url}/v5/public/linear") as ws,
    ):
        await ws.send_json({"req_id": 5, "op": "subscribe", "args": ["publicTrade.BTCUSDT"]})
        ack = await ws.receive_json(timeout=10)
        assert (ack["success"], ack["req_id"], ack["op"]) == (True, 5, "subscribe")
