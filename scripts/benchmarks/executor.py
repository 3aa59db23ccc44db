"""Executor benchmarks: command received to create request written, and orders per second.

The executor runs in this process (as in production: one asyncio loop) against the
simulator as its own process on loopback, without Bybit's per-endpoint rate limits (they
cap creates at 10/s). A fake strategy pushes market IOC orders of 0.001 BTC, alternating
buy and sell, and waits for each OrderAccepted. cmd_to_send is OrderAccepted's
ts_request_sent_ns (after risk checks, journal commit and signing: when the request's last
bytes are written to the connection) minus the command's receive time at the executor.
Measured once per journal durability setting: the default (NORMAL, in ExecutorSettings and
deploy/settings.toml) under the plain names, then FULL under names ending in `_full`.
"""

import asyncio
import contextlib
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from scripts.benchmarks.simulator import API_KEY, API_SECRET, simulator_process
from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from shared.bus import BusNode, Receiver, Sender, Signer
from shared.order_ids import client_order_id
from shared.runtime.bootstrap import ServiceContext, Venue
from shared.runtime.clock import LiveClock
from shared.schema import (
    OrderAccepted,
    OrderDenied,
    OrderRejected,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)
from shared.settings import BusSettings, BybitSettings, Endpoints, Mode, Secrets, SystemSettings

Result = dict[str, Any]
NS_PER_S = 1_000_000_000
DEFAULT_SYNCHRONOUS = ExecutorSettings(metrics_port=0).journal_synchronous


@contextlib.asynccontextmanager
async def _executor(url: str, synchronous: str) -> AsyncIterator[tuple[Sender, Receiver]]:
    directory = Path(tempfile.mkdtemp(prefix="bench-exec-", dir="/tmp"))  # mode 0700
    endpoints = Endpoints(**{f: f"ipc://{directory}/{f}" for f in Endpoints.__struct_fields__})
    bus = BusSettings(endpoints=endpoints, heartbeat_interval_ms=200)
    clock = LiveClock()
    node = BusNode("executor", bus, signer=Signer(None), clock=clock)
    strategy = BusNode("strategy", bus, signer=Signer(None), clock=clock)
    ws = url.replace("http://", "ws://")
    context = ServiceContext(
        name="executor",
        system=SystemSettings(),
        bus=bus,
        endpoints=endpoints,
        bybit=BybitSettings(),
        venue=Venue(Mode.PAPER, url, f"{ws}/v5/public/linear", f"{ws}/v5/private"),
        secrets=Secrets(bybit_api_key=API_KEY, bybit_api_secret=API_SECRET),
        clock=clock,
        node=node,
        run_dir=directory,
        registry=CollectorRegistry(),
    )
    settings = ExecutorSettings(
        metrics_port=0,
        journal_synchronous=synchronous,  # type: ignore[arg-type]
        max_orders_per_minute=1_000_000,
        max_open_orders=1_000,
        max_position_notional_usdt=1_000_000.0,
        price_max_age_s=3_600.0,  # no feed here: the price of the first ticker call is kept
        dead_man_after_s=3_600.0,  # market orders never work for long; no heartbeats here
    )
    executor = ExecutorService(settings, context)
    events = strategy.subscriber([endpoints.execution_events], ["exec.order."])
    commands = strategy.command_sender(endpoints.order_commands)
    try:
        async with contextlib.AsyncExitStack() as stack:
            await executor.start(stack)
            task = asyncio.create_task(executor.run())
            # Polling the start-up (not a measurement): reconciled, and heard by our SUB.
            while executor.state is not TradingState.ACTIVE or not strategy.liveness.is_alive(
                "executor", clock.now_ns()
            ):
                if task.done():
                    task.result()
                events.drain()
                await asyncio.sleep(0.01)
            try:
                yield commands, events
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        strategy.close()
        shutil.rmtree(directory, ignore_errors=True)


def _order(seq: int) -> SubmitOrder:
    now = time.time_ns()
    return SubmitOrder(
        client_order_id=client_order_id("bench", 1, now + seq),
        strategy_id="bench",
        epoch=1,
        symbol=Symbol("BTCUSDT"),
        side=OrderSide.BUY if seq % 2 else OrderSide.SELL,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        qty=Decimal("0.001"),
        ts_created_ns=now,
        expires_at_ns=now + 60 * NS_PER_S,
        ts_trigger_recv_ns=0,  # 0: the executor stamps the command's receive time
        ts_trigger_event_ns=0,
    )


async def _accepted(events: Receiver, count: int, timeout_s: float = 30.0) -> list[OrderAccepted]:
    """Wait for `count` OrderAccepted; a denial, a rejection or silence ends the bench."""
    accepted: list[OrderAccepted] = []
    deadline = time.monotonic() + timeout_s
    while len(accepted) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(accepted)} of {count} orders accepted in {timeout_s} s")
        await events.wait(1.0)
        for delivery in events.drain(10_000):
            message = delivery.message
            if isinstance(message, OrderAccepted):
                accepted.append(message)
            elif isinstance(message, OrderDenied | OrderRejected):
                raise RuntimeError(f"an order was not accepted: {message}")
    return accepted


