"""The executor against the real simulator, over real ZeroMQ: orders, denials, doubt, dedup."""

from decimal import Decimal
from pathlib import Path

import pytest

from shared.schema import OrderAccepted, OrderDenied, OrderFilled
from tests.helpers.executor_rig import SECOND, MakeNode, rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration


async def test_submit_order_is_accepted_filled_and_journaled(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        accepted = r.messages(OrderAccepted)
        filled = r.messages(OrderFilled)
        intents = r.journal_rows("SELECT client_order_id, status FROM intents")
        fills = r.journal_rows("SELECT exec_id, client_order_id FROM fills")
        refused = [k for k in r.executor.counters if k.startswith("refused_")]
    assert refused == []  # the venue's fills, positions and wallet pass the checks
    assert [a.client_order_id for a in accepted] == [command.client_order_id]
    assert accepted[0].ts_trigger_recv_ns == command.ts_trigger_recv_ns
    assert 0 < accepted[0].ts_request_sent_ns <= accepted[0].ts_ack_ns
    assert len(filled) == 1
    assert filled[0].cum_filled_qty == Decimal("0.001")
    assert filled[0].leaves_qty == 0
    assert filled[0].fee > 0
    assert intents == [(command.client_order_id, "Filled")]
    assert fills == [(filled[0].exec_id, command.client_order_id)]


async def test_order_above_max_notional_is_denied_and_never_sent(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, max_order_notional_usdt=500.0) as r:
        command = r.order(qty="0.02")  # about 1,945 USDT at the simulator's BTC price
        await r.send(command)
        await eventually(lambda: r.messages(OrderDenied))
        denied = r.messages(OrderDenied)[0]
        on_venue = await r.venue_orders(command.client_order_id)
        intents = r.journal_rows("SELECT client_order_id FROM intents")
    assert denied.client_order_id == command.client_order_id
    assert "max_order_notional_usdt" in denied.reason
    assert on_venue == []
    assert intents == []


async def test_expired_command_is_denied_with_a_reason(make_node: MakeNode, ipc_dir: Path) -> None:
    async with rig(make_node, ipc_dir) as r:
        command = r.order(expires_in_ns=-SECOND)
        await r.send(command)
        await eventually(lambda: r.messages(OrderDenied))
        denied = r.messages(OrderDenied)[0]
        on_venue = await r.venue_orders(command.client_order_id)
    assert denied.client_order_id == command.client_order_id
    assert "expired" in denied.reason
    assert on_venue == []


async def test_timeout_after_accept_is_resolved_by_order_link_id(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, rest_timeout_s=1.0) as r:
        await r.sim.set_faults(timeout_after_accept_rate=1.0, timeout_after_accept_s=3.0)
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.executor.counters["in_doubt_resolved"] == 1, timeout_s=10)
        await r.sim.set_faults(timeout_after_accept_rate=0.0)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        on_venue = await r.venue_orders(command.client_order_id)
        kinds = [
            k
            for (k,) in r.journal_rows(
                "SELECT kind FROM events WHERE client_order_id = ? ORDER BY id",
                command.client_order_id,
            )
        ]
        accepted = r.messages(OrderAccepted)
    assert r.executor.counters["in_doubt"] == 1
    assert r.executor.counters["in_doubt_resends"] == 0
    assert len(on_venue) == 1
    assert kinds.count("in_doubt") == 1
    # The fill may arrive on the private stream before the lookup by orderLinkId confirms the
    # order: then no acknowledgement is owed. Never more than one, and exactly one fill.
    assert [a.client_order_id for a in accepted] in ([], [command.client_order_id])
    assert len(r.messages(OrderFilled)) == 1


async def test_duplicated_websocket_messages_give_each_fill_once(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        await r.sim.set_faults(ws_duplicate_rate=1.0)
        first, second = r.order(), r.order()
        for command in (first, second):
            await r.send(command)
        await eventually(
            lambda: (
                len(r.messages(OrderFilled)) == 2 and r.executor.counters["duplicate_fills"] >= 2
            ),
            timeout_s=10,
        )
        filled = r.messages(OrderFilled)
        fills = r.journal_rows("SELECT exec_id FROM fills")
    assert sorted(f.client_order_id for f in filled) == sorted(
        [first.client_order_id, second.client_order_id]
    )
    assert len({f.exec_id for f in filled}) == 2
    assert len(fills) == 2
