"""The executor as a process: kill -9 at the worst moments then a restart (exactly one
order at the venue), and the shutdown contract on SIGTERM.

The executor runs as its own process (python -m services.executor) against the simulator;
the test is the strategy (commands in, snapshots out) and reads the journal and the venue.
"""

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from shared.bus import BusNode
from shared.order_ids import client_order_id
from shared.schema import (
    ExecutionSnapshot,
    OrderSide,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)
from shared.settings import REPO_ROOT
from tests.helpers.executor_process import bus_node, executor_process, settings_file
from tests.helpers.executor_rig import heartbeats
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
SECOND = 1_000_000_000


def market_order(seq: int) -> SubmitOrder:
    now = time.time_ns()
    return SubmitOrder(
        client_order_id=client_order_id("t1", 1, seq),
        strategy_id="t1",
        epoch=1,
        symbol=Symbol("BTCUSDT"),
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        qty=Decimal("0.001"),
        ts_created_ns=now,
        expires_at_ns=now + 120 * SECOND,
        ts_trigger_recv_ns=now,
        ts_trigger_event_ns=now,
    )


def journal(run_dir: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    path = run_dir / "executor-journal.sqlite"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(sql, args).fetchall()


async def venue_orders(sim: Sim, link_id: str) -> list[dict[str, Any]]:
    params = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": link_id}
    found: dict[str, dict[str, Any]] = {}
    for path in ("/v5/order/realtime", "/v5/order/history"):
        reply = await sim.get(path, params, signed=True)
        found.update({o["orderId"]: o for o in reply["result"]["list"]})
    return list(found.values())


async def active(node: BusNode, process: subprocess.Popen[bytes]) -> None:
    """Wait until the executor answers snapshots as reconciled and ACTIVE."""
    client = node.snapshot_client(node.settings.endpoints.execution_snapshot)

    async def reconciled() -> bool:
        assert process.poll() is None, "the executor exited"
        with contextlib.suppress(Exception):
            reply = await client.fetch_async("exec.snapshot.", 0.5)
            snapshot = reply.messages[0][1]
            assert isinstance(snapshot, ExecutionSnapshot)
            return snapshot.reconciled and snapshot.trading_state is TradingState.ACTIVE
        return False

    await eventually(reconciled, timeout_s=20)


async def settled(sim: Sim, run_dir: Path, coid: str) -> None:
    """Wait until the journal says Filled for `coid` with one fill."""

    def filled() -> bool:
        rows = journal(run_dir, "SELECT status FROM intents WHERE client_order_id = ?", coid)
        return rows == [("Filled",)]

    await eventually(filled, timeout_s=20)


def crash_right_after_record_intent(path: Path, command: SubmitOrder) -> None:
    """Leave what the executor leaves when killed after record_intent: the intent, marked
    sent in the same commit, that never left."""
    argv = [sys.executable, "-m", "tests.helpers.journal_writer", str(path)]
    with subprocess.Popen(
        [*argv, msgspec.json.encode(command).decode()],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as writer:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"recorded"
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL


async def test_kill_between_send_and_ack_then_restart_one_order(ipc_dir: Path) -> None:
    async with running_simulator(symbols=("BTCUSDT",)) as sim:
        settings = settings_file(ipc_dir, sim.service.port)
        node = bus_node("strategy", settings, ipc_dir)
        commands = node.command_sender(node.settings.endpoints.order_commands)
        command = market_order(1)
        coid = command.client_order_id
        try:
            with executor_process(settings, ipc_dir, "executor-1.log") as first:
                await active(node, first)
                # The venue takes the order and holds back its answer: we kill in between.
                await sim.set_faults(timeout_after_accept_rate=1.0, timeout_after_accept_s=60.0)
                await eventually(lambda: commands.send(command))

                async def sent_and_at_venue() -> bool:
                    sql = "SELECT ts_request_sent_ns > 0 FROM intents WHERE client_order_id = ?"
                    sent = journal(ipc_dir, sql, coid) == [(1,)]
                    return sent and len(await venue_orders(sim, coid)) == 1

                await eventually(sent_and_at_venue, timeout_s=10)
                assert ("ack",) not in journal(ipc_dir, "SELECT kind FROM events")
                first.send_signal(signal.SIGKILL)
                assert first.wait(timeout=10) == -signal.SIGKILL
            await sim.set_faults(timeout_after_accept_rate=0.0)
            with executor_process(settings, ipc_dir, "executor-2.log") as second:
                await active(node, second)
                await settled(sim, ipc_dir, coid)
                on_venue = await venue_orders(sim, coid)
                fills = journal(
                    ipc_dir, "SELECT exec_id FROM fills WHERE client_order_id = ?", coid
                )
        finally:
            node.close()
    assert len(on_venue) == 1
    assert on_venue[0]["orderStatus"] == "Filled"
    assert len(fills) == 1


async def test_kill_between_journal_write_and_send_then_restart_one_order(ipc_dir: Path) -> None:
    async with running_simulator(symbols=("BTCUSDT",)) as sim:
        settings = settings_file(ipc_dir, sim.service.port)
        command = market_order(2)
        coid = command.client_order_id
        crash_right_after_record_intent(ipc_dir / "executor-journal.sqlite", command)
        assert await venue_orders(sim, coid) == []

        node = bus_node("strategy", settings, ipc_dir)
        try:
            with executor_process(settings, ipc_dir, "executor.log") as executor:
                await active(node, executor)
                await settled(sim, ipc_dir, coid)
                on_venue = await venue_orders(sim, coid)
                kinds = journal(
                    ipc_dir, "SELECT kind FROM events WHERE client_order_id = ? ORDER BY id", coid
                )
        finally:
            node.close()
    assert len(on_venue) == 1
    assert kinds[0] == ("resend",)  # not at the venue: sent again, same id


async def test_sigterm_cancels_working_orders_and_exits_0(ipc_dir: Path) -> None:
    async with running_simulator(symbols=("BTCUSDT",)) as sim:
        settings = settings_file(ipc_dir, sim.service.port)
        node = bus_node("strategy", settings, ipc_dir)
        heart = asyncio.create_task(
            heartbeats(node.publisher(node.settings.endpoints.strategy_events))
        )
        commands = node.command_sender(node.settings.endpoints.order_commands)
        ticker = await sim.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"})
        price = Decimal(ticker["result"]["list"][0]["lastPrice"]) * Decimal("0.995")
        resting = msgspec.structs.replace(
            market_order(3),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.POST_ONLY,
            limit_price=price.quantize(Decimal("0.1")),
        )
        try:
            with executor_process(settings, ipc_dir, "executor.log") as executor:
                await active(node, executor)
                await eventually(lambda: commands.send(resting))

                async def working() -> bool:
                    orders = await venue_orders(sim, resting.client_order_id)
                    return [o["orderStatus"] for o in orders] == ["New"]

                await eventually(working, timeout_s=10)
                started = time.monotonic()
                executor.send_signal(signal.SIGTERM)
                await eventually(lambda: executor.poll() is not None, timeout_s=10)
                stop_s = time.monotonic() - started
                orders = await venue_orders(sim, resting.client_order_id)
                log = (ipc_dir / "executor.log").read_text()
        finally:
            heart.cancel()
            node.close()
    assert executor.returncode == 0, log
    assert stop_s < 10  # supervisord's stopwaitsecs for the executor
    assert [o["orderStatus"] for o in orders] == ["Cancelled"]
    assert "shutdown: no working orders at the venue" in log
