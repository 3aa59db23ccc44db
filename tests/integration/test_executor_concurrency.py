"""Commands never wait on venue I/O: while a reconciliation's REST round waits on a slow
venue, an order is written to the venue at once and a cancel is answered, before the round
ends (with a lock around venue calls, as before, both waited for it)."""

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from shared.schema import CancelOrder, OrderAccepted, OrderCanceled
from tests.helpers.executor_rig import SECOND, MakeNode, Rig, rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

VENUE_LATENCY_MS = 400  # every REST answer; the round asks three times: >= 1.2 s


def accepted(r: Rig, coid: str) -> OrderAccepted | None:
    return next((m for m in r.messages(OrderAccepted) if m.client_order_id == coid), None)


async def test_an_order_and_a_cancel_go_while_a_reconciliation_waits_on_the_venue(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, price_max_age_s=3_600.0) as r:
        # Arrange: a price known, a resting order to cancel later, then a slow venue
        await eventually(
            lambda: (
                r.executor.registry.price("BTCUSDT", r.executor._clock.now_ns(), SECOND) is not None
            ),
            timeout_s=10,
        )
        below = ((await r.last_price()) * Decimal("0.995")).quantize(Decimal("0.1"))
        resting = r.order(limit_price=below)
        await r.send(resting)
        await eventually(lambda: accepted(r, resting.client_order_id) is not None)
        await r.sim.set_faults(rest_latency_ms=VENUE_LATENCY_MS)
        # Scheduled before the commands below reach the executor: its first request goes
        # first, and the round then waits on the venue.
        reconciling = asyncio.create_task(r.executor.workers.reconciler.poll())

        # Act
        order = r.order(limit_price=below - Decimal("0.1"))
        await r.send(order)
        now = r.executor._clock.now_ns()
        cancel = CancelOrder(
            client_order_id=resting.client_order_id,
            strategy_id=resting.strategy_id,
            symbol=resting.symbol,
            ts_created_ns=now,
            expires_at_ns=now + 10 * SECOND,
        )
        await r.send(cancel)
        await eventually(lambda: accepted(r, order.client_order_id) is not None, timeout_s=5)
        await eventually(
            lambda: any(
                c.client_order_id == resting.client_order_id for c in r.messages(OrderCanceled)
            ),
            timeout_s=5,
        )
        round_still_running = not reconciling.done()
        await reconciling
        await r.sim.set_faults(rest_latency_ms=0)

    # Assert
    answer = accepted(r, order.client_order_id)
    assert answer is not None
    written_after_ms = (answer.ts_request_sent_ns - order.ts_created_ns) / 1e6
    assert written_after_ms < VENUE_LATENCY_MS, written_after_ms  # not behind the round
    assert round_still_running  # both answered while the round still waited on the venue
