"""Executor benchmarks: command received to create request written, and orders per second.

The executor runs in this process (as in production: one asyncio loop) against the
simulator as its own process on loopback, without Bybit's per-endpoint rate limits (they
cap creates at 10/s). A fake strategy pushes market IOC orders of 0.001 BTC, alternating
buy and sell, and waits for each OrderAccepted. cmd_to_send is OrderAccepted's
ts_request_sent_ns (after risk checks, journal commit and signing: when the request's last
bytes are written to the connection) minus the command's receive time at the executor.
Measured once per journal durability setting: the default (NORMAL, in ExecutorSettings and
deploy/settings.toml) under the plain names, then FULL under names ending in `_full`:
one order at a time (cmd_to_send p50/p99, orders_per_s), then all at once
(orders_per_s_pipelined: several in flight, up to max-requests-in-flight).

Then, at the default: cmd_to_send p99 against a venue answering REST 50 ms late, quiet and
while reconciliation's REST round (open orders, executions, positions) runs in a loop, and
their ratio; an AmendOrders of 10 resting orders (receive to amend-batch written, and the
round trip to every OrderAmended); and the stress figures (executor_stress.py).
"""

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from prometheus_client import CollectorRegistry

from scripts.benchmarks.executor_stress import stress_results
from scripts.benchmarks.simulator import API_KEY, API_SECRET, simulator_process
from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from shared.bus import BusNode, Receiver, Sender, Signer
from shared.order_ids import client_order_id
from shared.runtime.bootstrap import ServiceContext, Venue
from shared.runtime.clock import LiveClock
from shared.schema import (
    AmendOrder,
    AmendOrders,
    OrderAccepted,
    OrderAmended,
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
SYMBOL = Symbol("BTCUSDT")
SLOW_VENUE_MS = 50  # the venue's REST answers this late while a reconciliation runs
BATCH = 10  # amends per AmendOrders
DEFAULT_SYNCHRONOUS = ExecutorSettings(metrics_port=0).journal_synchronous


@contextlib.asynccontextmanager
async def _executor(
    url: str, synchronous: str
) -> AsyncIterator[tuple[Sender, Receiver, ExecutorService]]:
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
        strategy_orders_per_minute=1_000_000,
        max_open_orders=1_000,
        max_position_notional_usdt=1_000_000.0,
        price_max_age_s=3_600.0,  # no feed here: the background ticker read's price is kept
        dead_man_after_s=3_600.0,  # market orders never work for long; no heartbeats here
    )
    executor = ExecutorService(settings, context)
    events = strategy.subscriber([endpoints.execution_events], ["exec.order."])
    commands = strategy.command_sender(endpoints.order_commands)
    try:
        async with contextlib.AsyncExitStack() as stack:
            await executor.start(stack)
            task = asyncio.create_task(executor.run())
            # Polling the start-up (not a measurement): reconciled, a price read from the
            # venue's tickers (no feed here), and heard by our SUB.
            while (
                executor.state is not TradingState.ACTIVE
                or executor.registry.price(SYMBOL, clock.now_ns(), NS_PER_S * 3_600) is None
                or not strategy.liveness.is_alive("executor", clock.now_ns())
            ):
                if task.done():
                    task.result()
                events.drain()
                await asyncio.sleep(0.01)
            try:
                yield commands, events, executor
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


Answer = TypeVar("Answer", OrderAccepted, OrderAmended)


async def _answers(
    events: Receiver, kind: type[Answer], count: int, timeout_s: float = 30.0
) -> list[Answer]:
    """Wait for `count` events of `kind`; a denial, a rejection or silence ends the bench."""
    answers: list[Answer] = []
    deadline = time.monotonic() + timeout_s
    while len(answers) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(answers)} of {count} {kind.__name__} in {timeout_s} s")
        await events.wait(1.0)
        for delivery in events.drain(10_000):
            message = delivery.message
            if isinstance(message, kind):
                answers.append(message)
            elif isinstance(message, OrderDenied | OrderRejected):
                raise RuntimeError(f"not taken: {message}")
    return answers


async def _accepted(events: Receiver, count: int) -> list[OrderAccepted]:
    return await _answers(events, OrderAccepted, count)


async def _first_send(commands: Sender, order: SubmitOrder) -> None:
    deadline = time.monotonic() + 10
    while not commands.send(order):  # until the PUSH socket has connected (start-up only)
        if time.monotonic() > deadline:
            raise RuntimeError("the executor's command socket did not connect")
        await asyncio.sleep(0.01)


