"""pybit, pointed at the simulator and otherwise unchanged, on the batch, account-history and
market-history endpoints: Bybit's shapes (numbers in strings) and their meaning."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pybit import unified_trading
from pybit.exceptions import InvalidRequestError

from tests.helpers.simulator_process import simulator_process

pytestmark = pytest.mark.integration

API_KEY = "pybitkey0002"
API_SECRET = "pybit-secret-not-real-0002"


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[unified_trading.HTTP]:
    with simulator_process(tmp_path_factory.mktemp("run"), API_KEY, API_SECRET) as url:
        session = unified_trading.HTTP(api_key=API_KEY, api_secret=API_SECRET)
        session.endpoint = f"http://{url}"  # the only change: where it connects
        yield session


def far_bid(http: unified_trading.HTTP, link: str, factor: float = 0.9) -> dict[str, Any]:
    bid = float(http.get_orderbook(category="linear", symbol="BTCUSDT")["result"]["b"][0][0])
    price = f"{round(bid * factor, 1):.1f}"
    return {
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": "0.01",
        "price": price,
        "orderLinkId": link,
    }


def wallet(http: unified_trading.HTTP) -> Decimal:
    answer = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    return Decimal(answer["totalWalletBalance"])


def test_a_batch_with_one_bad_item_answers_ok_with_that_items_error(
    http: unified_trading.HTTP,
) -> None:
    good = far_bid(http, "batch-1")
    bad = far_bid(http, "batch-2") | {"qty": "abc"}
    placed = http.place_batch_order(category="linear", request=[good, bad])
    assert placed["retCode"] == 0
    first, second = placed["result"]["list"]
    assert (first["category"], first["symbol"], first["orderLinkId"]) == (
        "linear",
        "BTCUSDT",
        "batch-1",
    )
    assert first["orderId"]
    assert first["createAt"].isdigit()
    assert (second["orderId"], second["orderLinkId"], second["createAt"]) == ("", "batch-2", "")
    codes = placed["retExtInfo"]["list"]
    assert codes[0] == {"code": 0, "msg": "OK"}
    assert codes[1]["code"] == 10001
    assert isinstance(codes[1]["msg"], str)

    new_price = far_bid(http, "", 0.85)["price"]
    amended = http.amend_batch_order(
        category="linear",
        request=[
            {"symbol": "BTCUSDT", "orderLinkId": "batch-1", "price": new_price},
            {"symbol": "BTCUSDT", "orderLinkId": "no-such-order", "price": new_price},
        ],
    )
    assert [s["code"] for s in amended["retExtInfo"]["list"]] == [0, 110001]
    assert amended["result"]["list"][0]["orderId"] == first["orderId"]
    order = http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="batch-1")
    assert Decimal(order["result"]["list"][0]["price"]) == Decimal(new_price)

    cancelled = http.cancel_batch_order(
        category="linear",
        request=[
            {"symbol": "BTCUSDT", "orderId": first["orderId"]},
            {"symbol": "BTCUSDT", "orderLinkId": "batch-1"},  # gone by now
        ],
    )
    assert [s["code"] for s in cancelled["retExtInfo"]["list"]] == [0, 110001]
    assert cancelled["result"]["list"][1] == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "orderId": "",
        "orderLinkId": "batch-1",
    }
    assert http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"] == []


def test_a_batch_over_twenty_orders_is_refused_whole(http: unified_trading.HTTP) -> None:
    request = [far_bid(http, f"big-{i}") for i in range(21)]
    with pytest.raises(InvalidRequestError, match="10001"):
        http.place_batch_order(category="linear", request=request)


def test_closed_pnl_of_a_round_trip_is_the_wallet_change_and_each_fill_is_logged(
    http: unified_trading.HTTP,
) -> None:
    before = wallet(http)
    opened = http.place_order(
        category="linear", symbol="ETHUSDT", side="Buy", orderType="Market", qty="0.5"
    )["result"]["orderId"]
    size = http.get_positions(category="linear", symbol="ETHUSDT")["result"]["list"][0]["size"]
    closed = http.place_order(
        category="linear",
        symbol="ETHUSDT",
        side="Sell",
        orderType="Market",
        qty=size,
        reduceOnly=True,
    )["result"]["orderId"]
    after = wallet(http)

    rows = http.get_closed_pnl(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert [r["orderId"] for r in rows] == [closed]
    row = rows[0]
    assert all(isinstance(v, str) for v in row.values())
    assert (row["side"], row["closedSize"], row["execType"]) == ("Sell", size, "Trade")
    assert (row["leverage"], row["fillCount"], row["qty"]) == ("10", "1", size)
    gross = Decimal(row["cumExitValue"]) - Decimal(row["cumEntryValue"])
    fees = Decimal(row["openFee"]) + Decimal(row["closeFee"])
    assert Decimal(row["closedPnl"]) == gross - fees == after - before

    fills = http.get_executions(category="linear", symbol="ETHUSDT")["result"]["list"]
    log = http.get_transaction_log(accountType="UNIFIED", category="linear", currency="USDT")
    trades = [t for t in log["result"]["list"] if t["symbol"] == "ETHUSDT"]
    assert sorted(t["tradeId"] for t in trades) == sorted(f["execId"] for f in fills)
    by_id = {t["tradeId"]: t for t in trades}
    for f in fills:
        t = by_id[f["execId"]]
        assert (t["type"], t["orderId"], t["qty"]) == ("TRADE", f["orderId"], f["execQty"])
        assert Decimal(t["fee"]) == Decimal(f["execFee"])
    assert {t["orderId"] for t in trades} == {opened, closed}
    assert sum(Decimal(t["change"]) for t in trades) == after - before
    assert Decimal(trades[0]["cashBalance"]) == after  # newest first
    assert trades[0]["size"] == "0.00"


def test_fee_rate_risk_limit_funding_open_interest_and_mark_klines(
    http: unified_trading.HTTP,
) -> None:
    fees = http.get_fee_rates(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert fees == [{"symbol": "BTCUSDT", "takerFeeRate": "0.00055", "makerFeeRate": "0.0002"}]
    risk = http.get_risk_limit(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (risk["id"], risk["isLowestRisk"], risk["riskLimitValue"]) == (1, 1, "2000000")
    position = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert position["riskLimitValue"] == risk["riskLimitValue"]

    funding = http.get_funding_rate_history(category="linear", symbol="BTCUSDT", limit=3)
    stamps = [int(r["fundingRateTimestamp"]) for r in funding["result"]["list"]]
    assert stamps == sorted(stamps, reverse=True)
    assert len(stamps) == 3
    assert {s % (8 * 3_600_000) for s in stamps} == {0}
    assert {r["fundingRate"] for r in funding["result"]["list"]} == {"0.0001"}

    oi = http.get_open_interest(category="linear", symbol="BTCUSDT", intervalTime="1h", limit=5)
    rows = oi["result"]["list"]
    assert len(rows) == 5
    assert oi["result"]["nextPageCursor"]
    assert all(Decimal(r["openInterest"]) > 0 for r in rows)
    assert [int(r["timestamp"]) % 3_600_000 for r in rows] == [0] * 5

    klines = http.get_mark_price_kline(category="linear", symbol="BTCUSDT", interval="1", limit=3)
    candles = klines["result"]["list"]
    assert len(candles) == 3
    assert all(len(c) == 5 for c in candles)
    for _start, o, h, lo, c in candles:
        assert Decimal(lo) <= min(Decimal(o), Decimal(c)) <= max(Decimal(o), Decimal(c))
        assert max(Decimal(o), Decimal(c)) <= Decimal(h)


def test_position_mode_is_one_way_only_and_margin_is_cross_only(
    http: unified_trading.HTTP,
) -> None:
    with pytest.raises(InvalidRequestError, match="110029"):
        http.switch_position_mode(category="linear", symbol="BTCUSDT", mode=3)
    with pytest.raises(InvalidRequestError, match="110025"):
        http.switch_position_mode(category="linear", coin="USDT", mode=0)
    with pytest.raises(InvalidRequestError, match="3400045"):
        http.set_margin_mode(setMarginMode="ISOLATED_MARGIN")
    answer = http.set_margin_mode(setMarginMode="REGULAR_MARGIN")
    assert (answer["retCode"], answer["result"]) == (0, {"reasons": []})


def test_a_batch_item_with_a_field_the_venue_cannot_honour_is_refused_alone(
    http: unified_trading.HTTP,
) -> None:
    good = far_bid(http, "field-1")
    smp = far_bid(http, "field-2") | {"smpType": "CancelMaker"}
    placed = http.place_batch_order(category="linear", request=[good, smp])
    assert [s["code"] for s in placed["retExtInfo"]["list"]] == [0, 10001]
    http.cancel_batch_order(
        category="linear", request=[{"symbol": "BTCUSDT", "orderLinkId": "field-1"}]
    )
