"""The project's Bybit client layer against the real simulator over loopback."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shared.bybit import wire
from shared.bybit.errors import RateLimited, VenueError
from shared.bybit.rest import BybitRest, RetryPolicy
from shared.bybit.stream import BybitStream, StreamConnected, StreamFrame
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def _client(sim: Sim, **kwargs: Any) -> AsyncIterator[BybitRest]:
    rest = BybitRest(sim.url, api_key=API_KEY, api_secret=API_SECRET, timeout_s=2.0, **kwargs)
    try:
        await rest.sync_time()
        yield rest
    finally:
        await rest.close()


@pytest.fixture
async def sim() -> Any:
    async with running_simulator() as running:
        yield running


async def test_market_data_and_instrument_paging(sim: Sim) -> None:
    async with _client(sim) as rest:
        instruments = await rest.instruments()
        tickers = await rest.tickers()
        book = await rest.orderbook("BTCUSDT", 50)
    assert len(instruments) >= 30
    assert {i.symbol for i in instruments} == {t.symbol for t in tickers}
    assert len({t.last_price for t in tickers}) == len(tickers)
    assert book.b[0][0] < book.a[0][0]


async def test_instruments_page_with_a_cursor(sim: Sim) -> None:
    first = await sim.get("/v5/market/instruments-info", {"category": "linear", "limit": "10"})
    assert len(first["result"]["list"]) == 10
    cursor = first["result"]["nextPageCursor"]
    second = await sim.get(
        "/v5/market/instruments-info", {"category": "linear", "limit": "10", "cursor": cursor}
    )
    assert not {i["symbol"] for i in first["result"]["list"]} & {
        i["symbol"] for i in second["result"]["list"]
    }


async def test_order_lifecycle_through_the_client(sim: Sim) -> None:
    async with _client(sim) as rest:
        bid = (await rest.orderbook("BTCUSDT", 1)).b[0][0]
        price = str((bid * Decimal("0.9")).quantize(Decimal("0.1")))
        request = wire.OrderCreateRequest(
            symbol="BTCUSDT",
            side="Buy",
            order_type="Limit",
            qty="0.01",
            price=price,
            time_in_force="GTC",
            order_link_id="client-1",
        )
        ids = await rest.create_order(request)
        with pytest.raises(VenueError) as duplicate:
            await rest.create_order(request)
        await rest.amend_order(
            wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="client-1", qty="0.02")
        )
        (order,) = await rest.open_orders(symbol="BTCUSDT", order_link_id="client-1")
        await rest.cancel_order(wire.OrderCancelRequest(symbol="BTCUSDT", order_id=ids.order_id))
        with pytest.raises(VenueError) as unknown:
            await rest.cancel_order(
                wire.OrderCancelRequest(symbol="BTCUSDT", order_id=ids.order_id)
            )
        wallet = await rest.wallet_balance()
    assert duplicate.value.ret_code == 110072
    assert order.qty == Decimal("0.02")
    assert unknown.value.ret_code == 110001
    assert wallet.coin[0].coin == "USDT"


async def test_rate_limit_storm_is_retried_then_reported(sim: Sim) -> None:
    await sim.set_faults(rate_limit_storm=True)
    async with _client(
        sim, retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.02)
    ) as rest:
        with pytest.raises(RateLimited):
            await rest.positions(symbol="BTCUSDT")
        assert rest.stats.retries >= 1


async def test_public_stream_resubscribes_after_a_disconnect(sim: Sim) -> None:
    stream = BybitStream(f"{sim.ws_url}/v5/public/linear", ping_interval_s=1.0)
    connects = 0
    books: list[wire.OrderBookMessage] = []

    async def consume() -> None:
        nonlocal connects
        async for event in stream.run():
            if isinstance(event, StreamConnected):
                connects += 1
            elif isinstance(event, StreamFrame):
                books.append(msgspec.json.decode(event.data, type=wire.OrderBookMessage))

    consumer = asyncio.create_task(consume())
    try:
        await stream.subscribe(["orderbook.50.BTCUSDT"])
        await eventually(lambda: any(b.type == "snapshot" for b in books))
        async with sim.session.post(f"{sim.url}/admin/disconnect"):
            pass
        await eventually(
            lambda: connects == 2 and sum(b.type == "snapshot" for b in books) == 2, timeout_s=10
        )
    finally:
        await stream.close()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer


async def test_private_stream_authenticates_and_sees_fills(sim: Sim) -> None:
    stream = BybitStream(
        f"{sim.ws_url}/v5/private", api_key=API_KEY, api_secret=API_SECRET, ping_interval_s=1.0
    )
    topics: list[str] = []
    connected = asyncio.Event()

    async def consume() -> None:
        async for event in stream.run():
            if isinstance(event, StreamConnected):
                connected.set()  # authenticated and subscribed
            elif isinstance(event, StreamFrame):
                topics.append(msgspec.json.decode(event.data, type=wire.TopicProbe).topic or "")

    consumer = asyncio.create_task(consume())
    try:
        await stream.subscribe(["order", "execution", "position", "wallet"])
        await asyncio.wait_for(connected.wait(), timeout=5)
        async with _client(sim) as rest:
            await rest.create_order(
                wire.OrderCreateRequest(
                    symbol="ETHUSDT", side="Buy", order_type="Market", qty="0.1"
                )
            )
        await eventually(lambda: {"order", "execution", "position", "wallet"} <= set(topics))
    finally:
        await stream.close()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