async def _first_send(commands: Sender, order: SubmitOrder) -> None:
    deadline = time.monotonic() + 10
    while not commands.send(order):  # until the PUSH socket has connected (start-up only)
        if time.monotonic() > deadline:
            raise RuntimeError("the executor's command socket did not connect")
        await asyncio.sleep(0.01)


async def _measure(url: str, synchronous: str, count: int) -> tuple[list[int], float]:
    async with _executor(url, synchronous) as (commands, events):
        await _first_send(commands, _order(0))
        await _accepted(events, 1)
        for seq in range(1, 20):  # warm-up: connections, ticker price, code paths
            commands.send(_order(seq))
            await _accepted(events, 1)
        samples = []
        for seq in range(count):
            commands.send(_order(seq))
            (accepted,) = await _accepted(events, 1)
            samples.append(accepted.ts_request_sent_ns - accepted.ts_trigger_recv_ns)
        started = time.perf_counter()
        for seq in range(count):
            commands.send(_order(seq + count))
        await _accepted(events, count)
        rate = count / (time.perf_counter() - started)
    return samples, rate


def _commit_us(synchronous: str, count: int) -> list[float]:
    """One-row commits to a SQLite WAL file in /tmp, as the journal commits an intent.

    The floor under cmd_to_send for each durability setting: with FULL, the fsync of the
    disk this runs on.
    """
    directory = Path(tempfile.mkdtemp(prefix="bench-commit-", dir="/tmp"))
    try:
        with contextlib.closing(sqlite3.connect(directory / "commit.sqlite")) as db:
            db.isolation_level = None  # explicit BEGIN/COMMIT, as the journal does
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={synchronous}")
            db.execute("CREATE TABLE intents (id INTEGER PRIMARY KEY, command TEXT NOT NULL)")
            row = "x" * 400  # about an encoded SubmitOrder
            took = []
            for _ in range(count):
                started = time.perf_counter_ns()
                db.execute("BEGIN")
                db.execute("INSERT INTO intents (command) VALUES (?)", (row,))
                db.execute("COMMIT")
                took.append((time.perf_counter_ns() - started) / 1000)
        return took
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _durable_write_us(count: int) -> list[float]:
    """512-byte O_DSYNC writes in /tmp: the cheapest power-loss-safe write of this disk."""
    directory = Path(tempfile.mkdtemp(prefix="bench-dsync-", dir="/tmp"))
    fd = os.open(directory / "dsync.bin", os.O_WRONLY | os.O_CREAT | os.O_DSYNC, 0o600)
    try:
        os.pwrite(fd, bytes(4096 * count), 0)  # allocated first: no metadata in the writes
        took = []
        for i in range(count):
            started = time.perf_counter_ns()
            os.pwrite(fd, b"i" * 512, i * 4096)
            took.append((time.perf_counter_ns() - started) / 1000)
        return took
    finally:
        os.close(fd)
        shutil.rmtree(directory, ignore_errors=True)


def run(quick: bool) -> Iterator[Result]:
    count = 200 if quick else 1_000
    with simulator_process("--no-rate-limits", "--symbols", "BTCUSDT") as url:
        for synchronous in sorted(("FULL", "NORMAL"), key=lambda s: s != DEFAULT_SYNCHRONOUS):
            print(f"bench: executor journal synchronous={synchronous}", file=sys.stderr)
            samples, rate = asyncio.run(_measure(url, synchronous, count))
            samples.sort()
            suffix = "" if synchronous == DEFAULT_SYNCHRONOUS else f"_{synchronous.lower()}"
            default = " (the default)" if synchronous == DEFAULT_SYNCHRONOUS else ""
            note = f"journal synchronous={synchronous}{default}"
            yield {
                "name": f"executor.cmd_to_send_p50_us{suffix}",
                "value": round(statistics.median(samples) / 1000, 1),
                "unit": "us",
                "samples": len(samples),
                "note": note,
            }
            yield {
                "name": f"executor.cmd_to_send_p99_us{suffix}",
                "value": round(samples[int(len(samples) * 0.99) - 1] / 1000, 1),
                "unit": "us",
                "note": note,
            }
            yield {
                "name": f"executor.orders_per_s{suffix}",
                "value": round(rate),
                "unit": "orders/s",
                "note": f"{note}; market IOC, each accepted (ack) before the next is sent",
            }
            commits = _commit_us(synchronous, 200 if quick else 1_000)
            yield {
                "name": f"executor.journal_commit_p50_us{suffix}",
                "value": round(statistics.median(commits), 1),
                "unit": "us",
                "samples": len(commits),
                "note": f"{note}; one-row SQLite WAL commit, the floor under cmd_to_send",
            }
    writes = _durable_write_us(200 if quick else 1_000)
    yield {
        "name": "executor.durable_write_p50_us",
        "value": round(statistics.median(writes), 1),
        "unit": "us",
        "samples": len(writes),
        "note": "512-byte O_DSYNC write: what any power-loss-safe intent costs on this disk",
    }
