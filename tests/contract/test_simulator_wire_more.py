"""The batch, account-history and market-history answers carry the fields and JSON types of
Bybit's docs examples (tests/fixtures/bybit, *_docexample.json)."""

from typing import Any

import pytest

from tests.contract.test_simulator_wire import fixture, shape_mismatches
from tests.helpers.simulator import Sim, resting_buy, running_simulator

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> Any:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as running:
        yield running


def item(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "category"}


async def test_batch_answers_match_the_docs(sim: Sim) -> None:
    created = await sim.post(
        "/v5/order/create-batch",
        {"category": "linear", "request": [item(resting_buy("b-1")), item(resting_buy("b-2"))]},
    )
    amended = await sim.post(
        "/v5/order/amend-batch",
        {
            "category": "linear",
            "request": [
                {"symbol": "BTCUSDT", "orderLinkId": "b-1", "price": "1001"},
                {"symbol": "BTCUSDT", "orderLinkId": "b-2", "price": "1002"},
            ],
        },
    )
    cancelled = await sim.post(
        "/v5/order/cancel-batch",
        {
            "category": "linear",
            "request": [
                {"symbol": "BTCUSDT", "orderLinkId": "b-1"},
                {"symbol": "BTCUSDT", "orderLinkId": "never-placed"},
            ],
        },
    )
    assert [s["code"] for s in cancelled["retExtInfo"]["list"]] == [0, 110001]
    checks = {
        "rest_order_create_batch_response_docexample.json": created,
        "rest_order_amend_batch_response_docexample.json": amended,
        "rest_order_cancel_batch_response_docexample.json": cancelled,
    }
    for name, ours in checks.items():
        assert ours["retCode"] == 0, (name, ours)
        assert shape_mismatches(fixture(name), ours) == [], name


async def test_account_and_market_history_answers_match_the_docs(sim: Sim) -> None:
    for side, reduce in (("Buy", False), ("Sell", True)):
        order = {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": side,
            "orderType": "Market",
            "qty": "0.01",
            "reduceOnly": reduce,
        }
        assert (await sim.post("/v5/order/create", order))["retCode"] == 0
    linear = {"category": "linear"}
    btc = linear | {"symbol": "BTCUSDT"}
    checks = {
        "rest_account_fee_rate_response_docexample.json": await sim.get(
            "/v5/account/fee-rate", btc, signed=True
        ),
        "rest_position_closed_pnl_response_docexample.json": await sim.get(
            "/v5/position/closed-pnl", btc, signed=True
        ),
        "rest_account_transaction_log_response_docexample.json": await sim.get(
            "/v5/account/transaction-log", {"accountType": "UNIFIED"}, signed=True
        ),
        "rest_market_funding_history_response_docexample.json": await sim.get(
            "/v5/market/funding/history", btc
        ),
        "rest_market_open_interest_response_docexample.json": await sim.get(
            "/v5/market/open-interest", btc | {"intervalTime": "1h", "limit": "5"}
        ),
        "rest_market_mark_price_kline_response_docexample.json": await sim.get(
            "/v5/market/mark-price-kline", btc | {"interval": "1"}
        ),
    }
    for name, ours in checks.items():
        assert ours["retCode"] == 0, (name, ours)
        assert ours["result"]["list"], name
        assert shape_mismatches(fixture(name), ours) == [], name


async def test_a_refused_margin_mode_answers_as_the_docs(sim: Sim) -> None:
    refused = await sim.post("/v5/account/set-margin-mode", {"setMarginMode": "ISOLATED_MARGIN"})
    captured = fixture("rest_error_3400045_set_margin_mode_docexample.json")
    assert (refused["retCode"], refused["retMsg"]) == (captured["retCode"], captured["retMsg"])
    assert shape_mismatches(captured, refused) == []