async def _sequential(commands: Sender, events: Receiver, first: int, count: int) -> list[int]:
    """cmd_to_send of `count` orders, each sent once the one before is accepted (ns)."""
    samples = []
    for seq in range(first, first + count):
        commands.send(_order(seq))
        (accepted,) = await _accepted(events, 1)
        samples.append(accepted.ts_request_sent_ns - accepted.ts_trigger_recv_ns)
    return samples


async def _measure(url: str, synchronous: str, count: int) -> tuple[list[int], float, float]:
    """cmd_to_send one at a time, orders/s one at a time, and orders/s pipelined."""
    async with _executor(url, synchronous) as (commands, events, _):
        await _first_send(commands, _order(0))
        await _accepted(events, 1)
        await _sequential(commands, events, 1, 19)  # warm-up: connections, code paths
        started = time.perf_counter()
        samples = await _sequential(commands, events, 20, count)
        one_at_a_time = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for seq in range(count):  # all at once: several in flight (max-requests-in-flight)
            commands.send(_order(seq + 20 + count))
        await _accepted(events, count)
        pipelined = count / (time.perf_counter() - started)
    return samples, one_at_a_time, pipelined


def _set_faults(url: str, **faults: object) -> None:
    body = json.dumps({k.replace("_", "-"): v for k, v in faults.items()}).encode()
    request = urllib.request.Request(
        f"{url}/admin/faults", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


async def _while_reconciling(url: str, count: int) -> tuple[list[int], list[int], int]:
    """cmd_to_send against a venue answering REST 50 ms late: quiet, then while the
    reconciliation's REST round (open orders, executions, positions: poll()) runs in a
    loop. Returns both samples and the number of rounds run meanwhile."""
    _set_faults(url, rest_latency_ms=SLOW_VENUE_MS)
    try:
        async with _executor(url, DEFAULT_SYNCHRONOUS) as (commands, events, executor):
            await _first_send(commands, _order(0))
            await _accepted(events, 1)
            await _sequential(commands, events, 1, 9)
            quiet = await _sequential(commands, events, 10, count)
            reconciler = executor.workers.reconciler
            rounds = 0

            async def reconcile_forever() -> None:
                nonlocal rounds
                while True:
                    await reconciler.poll()
                    rounds += 1

            task = asyncio.create_task(reconcile_forever())
            try:
                busy = await _sequential(commands, events, 10 + count, count)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        _set_faults(url, rest_latency_ms=0)
    return quiet, busy, rounds


def _resting(seq: int, price: Decimal) -> SubmitOrder:
    return msgspec.structs.replace(
        _order(seq),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY,
        limit_price=price,
    )


async def _batch_amends(url: str, rounds: int) -> tuple[list[int], list[int]]:
    """AmendOrders of BATCH resting orders, new prices each round: the command's receive
    to the amend-batch request written, and the round trip to every OrderAmended (ns)."""
    async with _executor(url, DEFAULT_SYNCHRONOUS) as (commands, events, executor):
        last = executor.registry.price(SYMBOL, time.time_ns(), NS_PER_S * 3_600)
        assert last is not None  # waited for in _executor
        below = (last * Decimal("0.996")).quantize(Decimal("0.1"))
        orders = [_resting(seq, below) for seq in range(BATCH)]
        await _first_send(commands, orders[0])
        for order in orders[1:]:
            commands.send(order)
        await _accepted(events, BATCH)
        to_send, round_trips = [], []
        for n in range(rounds):
            price = below - Decimal("0.1") * (1 + n % 2)
            now = time.time_ns()
            amends = tuple(
                AmendOrder(
                    client_order_id=order.client_order_id,
                    strategy_id=order.strategy_id,
                    symbol=order.symbol,
                    limit_price=price,
                    ts_created_ns=now,
                    expires_at_ns=now + 60 * NS_PER_S,
                )
                for order in orders
            )
            started = time.perf_counter_ns()
            commands.send(
                AmendOrders(
                    strategy_id="bench",
                    amends=amends,
                    ts_created_ns=now,
                    expires_at_ns=now + 60 * NS_PER_S,
                )
            )
            amended = await _answers(events, OrderAmended, BATCH)
            round_trips.append(time.perf_counter_ns() - started)
            to_send.append(amended[0].ts_request_sent_ns - amended[0].ts_command_recv_ns)
    return to_send, round_trips


def _p50_us(samples: list[int]) -> float:
    return round(statistics.median(samples) / 1000, 1)


def _p99_us(samples: list[int]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.99) - 1)] / 1000, 1)


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
    with simulator_process("--no-rate-limits", "--symbols", SYMBOL) as url:
        for synchronous in sorted(("FULL", "NORMAL"), key=lambda s: s != DEFAULT_SYNCHRONOUS):
            print(f"bench: executor journal synchronous={synchronous}", file=sys.stderr)
            samples, one_at_a_time, pipelined = asyncio.run(_measure(url, synchronous, count))
            suffix = "" if synchronous == DEFAULT_SYNCHRONOUS else f"_{synchronous.lower()}"
            default = " (the default)" if synchronous == DEFAULT_SYNCHRONOUS else ""
            note = f"journal synchronous={synchronous}{default}"
            yield {
                "name": f"executor.cmd_to_send_p50_us{suffix}",
                "value": _p50_us(samples),
                "unit": "us",
                "samples": len(samples),
                **({} if suffix else {"target": "<= 100"}),
                "note": note,
            }
            yield {
                "name": f"executor.cmd_to_send_p99_us{suffix}",
                "value": _p99_us(samples),
                "unit": "us",
                **({} if suffix else {"target": "<= 300"}),
                "note": note,
            }
            yield {
                "name": f"executor.orders_per_s{suffix}",
                "value": round(one_at_a_time),
                "unit": "orders/s",
                "note": f"{note}; market IOC, each accepted (ack) before the next is sent",
            }
            yield {
                "name": f"executor.orders_per_s_pipelined{suffix}",
                "value": round(pipelined),
                "unit": "orders/s",
                **({} if suffix else {"target": ">= 2000"}),
                "note": f"{note}; {count} market IOC sent at once, until all are accepted",
            }
            commits = _commit_us(synchronous, 200 if quick else 1_000)
            yield {
                "name": f"executor.journal_commit_p50_us{suffix}",
                "value": round(statistics.median(commits), 1),
                "unit": "us",
                "samples": len(commits),
                "note": f"{note}; one-row SQLite WAL commit, the floor under cmd_to_send",
            }
        print("bench: executor while reconciling (venue REST 50 ms late)", file=sys.stderr)
        quiet, busy, rounds = asyncio.run(_while_reconciling(url, 50 if quick else 200))
        slow = f"venue REST answers {SLOW_VENUE_MS} ms late; {len(busy)} orders one at a time"
        yield {
            "name": "executor.cmd_to_send_p99_slow_venue_quiet_us",
            "value": _p99_us(quiet),
            "unit": "us",
            "note": f"{slow}, no reconciliation",
        }
        yield {
            "name": "executor.cmd_to_send_p99_while_reconciling_us",
            "value": _p99_us(busy),
            "unit": "us",
            "target": "<= 2x the quiet p99",
            "note": f"{slow}, reconciliation's REST round in a loop ({rounds} rounds)",
        }
        yield {
            "name": "executor.cmd_to_send_p99_reconciling_ratio",
            "value": round(_p99_us(busy) / max(_p99_us(quiet), 0.1), 2),
            "unit": "x",
            "target": "<= 2.0",
            "note": "while reconciling / quiet, both against the slow venue, in one run",
        }
        print("bench: executor batch amends", file=sys.stderr)
        to_send, round_trips = asyncio.run(_batch_amends(url, 50 if quick else 200))
        yield {
            "name": "executor.batch_amend_p50_us",
            "value": _p50_us(to_send),
            "unit": "us",
            "samples": len(to_send),
            "note": f"AmendOrders of {BATCH}: command received to amend-batch request written",
        }
        yield {
            "name": "executor.batch_amend_round_trip_p50_us",
            "value": _p50_us(round_trips),
            "unit": "us",
            "note": f"AmendOrders of {BATCH} sent to every OrderAmended heard, via the venue",
        }
    writes = _durable_write_us(200 if quick else 1_000)
    yield {
        "name": "executor.durable_write_p50_us",
        "value": round(statistics.median(writes), 1),
        "unit": "us",
        "samples": len(writes),
        "note": "512-byte O_DSYNC write: what any power-loss-safe intent costs on this disk",
    }
    print("bench: executor stress (1,000 intents, faults on)", file=sys.stderr)
    yield from stress_results(quick)
