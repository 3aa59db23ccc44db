"""Restore from a backup: an executor started on a copy of the journal taken mid-way (while the
first one ran) reconciles to the venue: each order once by orderLinkId, each fill once by
execId, its open orders and position those of the venue."""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from services.executor.journal_backup import backup_journal, restore_journal
from shared.bus import BusNode, Signer
from shared.bybit.translate import order_status as venue_status
from shared.runtime import LiveClock
from shared.schema import OrderAccepted, OrderFilled, OrderSide
from shared.settings import BusSettings
from tests.conftest import endpoints_in
from tests.helpers.executor_rig import MakeNode, Rig, rig_on
from tests.helpers.simulator import resting_buy, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
JOURNAL = "executor-journal.sqlite"


@pytest.fixture
def other_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bus2-", dir="/tmp"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def other_node(other_dir: Path) -> Iterator[Callable[..., BusNode]]:
    """Bus nodes on `other_dir`: the restored executor's run directory and bus."""
    nodes: list[BusNode] = []

    def factory(name: str, **bus_overrides: int) -> BusNode:
        settings = BusSettings(endpoints=endpoints_in(other_dir), **bus_overrides)
        nodes.append(BusNode(name, settings, signer=Signer(None), clock=LiveClock()))
        return nodes[-1]

    yield factory
    for node in nodes:
        node.close()


async def filled(r: Rig, side: OrderSide = OrderSide.BUY) -> str:
    command = r.order(side=side)
    await r.send(command)
    coid = command.client_order_id
    await eventually(lambda: any(m.client_order_id == coid for m in r.messages(OrderFilled)), 10)
    return coid


async def resting(r: Rig) -> str:
    price = (await r.last_price() * Decimal("0.995")).quantize(Decimal("0.1"))
    command = r.order(limit_price=price)
    await r.send(command)
    coid = command.client_order_id
    await eventually(lambda: any(m.client_order_id == coid for m in r.messages(OrderAccepted)))
    return coid


async def venue_executions(r: Rig) -> list[tuple[str, str]]:
    params = {"category": "linear", "symbol": "BTCUSDT", "limit": "100"}
    reply = await r.sim.get("/v5/execution/list", params, signed=True)
    return [(e["execId"], e["orderLinkId"]) for e in reply["result"]["list"]]


async def venue_qty(r: Rig) -> Decimal:
    position = await r.venue_position()
    size = Decimal(position["size"])
    return -size if position.get("side") == "Sell" else size


async def test_an_executor_started_on_a_backup_reconciles_to_the_venue(
    make_node: MakeNode, ipc_dir: Path, other_node: MakeNode, other_dir: Path
) -> None:
    copy = ipc_dir / "backups" / "copy.sqlite"
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as sim:
        async with rig_on(sim, make_node, ipc_dir) as first:
            in_copy = [await filled(first), await resting(first)]
            backup_journal(ipc_dir / JOURNAL, copy)
            not_in_copy = [await filled(first), await resting(first)]
            lost = first.order().client_order_id
        # Stopped (its working orders cancelled): one more order of ours the copy lacks is
        # still open at the venue, as if sent just before a crash: it must be adopted.
        created = await sim.post("/v5/order/create", resting_buy(lost))
        assert created["retCode"] == 0, created
        left_open = {o["orderLinkId"] for o in await first.open_at_venue()}
        assert left_open == {lost}
        restore_journal(copy, other_dir / JOURNAL)
        async with rig_on(sim, other_node, other_dir) as second:
            registry, adopted = second.executor.registry, set[str]()

            async def reconciled() -> bool:
                venue_open = {o["orderLinkId"] for o in await second.open_at_venue()}
                ours = {r.client_order_id for r in registry.open_records()}
                adopted.update(ours & left_open)
                return ours == venue_open and registry.position_qty("BTCUSDT") == (
                    await venue_qty(second)
                )

            await eventually(reconciled, timeout_s=10)
            statuses = dict(second.journal_rows("SELECT client_order_id, status FROM intents"))
            journal_fills = second.journal_rows("SELECT exec_id, client_order_id FROM fills")
            executions = await venue_executions(second)
            by_link = {
                coid: await second.venue_orders(coid) for coid in in_copy + not_in_copy + [lost]
            }
    assert all(len(orders) == 1 for orders in by_link.values()), by_link  # none sent again
    # The copy's orders, and those the copy lost (the venue has them with our ids), once each
    assert sorted(statuses) == sorted(in_copy + not_in_copy + [lost])
    for coid in statuses:
        venue = by_link[coid][0]
        qty = (Decimal(venue["cumExecQty"]), Decimal(venue["qty"]))
        assert statuses[coid] == venue_status(venue["orderStatus"], *qty)  # as the venue says
    assert adopted == {lost}
    assert len(journal_fills) == len({e for e, _ in journal_fills})  # each execId once
    assert set(journal_fills) == set(executions)  # every fill booked, the lost ones too
