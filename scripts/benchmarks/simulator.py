"""Simulator benchmarks: order round trip through the project's REST client, public throughput,
and the venue core's order rate without HTTP.

For the first two the simulator runs as its own process (python -m services.simulator) on a
free loopback port, as in paper mode; the client runs here. The core rate drives
`services.simulator.venue.Venue` in this process, as a backtest will.
"""

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import aiohttp

from scripts.control import answers, free_port
from services.simulator.venue import ExchangeConfig, Venue
from shared.bybit import wire
from shared.bybit.rest import BybitRest
from shared.settings import REPO_ROOT

Result = dict[str, Any]
API_KEY, API_SECRET = "benchkey", "bench-secret-not-real"


@contextlib.contextmanager
def simulator_process(*extra: str) -> Iterator[str]:
    port = free_port()
    run_dir = tempfile.mkdtemp(prefix="bench-sim-")
    env = {
        **os.environ,
        "BYBIT_API_KEY": API_KEY,
        "BYBIT_API_SECRET": API_SECRET,
        "TRADING_RUN_DIR": run_dir,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.simulator", "--port", str(port), *extra],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not answers(f"{url}/v5/market/time"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)  # polling a child process's start-up
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def _order_roundtrips(url: str, count: int) -> list[int]:
    rest = BybitRest(url, api_key=API_KEY, api_secret=API_SECRET)
    try:
        await rest.sync_time()
        bid = (await rest.orderbook("BTCUSDT", 1)).b[0][0]
        price = str((bid * Decimal("0.8")).quantize(Decimal("0.1")))  # rests, never fills
        samples = []
        for i in range(count):
            request = wire.OrderCreateRequest(
                symbol="BTCUSDT",
                side="Buy",
                order_type="Limit",
                qty="0.001",
                price=price,
                order_link_id=f"bench-{i}",
            )
            started = time.perf_counter_ns()
            await rest.create_order(request)
            samples.append(time.perf_counter_ns() - started)
            if i % 200 == 199:
                await rest.cancel_all(wire.CancelAllRequest(symbol="BTCUSDT"))
        await rest.cancel_all(wire.CancelAllRequest(symbol="BTCUSDT"))
        return samples
    finally:
        await rest.close()


async def _public_rate(url: str, clients: int, seconds: float) -> float:
    ws_url = url.replace("http://", "ws://") + "/v5/public/linear"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/v5/market/tickers?category=linear") as response:
            symbols = [t["symbol"] for t in (await response.json())["result"]["list"]]
        topics = [
            f"{kind}.{s}" for s in symbols for kind in ("orderbook.50", "publicTrade", "tickers")
        ]
        sockets = [await session.ws_connect(ws_url, max_msg_size=0) for _ in range(clients)]
        for ws in sockets:
            await ws.send_json({"op": "subscribe", "args": topics})
        counts = [0] * clients

        async def count(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for _ in ws:
                counts[i] += 1

        tasks = [asyncio.create_task(count(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(1.0)  # warm-up: snapshots and the first deltas
        before, started = sum(counts), time.perf_counter()
        await asyncio.sleep(seconds)  # the measurement window
        rate = (sum(counts) - before) / (time.perf_counter() - started)
        for task in tasks:
            task.cancel()
        for ws in sockets:
            await ws.close()
        return rate


def _core_orders_per_s(count: int) -> float:
    """Market orders created, matched and reported through the pure core, per second.

    No price process (`market_source="recorded-tops"`: the market stands still) so that every
    order's cost is its own: checks, a match against the book (one or more fills), the
    booking of each fill and the reports (execution, order, position, wallet), drained after
    every order. Buys and sells alternate, 100 ms apart, so the position stays small and
    the rate does not depend on how long the run is.
    """
    start_ms = 1_780_000_000_000
    venue = Venue(
        ExchangeConfig(
            seed=7,
            symbols=("BTCUSDT",),
            market_source="recorded-tops",
            history_minutes=60,
        ),
        start_ms,
    )
    orders = [
        wire.OrderCreateRequest(symbol="BTCUSDT", side=side, order_type="Market", qty="0.010")
        for side in ("Buy", "Sell")
    ]
    reports = 0
    started = time.perf_counter()
    for i in range(count):
        venue.submit("bench", orders[i % 2], start_ms + 100 * (i + 1))
        reports += len(venue.drain_reports())
    elapsed = time.perf_counter() - started
    if reports < 4 * count:
        raise RuntimeError(f"the core reported {reports} events for {count} orders")
    return count / elapsed


def run(quick: bool) -> Iterator[Result]:
    count = 5_000 if quick else 50_000
    yield {
        "name": "simulator.core_orders_per_s",
        "value": round(_core_orders_per_s(count)),
        "unit": "orders/s",
        "samples": count,
        "note": "Market orders created, matched and reported by the venue core, no HTTP",
    }
    with simulator_process("--no-rate-limits", "--symbols", "BTCUSDT,ETHUSDT") as url:
        samples = asyncio.run(_order_roundtrips(url, 200 if quick else 1000))
    p50 = statistics.median(samples) / 1000
    p99 = sorted(samples)[int(len(samples) * 0.99) - 1] / 1000
    yield {
        "name": "simulator.order_roundtrip_p50_us",
        "value": round(p50, 1),
        "unit": "us",
        "samples": len(samples),
    }
    yield {"name": "simulator.order_roundtrip_p99_us", "value": round(p99, 1), "unit": "us"}
    with simulator_process("--step-ms", "10") as url:
        rate = asyncio.run(_public_rate(url, clients=16, seconds=2.0 if quick else 5.0))
    yield {
        "name": "simulator.md_msgs_per_s",
        "value": round(rate),
        "unit": "msg/s",
        "note": "every symbol's orderbook.50, publicTrade and tickers to 16 clients, step 10 ms",
    }
