"""ccxt 4.5 (REST and ccxt.pro), default options, pointed at the simulator: it trades there.

Only the URLs change: ccxt's `urls['api']` REST entries (public, private) and its websocket
entries for linear (public linear, private contract). Every wait is bounded.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT:USDT"
WAIT_S = 10.0
T = TypeVar("T")
Exchange = TypeVar("Exchange", ccxt_async.bybit, ccxt_pro.bybit)


def pointed_at(exchange: Exchange, sim: Sim) -> Exchange:
    """Point ccxt's Bybit at the simulator: its REST hosts and its linear websocket URLs."""
    api = exchange.urls["api"]
    api["public"] = api["private"] = sim.url
    if "ws" in api:
        api["ws"]["public"]["linear"] = f"{sim.ws_url}/v5/public/linear"
        api["ws"]["private"]["contract"] = f"{sim.ws_url}/v5/private"
    return exchange


async def bounded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, WAIT_S)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as running:
        yield running


@pytest.fixture
async def rest(sim: Sim) -> AsyncIterator[ccxt_async.bybit]:
    exchange = pointed_at(ccxt_async.bybit({"apiKey": API_KEY, "secret": API_SECRET}), sim)
    try:
        yield exchange
    finally:
        await exchange.close()


@pytest.fixture
async def pro(sim: Sim) -> AsyncIterator[ccxt_pro.bybit]:
    exchange = pointed_at(ccxt_pro.bybit({"apiKey": API_KEY, "secret": API_SECRET}), sim)
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_ccxt_reads_the_market(rest: ccxt_async.bybit) -> None:
    markets = await bounded(rest.load_markets())
    assert {SYMBOL, "ETH/USDT:USDT"} <= set(markets)
    assert markets[SYMBOL]["linear"]
    assert markets[SYMBOL]["swap"]
    ticker = await bounded(rest.fetch_ticker(SYMBOL))
    assert ticker["bid"] < ticker["ask"]
    assert (await bounded(rest.fetch_status()))["status"] == "ok"
    assert abs(await bounded(rest.fetch_time()) - rest.milliseconds()) < 5_000
    book = await bounded(rest.fetch_order_book(SYMBOL, limit=50))
    assert book["bids"][0][0] < book["asks"][0][0]
    assert len(book["bids"]) == 50


async def test_ccxt_backfills_the_asked_candle_window(rest: ccxt_async.bybit) -> None:
    await bounded(rest.load_markets())
    minute = 60_000
    since = (rest.milliseconds() // minute - 180) * minute  # three hours back, on a minute
    candles = await bounded(rest.fetch_ohlcv(SYMBOL, "1m", since=since, limit=10))
    assert [c[0] for c in candles] == [since + i * minute for i in range(10)]
    hourly = await bounded(rest.fetch_ohlcv(SYMBOL, "1h", since=since, limit=2))
    first_hour = -(-since // (60 * minute)) * 60 * minute  # ccxt asks from the next full hour
    assert [c[0] for c in hourly] == [first_hour, first_hour + 60 * minute]


async def test_ccxt_trades_and_reads_its_account(rest: ccxt_async.bybit) -> None:
    await bounded(rest.load_markets())
    balance = await bounded(rest.fetch_balance())
    assert balance["USDT"]["total"] > 0
    await bounded(rest.set_leverage(7, SYMBOL))
    bid = (await bounded(rest.fetch_ticker(SYMBOL)))["bid"]
    price = float(rest.price_to_precision(SYMBOL, bid * 0.95))
    resting = await bounded(
        rest.create_order(SYMBOL, "limit", "buy", 0.01, price, {"postOnly": True})
    )
    open_orders = await bounded(rest.fetch_open_orders(SYMBOL))
    assert [o["id"] for o in open_orders] == [resting["id"]]
    assert open_orders[0]["postOnly"] is True
    assert open_orders[0]["price"] == price
    fetched = await bounded(rest.fetch_order(resting["id"], SYMBOL, {"acknowledged": True}))
    assert fetched["status"] == "open"
    await bounded(rest.cancel_order(resting["id"], SYMBOL))
    assert await bounded(rest.fetch_open_orders(SYMBOL)) == []

    bought = await bounded(rest.create_order(SYMBOL, "market", "buy", 0.01))
    positions = await bounded(rest.fetch_positions([SYMBOL]))
    assert [(p["side"], p["contracts"], p["leverage"]) for p in positions] == [("long", 0.01, 7)]
    trades = await bounded(rest.fetch_my_trades(SYMBOL))
    assert [t["order"] for t in trades] == [bought["id"]] * len(trades)
    assert sum(t["amount"] for t in trades) == pytest.approx(0.01)


async def test_ccxt_pro_watches_the_public_streams(pro: ccxt_pro.bybit) -> None:
    await bounded(pro.load_markets())
    book = await bounded(pro.watch_order_book(SYMBOL))
    assert book["bids"][0][0] < book["asks"][0][0]
    trades = await bounded(pro.watch_trades(SYMBOL))
    assert trades
    assert all(t["symbol"] == SYMBOL for t in trades)
    ticker = await bounded(pro.watch_ticker(SYMBOL))
    assert ticker["symbol"] == SYMBOL
    assert ticker["last"] > 0
    candles = await bounded(pro.watch_ohlcv(SYMBOL, "1m"))
    minute = 60_000
    assert candles[-1][0] % minute == 0
    assert 0 <= pro.milliseconds() - candles[-1][0] < 2 * minute  # the current candle


async def _subscribed(sim: Sim, topic: str) -> bool:
    return any(topic in c.topics for c in sim.service.private.registry.connections)


async def _watch_after_order(
    sim: Sim,
    pro: ccxt_pro.bybit,
    watches: dict[str, tuple[str, Callable[[], Awaitable[Any]]]],
) -> dict[str, Any]:
    """Start each watch, wait until the venue has its topic, place a market order, and
    return what each watch received."""
    tasks = {name: asyncio.create_task(bounded(watch())) for name, (_, watch) in watches.items()}
    try:
        for topic, _ in watches.values():
            await eventually(lambda t=topic: _subscribed(sim, t), timeout_s=WAIT_S)
        order = await bounded(pro.create_order(SYMBOL, "market", "buy", 0.01))
        received = {name: await task for name, task in tasks.items()}
    finally:
        for task in tasks.values():
            task.cancel()
    return {"order": order, **received}


async def test_ccxt_pro_watches_its_orders_trades_positions_and_balance(
    sim: Sim, pro: ccxt_pro.bybit
) -> None:
    await bounded(pro.load_markets())
    assert await bounded(pro.watch_positions()) == []  # ccxt's REST snapshot comes first
    got = await _watch_after_order(
        sim,
        pro,
        {
            "orders": ("order", lambda: pro.watch_orders(SYMBOL)),
            "trades": ("execution", lambda: pro.watch_my_trades(SYMBOL)),
            "positions": ("position", lambda: pro.watch_positions([SYMBOL])),
            "balance": ("wallet", pro.watch_balance),
        },
    )
    order_id = got["order"]["id"]
    assert [(o["id"], o["status"]) for o in got["orders"]] == [(order_id, "closed")]
    assert {t["order"] for t in got["trades"]} == {order_id}
    assert [(p["symbol"], p["side"], p["contracts"]) for p in got["positions"]] == [
        (SYMBOL, "long", 0.01)
    ]
    assert 0 < got["balance"]["USDT"]["free"] < got["balance"]["USDT"]["total"]
