"""The simulator's responses and frames carry the captured fixtures' fields and JSON types."""

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.simulator import Sim, resting_buy, running_simulator

pytestmark = pytest.mark.integration


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


MAPS = frozenset({"cumFeeDetail"})  # keyed by coin: the keys are data, not fields


def shape_mismatches(captured: Any, ours: Any, path: str = "$") -> list[str]:
    """Return where `ours` lacks a captured field or gives it another JSON type."""
    if captured is None or ours is None:
        return []
    if _kind(captured) != _kind(ours):
        return [f"{path}: captured {_kind(captured)}, simulator {_kind(ours)}"]
    if isinstance(captured, dict) and path.rsplit(".", 1)[-1] not in MAPS:
        problems = [f"{path}.{k}: missing" for k in captured if k not in ours]
        for key in captured:
            if key in ours:
                problems += shape_mismatches(captured[key], ours[key], f"{path}.{key}")
        return problems
    if isinstance(captured, list) and captured and ours:
        return shape_mismatches(captured[0], ours[0], f"{path}[0]")
    return []


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
async def sim() -> Any:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as running:
        yield running


async def test_market_responses_match_captures(sim: Sim) -> None:
    checks = {
        "rest_market_instruments_info_linear.json": await sim.get(
            "/v5/market/instruments-info", {"category": "linear"}
        ),
        "rest_market_tickers_linear.json": await sim.get(
            "/v5/market/tickers", {"category": "linear"}
        ),
    }
    for name, ours in checks.items():
        assert shape_mismatches(fixture(name), ours) == [], name


async def test_trading_responses_match_captures(sim: Sim) -> None:
    create = await sim.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.01",
            "orderLinkId": "contract-1",
        },
    )
    assert create["retCode"] == 0, create
    limit = await sim.post(
        "/v5/order/create",
        resting_buy("contract-2"),
    )
    checks = {
        "rest_order_create_response_docexample.json": limit,
        "rest_order_realtime_response_docexample.json": await sim.get(
            "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"}, signed=True
        ),
        "rest_execution_list_response_docexample.json": await sim.get(
            "/v5/execution/list", {"category": "linear"}, signed=True
        ),
        "rest_position_list_response_docexample.json": await sim.get(
            "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}, signed=True
        ),
        "rest_account_wallet_balance_response_docexample.json": await sim.get(
            "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, signed=True
        ),
    }
    for name, ours in checks.items():
        assert ours["retCode"] == 0, (name, ours)
        assert shape_mismatches(fixture(name), ours) == [], name


async def test_error_envelope_matches_capture(sim: Sim) -> None:
    tiny = await sim.post(
        "/v5/order/create",
        resting_buy(qty="0.001"),
    )
    captured = fixture("rest_error_110094_order_value_below_min.json")
    assert tiny["retCode"] == 110094
    assert shape_mismatches(captured, tiny) == []


async def _collect(ws: aiohttp.ClientWebSocketResponse, wanted: dict[str, Any]) -> dict[str, Any]:
    """Return the first frame matching each named predicate (frames come in any order)."""
    found: dict[str, Any] = {}
    while len(found) < len(wanted):
        frame = await ws.receive_json(timeout=10)
        for name, predicate in wanted.items():
            if name not in found and predicate(frame):
                found[name] = frame
    return found


async def test_public_frames_match_captures(sim: Sim) -> None:
    ws = await sim.session.ws_connect(f"{sim.ws_url}/v5/public/linear")
    await ws.send_json(
        {
            "op": "subscribe",
            "req_id": "r1",
            "args": ["orderbook.200.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"],
        }
    )
    frames = await _collect(
        ws,
        {
            "ws_public_linear_subscribe_ack.json": lambda f: f.get("op") == "subscribe",
            "ws_public_linear_orderbook200_snapshot.json": lambda f: (
                f.get("topic") == "orderbook.200.BTCUSDT" and f["type"] == "snapshot"
            ),
            "ws_public_linear_orderbook200_delta.json": lambda f: (
                f.get("topic") == "orderbook.200.BTCUSDT" and f["type"] == "delta"
            ),
            "ws_public_linear_publicTrade.json": lambda f: f.get("topic") == "publicTrade.BTCUSDT",
            "ws_public_linear_tickers_snapshot.json": lambda f: (
                f.get("topic") == "tickers.BTCUSDT" and f["type"] == "snapshot"
            ),
        },
    )
    await ws.send_json({"op": "ping", "req_id": "p1"})
    frames.update(
        await _collect(
            ws, {"ws_public_linear_pong_docexample.json": lambda f: f.get("op") == "ping"}
        )
    )
    for name, ours in frames.items():
        assert shape_mismatches(fixture(name), ours) == [], name
    await ws.close()


async def test_private_frames_match_captures(sim: Sim) -> None:
    ws = await sim.private_ws(["order", "execution", "position", "wallet"])
    await sim.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.01",
        },
    )
    frames: dict[str, Any] = {}
    while len(frames) < 4:
        frame = await ws.receive_json(timeout=10)
        frames.setdefault(frame.get("topic"), frame)
    await ws.send_json({"op": "ping"})
    pong = (await _collect(ws, {"pong": lambda f: f.get("op") == "pong"}))["pong"]
    checks = {
        "ws_private_order_option_docexample.json": frames["order"],
        "ws_private_execution_linear_docexample.json": frames["execution"],
        "ws_private_position_linear_docexample.json": frames["position"],
        "ws_private_wallet.json": frames["wallet"],
        "ws_private_pong.json": pong,
    }
    for name, ours in checks.items():
        assert shape_mismatches(fixture(name), ours) == [], name
    await ws.close()


def test_shape_check_catches_a_missing_field_and_a_wrong_type() -> None:
    assert shape_mismatches({"a": "1", "b": 2}, {"a": 1}) == [
        "$.b: missing",
        "$.a: captured str, simulator number",
    ]


def test_fixtures_are_where_the_tests_expect_them() -> None:
    assert Path(FIXTURES / "SOURCES.md").exists()
