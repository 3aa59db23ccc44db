"""Simulator benchmarks: order round trip through the project's REST client, public throughput,
and the venue core's order and recorded-event rates without HTTP.

For the first two the simulator runs as its own process (python -m services.simulator) on a
free loopback port, as in paper mode; the client runs here. The core rates drive
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
from services.simulator.replay_file import read_lines
from services.simulator.venue import (
    DepthUpdate,
    ExchangeConfig,
    RecordedEvent,
    Venue,
    recorded_events,
)
from shared.bybit import wire
from shared.bybit.rest import BybitRest
from shared.settings import REPO_ROOT

Result = dict[str, Any]
API_KEY, API_SECRET = "benchkey", "bench-secret-not-real"
# 10 s of real ETHUSDT (tests/fixtures/replay/SOURCES.md): benches read only the project
RECORDING = REPO_ROOT / "tests" / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
_REQUOTE_EVERY = 500  # events between checks that both resting orders are still there


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


def _requote(venue: Venue) -> int:
    """Place again, at the best bid / ask, the resting order of each side that is gone."""
    open_sides = {o.side for o in venue.orders("bench", symbol="ETHUSDT")}
    bids, asks = venue.book_top("ETHUSDT", 1)
    placed = 0
    for side, levels in (("Buy", bids), ("Sell", asks)):
        if side not in open_sides and levels:
            request = wire.OrderCreateRequest(
                symbol="ETHUSDT",
                side=side,
                order_type="Limit",
                qty="0.05",
                price=str(levels[0][0]),
                time_in_force="PostOnly",
            )
            venue.submit("bench", request, venue.now_ms)
            placed += 1
    venue.drain_reports()
    return placed


def _recorded_events_per_s(passes: int, *, deepest_book_only: bool = False) -> tuple[float, Result]:
    """Recorded events through `Venue.on_market` (market_source "recorded"), per second.

    The replay fixture (10 s of real ETHUSDT), decoded once up front (not timed), goes
    through the venue `passes` times; each pass starts with the recording's book snapshot.
    One resting order per side (0.05 ETH, PostOnly at the best price): every
    `_REQUOTE_EVERY` events the sides that filled are placed again (timed: a backtest does
    the same), so the queue model and the fills run all along. Four in five of the
    recording's events are `orderbook.1` frames, which the ladder (following
    `orderbook.500`) skips cheaply; `deepest_book_only` leaves them out before timing.
    """
    start_ms = 1_723_161_000_000
    venue = Venue(
        ExchangeConfig(seed=7, symbols=("ETHUSDT",), history_minutes=60, market_source="recorded"),
        start_ms,
    )
    events: list[RecordedEvent] = [
        event
        for event in recorded_events(read_lines(RECORDING), venue.grids())
        if not (deepest_book_only and isinstance(event, DepthUpdate) and event.depth == 1)
    ]
    depth = sum(1 for e in events if isinstance(e, DepthUpdate))
    placed = 0
    started = time.perf_counter()
    for _ in range(passes):
        for i, event in enumerate(events):
            venue.on_market(event)
            if i % _REQUOTE_EVERY == 0:
                placed += _requote(venue)
    elapsed = time.perf_counter() - started
    mix = {
        "events_per_pass": len(events),
        "depth_updates": depth,
        "trades": len(events) - depth,
        "book_updates_skipped": venue.recorded_skips(),
        "orders_placed": placed,
    }
    return passes * len(events) / elapsed, mix


def run(quick: bool) -> Iterator[Result]:
    passes = 3 if quick else 30
    rate, mix = _recorded_events_per_s(passes)
    deep_rate, _ = _recorded_events_per_s(passes, deepest_book_only=True)
    yield {
        "name": "simulator.recorded_events_per_s",
        "value": round(rate),
        "unit": "events/s",
        "samples": passes * mix["events_per_pass"],
        "mix": mix,
        "orderbook_500_and_trades_only_per_s": round(deep_rate),
        "note": "recorded ETHUSDT book updates and trades through Venue.on_market, decoded "
        "up front, one resting order a side (target of backtest.core_events_per_s: 1,000,000)",
    }
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
