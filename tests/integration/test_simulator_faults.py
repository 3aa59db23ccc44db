"""Each fault the simulator injects is visible to a client, and counted."""

import asyncio
import itertools
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.helpers.simulator import Sim, resting_buy, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> Any:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as running:
        yield running


async def _public(sim: Sim, topics: list[str]) -> aiohttp.ClientWebSocketResponse:
    ws = await sim.session.ws_connect(f"{sim.ws_url}/v5/public/linear")
    await ws.send_json({"op": "subscribe", "req_id": "s", "args": topics})
    ack = await ws.receive_json(timeout=5)
    assert ack["success"] is True, ack
    return ws


async def _frames(ws: aiohttp.ClientWebSocketResponse, count: int, topic_prefix: str) -> list[Any]:
    frames: list[Any] = []
    while len(frames) < count:
        frame = await ws.receive_json(timeout=10)
        if frame.get("topic", "").startswith(topic_prefix):
            frames.append(frame)
    return frames


async def test_rest_latency_delays_every_answer(sim: Sim) -> None:
    await sim.set_faults(rest_latency_ms=200)
    started = time.monotonic()
    await sim.get("/v5/market/time")
    assert time.monotonic() - started >= 0.2


async def test_5xx_answers_refuse_the_request(sim: Sim) -> None:
    await sim.set_faults(rest_5xx_rate=1.0)
    async with sim.session.get(f"{sim.url}/v5/market/time") as response:
        assert response.status == 503
    assert sim.service.faults.injected["rest_5xx"] == 1


async def test_timeout_after_accept_leaves_the_order_at_the_venue(sim: Sim) -> None:
    await sim.set_faults(timeout_after_accept_rate=1.0, timeout_after_accept_s=5.0)
    body = resting_buy("doubt-1")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await sim.post("/v5/order/create", body)
    await sim.set_faults(timeout_after_accept_rate=0.0)
    found = await sim.get(
        "/v5/order/realtime", {"category": "linear", "orderLinkId": "doubt-1"}, signed=True
    )
    assert [o["orderLinkId"] for o in found["result"]["list"]] == ["doubt-1"]


async def test_a_client_gone_during_the_latency_is_counted_and_its_order_not_placed(
    sim: Sim,
) -> None:
    await sim.set_faults(rest_latency_ms=500)
    body = resting_buy("gone-1")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):  # gives up and closes its connection
            await sim.post("/v5/order/create", body)
    await eventually(lambda: sim.service.rest.clients_gone == 1)
    await sim.set_faults(rest_latency_ms=0)
    found = await sim.get(
        "/v5/order/realtime", {"category": "linear", "orderLinkId": "gone-1"}, signed=True
    )
    assert found["result"]["list"] == []
    assert (await sim.stats())["clients_gone"] == 1


async def test_rate_limit_storm_answers_10006_with_reset_header(sim: Sim) -> None:
    await sim.set_faults(rate_limit_storm=True)
    answer = await sim.get(
        "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}, signed=True
    )
    assert answer["retCode"] == 10006


async def test_real_rate_limit_answers_10006_after_ten_creates(sim: Sim) -> None:
    body = resting_buy()
    codes = [(await sim.post("/v5/order/create", body))["retCode"] for _ in range(11)]
    assert codes[:10] == [0] * 10
    assert codes[10] == 10006


async def test_dropped_frames_are_not_sent(sim: Sim) -> None:
    await sim.set_faults(ws_drop_rate=1.0)
    ws = await _public(sim, ["publicTrade.BTCUSDT"])
    await eventually(lambda: sim.service.faults.injected.get("ws_drop", 0) >= 3)
    with pytest.raises(TimeoutError):
        await ws.receive_json(timeout=0.3)


async def test_duplicated_frames_arrive_twice(sim: Sim) -> None:
    await sim.set_faults(ws_duplicate_rate=1.0)
    ws = await _public(sim, ["orderbook.50.BTCUSDT"])
    first, second = await _frames(ws, 2, "orderbook.")
    assert first == second


async def test_u_gap_skips_an_update_id(sim: Sim) -> None:
    ws = await _public(sim, ["orderbook.50.BTCUSDT"])
    await _frames(ws, 1, "orderbook.")  # the snapshot
    await sim.set_faults(u_gap_rate=1.0)
    deltas = await _frames(ws, 3, "orderbook.")
    gaps = [b["data"]["u"] - a["data"]["u"] for a, b in itertools.pairwise(deltas)]
    assert 2 in gaps


async def test_crossed_book_fault_crosses_the_clients_book(sim: Sim) -> None:
    ws = await _public(sim, ["orderbook.50.BTCUSDT"])
    snapshot = (await _frames(ws, 1, "orderbook."))[0]
    bids = {Decimal(p): Decimal(q) for p, q in snapshot["data"]["b"]}
    asks = {Decimal(p): Decimal(q) for p, q in snapshot["data"]["a"]}
    await sim.set_faults(crossed_book_rate=1.0)
    crossed = False
    for frame in await _frames(ws, 6, "orderbook."):
        for side, levels in ((bids, frame["data"]["b"]), (asks, frame["data"]["a"])):
            for price, qty in levels:
                if Decimal(qty) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(qty)
        crossed = crossed or (bool(bids) and bool(asks) and max(bids) >= min(asks))
    assert crossed


async def test_stale_timestamps_lag_the_clock(sim: Sim) -> None:
    await sim.set_faults(stale_ms=5000)
    ws = await _public(sim, ["orderbook.50.BTCUSDT"])
    frame = (await _frames(ws, 1, "orderbook."))[0]
    assert time.time() * 1000 - frame["ts"] >= 4900


async def test_disconnect_closes_every_websocket(sim: Sim) -> None:
    ws = await _public(sim, ["publicTrade.BTCUSDT"])
    async with sim.session.post(f"{sim.url}/admin/disconnect") as response:
        assert (await response.json())["closed"] == 1
    while not ws.closed:
        await ws.receive(timeout=5)
    assert ws.closed


async def test_unknown_fault_is_refused(sim: Sim) -> None:
    async with sim.session.post(f"{sim.url}/admin/faults", json={"ws-drop": 1}) as response:
        assert response.status == 400
        assert "ws-drop" in await response.text()
