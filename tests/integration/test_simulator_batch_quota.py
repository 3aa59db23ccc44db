"""A batch counts each of its orders against the endpoint's rate limit, as Bybit does: the
orders within the quota are carried out, the rest answer 10006 in retExtInfo.list."""

import pytest

from tests.helpers.simulator import resting_buy, running_simulator

pytestmark = pytest.mark.integration


async def test_a_batch_over_the_remaining_quota_places_the_first_orders_only() -> None:
    async with running_simulator(symbols=("BTCUSDT",)) as sim:
        request = [
            {k: v for k, v in resting_buy(f"q-{i}").items() if k != "category"} for i in range(12)
        ]
        answer = await sim.post(
            "/v5/order/create-batch", {"category": "linear", "request": request}
        )
        assert answer["retCode"] == 0
        codes = [s["code"] for s in answer["retExtInfo"]["list"]]
        assert codes == [0] * 10 + [10006] * 2
        assert [i["orderId"] != "" for i in answer["result"]["list"]] == [True] * 10 + [False] * 2
        orders = await sim.get(
            "/v5/order/realtime",
            {"category": "linear", "symbol": "BTCUSDT", "limit": "50"},
            signed=True,
        )
        assert sorted(o["orderLinkId"] for o in orders["result"]["list"]) == sorted(
            f"q-{i}" for i in range(10)
        )
