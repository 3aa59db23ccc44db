"""Power loss with the journal at NORMAL: the newest commits are gone, the venue is not.

The executor (its own process, on the real simulator) journals one filled order; a
consistent copy of the journal is taken then (SQLite's backup API: what a power loss leaves
is the last synced state). It then sends more orders the venue accepts and fills (two
filled, one resting: a position), is killed, and restarts on the copy. After its start
reconciliation every venue order with our orderLinkId is in the journal once, every venue
execution once by execId, the positions are the venue's, and each recovered item has an
alert.
"""

import asyncio
import contextlib
import shutil
import signal
import sqlite3
import tomllib
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from shared.schema import ExecutionSnapshot, OrderType, TimeInForce
from tests.helpers.executor_process import bus_node, executor_process, settings_file
from tests.helpers.executor_rig import heartbeats
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.waiting import eventually
from tests.integration.test_executor_process import active, journal, market_order, venue_orders

pytestmark = pytest.mark.integration
JOURNAL = "executor-journal.sqlite"


def copy_journal(run_dir: Path, to: Path) -> None:
    """A consistent copy of the live journal (the last commit), as a power loss leaves it."""
    with (
        contextlib.closing(sqlite3.connect(run_dir / JOURNAL)) as source,
        contextlib.closing(sqlite3.connect(to)) as target,
    ):
        source.backup(target)


def power_loss(run_dir: Path, copy: Path) -> None:
    """The journal goes back to the copy: the later commits never reached the disk."""
    for suffix in ("", "-wal", "-shm"):
        (run_dir / f"{JOURNAL}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, run_dir / JOURNAL)


def event_counts(settings: Path) -> dict[str, float]:
    port = tomllib.loads(settings.read_text())["executor"]["metrics-port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith('executor_events_total{kind="'):
            kind, value = line.removeprefix('executor_events_total{kind="').split('"} ')
            counts[kind] = float(value)
    return counts


async def venue_list(sim: Sim, path: str) -> list[dict[str, Any]]:
    params = {"category": "linear", "symbol": "BTCUSDT"}
    reply = await sim.get(path, params, signed=True)
    return list(reply["result"]["list"])


async def test_restart_on_an_older_journal_books_the_venue_once(ipc_dir: Path) -> None:
    async with running_simulator(symbols=("BTCUSDT",)) as sim:
        settings = settings_file(ipc_dir, sim.service.port)
        node = bus_node("strategy", settings, ipc_dir)
        heart = asyncio.create_task(  # the dead-man's switch would cancel the resting order
            heartbeats(node.publisher(node.settings.endpoints.strategy_events))
        )
        commands = node.command_sender(node.settings.endpoints.order_commands)
        snapshots = node.snapshot_client(node.settings.endpoints.execution_snapshot)
        copy = ipc_dir / "journal-at-a.sqlite"
        first_order = market_order(1)
        filled_later = [market_order(2), market_order(3)]
        ticker = await sim.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"})
        below = Decimal(ticker["result"]["list"][0]["lastPrice"]) * Decimal("0.995")
        resting = msgspec.structs.replace(
            market_order(4),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.POST_ONLY,
            limit_price=below.quantize(Decimal("0.1")),
        )
        later = [*filled_later, resting]
        try:
            with executor_process(settings, ipc_dir, "executor-1.log") as first:
                await active(node, first)
                await eventually(lambda: commands.send(first_order))
                await eventually(lambda: status(ipc_dir, first_order.client_order_id) == "Filled")
                copy_journal(ipc_dir, copy)  # state A
                for command in later:
                    await eventually(lambda c=command: commands.send(c))  # type: ignore[misc]

                def later_booked() -> bool:
                    wanted = ["Filled", "Filled", "Accepted"]
                    return [status(ipc_dir, c.client_order_id) for c in later] == wanted

                await eventually(later_booked, timeout_s=20)
                first.send_signal(signal.SIGKILL)
                assert first.wait(timeout=10) == -signal.SIGKILL
            power_loss(ipc_dir, copy)
            with executor_process(settings, ipc_dir, "executor-2.log") as second:
                await active(node, second)
                counts = event_counts(settings)
                reply = await snapshots.fetch_async("exec.snapshot.", 2.0)
                snapshot = reply.messages[0][1]
                assert isinstance(snapshot, ExecutionSnapshot)
                ours = [c.client_order_id for c in [first_order, *later]]
                at_venue = {coid: await venue_orders(sim, coid) for coid in ours}
                executions = await venue_list(sim, "/v5/execution/list")
                positions = await venue_list(sim, "/v5/position/list")
        finally:
            heart.cancel()
            node.close()
    assert all(len(orders) == 1 for orders in at_venue.values()), at_venue
    for coid in ours:
        assert journal(ipc_dir, "SELECT count(*) FROM intents WHERE client_order_id = ?", coid) == [
            (1,)
        ], coid
    venue_exec_ids = sorted(e["execId"] for e in executions)
    assert len(venue_exec_ids) == 3
    assert sorted(r[0] for r in journal(ipc_dir, "SELECT exec_id FROM fills")) == venue_exec_ids
    venue_qty = sum((Decimal(p["size"]) for p in positions), Decimal(0))
    assert venue_qty == Decimal("0.003")
    assert {p.symbol: p.qty for p in snapshot.positions} == {"BTCUSDT": venue_qty}
    assert counts.get("alert_recovered_order") == 3  # the two filled, the resting one
    assert counts.get("alert_recovered_fill") == 2  # the two later fills
    assert "alert_orphan_order" not in counts  # journaled, not merely adopted
    assert "alert_missed_fill" not in counts  # booked, not alerted at every reconciliation
    assert dict(journal(ipc_dir, "SELECT client_order_id, status FROM intents")) == {
        first_order.client_order_id: "Filled",
        **{c.client_order_id: "Filled" for c in filled_later},
        resting.client_order_id: "Accepted",
    }


def status(run_dir: Path, coid: str) -> str | None:
    rows = journal(run_dir, "SELECT status FROM intents WHERE client_order_id = ?", coid)
    return str(rows[0][0]) if rows else None
