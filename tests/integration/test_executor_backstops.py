"""The executor's backstops on the simulator: venue stops, position checks, the private stream
going away, the dead-man's switch, a rate-limit storm, the daily loss limit, amend, shutdown."""

import time
from decimal import Decimal
from pathlib import Path

import pytest

from shared.schema import (
    AmendOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSide,
    PositionChanged,
    SubmitOrder,
    TradingState,
)
from tests.helpers.executor_rig import SECOND, MakeNode, Rig, rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration


def alerts(r: Rig, code: str) -> int:
    return r.executor.counters[f"alert_{code}"]


async def test_a_new_position_gets_a_venue_stop_loss(make_node: MakeNode, ipc_dir: Path) -> None:
    async with rig(make_node, ipc_dir, venue_stop_loss_pct=2.0) as r:
        await r.send(r.order())
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)

        async def stop_is_set() -> bool:
            return Decimal((await r.venue_position())["stopLoss"] or 0) > 0

        await eventually(stop_is_set, timeout_s=10)
        position = await r.venue_position()
    entry, stop = Decimal(position["avgPrice"]), Decimal(position["stopLoss"])
    assert position["side"] == "Buy"
    assert stop < entry
    assert abs(stop - entry * Decimal("0.98")) <= Decimal("0.1")  # tick 0.1
    assert r.executor.counters["venue_stops_set"] == 1


async def test_a_triggered_venue_stop_is_journaled_once_as_an_external_fill(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    # A stop 0.01 % away on a lively market triggers within seconds.
    async with rig(make_node, ipc_dir, volatility_scale=20.0, venue_stop_loss_pct=0.01) as r:
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)

        async def flat_at_venue() -> bool:
            return Decimal((await r.venue_position())["size"] or 0) == 0

        await eventually(flat_at_venue, timeout_s=30)
        await eventually(lambda: r.executor.counters["external_fills"] >= 1, timeout_s=10)
        fills = r.journal_rows("SELECT exec_id, client_order_id FROM fills")
        sides = r.journal_rows(
            "SELECT json_extract(payload, '$.side') FROM events"
            " WHERE kind = 'fill' AND json_extract(payload, '$.external') = '1'"
        )
    ours = [coid for _, coid in fills if coid == command.client_order_id]
    external = [coid for _, coid in fills if coid != command.client_order_id]
    assert len(ours) == 1
    assert len(external) == r.executor.counters["external_fills"] >= 1
    assert len({exec_id for exec_id, _ in fills}) == len(fills)
    assert alerts(r, "external_fill") == len(external)
    assert {side for (side,) in sides} == {"Sell"}  # the stop closed our long


async def test_a_position_the_stream_missed_is_found_and_the_venue_wins(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, position_check_interval_s=0.5) as r:
        await r.sim.set_faults(ws_drop_rate=1.0)  # the private stream tells us nothing
        reply = await r.sim.post(
            "/v5/order/create",
            {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market",
             "qty": "0.003"},
        )  # fmt: skip
        assert reply["retCode"] == 0, reply
        # The check takes the venue's position, and the reconciliation that its drift starts
        # (the first one ran at start) publishes it again.
        await eventually(lambda: r.executor.counters["drift_reconciliations"] >= 1, timeout_s=10)
        await eventually(lambda: r.executor.counters["reconciliations"] >= 2, timeout_s=10)
        await eventually(lambda: r.messages(PositionChanged))
        published = [p.qty for p in r.messages(PositionChanged)]
    assert set(published) == {Decimal("-0.003")}
    assert alerts(r, "position_mismatch") == 1
    assert r.executor.registry.position_qty("BTCUSDT") == Decimal("-0.003")


async def test_fills_while_the_stream_is_down_come_by_rest_polling_once(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, stream_down_poll_s=0.2) as r:
        await r.sim.set_faults(ws_refuse=True)
        await r.sim.post_admin("/admin/disconnect")
        await eventually(lambda: not r.executor.status.stream_up, timeout_s=5)
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        polls_while_down = r.executor.counters["rest_polls"]
        await r.sim.set_faults(ws_refuse=False)
        await eventually(lambda: r.executor.status.stream_up, timeout_s=15)
        await eventually(lambda: r.executor.counters["reconciliations"] >= 2, timeout_s=10)
        filled = r.messages(OrderFilled)
        fills = r.journal_rows("SELECT exec_id FROM fills")
    assert polls_while_down >= 1
    assert [f.client_order_id for f in filled] == [command.client_order_id]
    assert len(fills) == 1


async def test_fills_lost_with_the_stream_are_recovered_by_reconciliation(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, position_check_interval_s=60.0) as r:
        await r.sim.set_faults(ws_drop_rate=1.0)  # the fill's frames are lost ...
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderAccepted), timeout_s=10)
        assert r.messages(OrderFilled) == []
        await r.sim.set_faults(ws_drop_rate=0.0)
        await r.sim.post_admin("/admin/disconnect")  # ... then the stream drops and comes back
        await eventually(lambda: r.messages(OrderFilled), timeout_s=15)
        await eventually(lambda: r.executor.counters["reconciliations"] >= 2, timeout_s=10)
        filled = r.messages(OrderFilled)
        fills = r.journal_rows("SELECT exec_id FROM fills")
    assert [f.client_order_id for f in filled] == [command.client_order_id]
    assert len(fills) == 1
    assert alerts(r, "missed_fill") == 1


async def test_fills_lost_without_a_reconnect_are_booked_by_the_periodic_check(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, position_check_interval_s=0.5) as r:
        await r.sim.set_faults(ws_drop_rate=1.0)  # every report of the fill is lost
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        filled = r.messages(OrderFilled)
        fills = r.journal_rows("SELECT exec_id FROM fills")
        open_records = r.executor.registry.open_records()
    assert [f.client_order_id for f in filled] == [command.client_order_id]
    assert len(fills) == 1
    assert open_records == []
    assert alerts(r, "missed_fill") == 1
    assert r.executor.counters["drift_reconciliations"] >= 1


async def test_a_fill_that_beats_the_shutdown_is_booked_before_the_executor_exits(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, position_check_interval_s=60.0) as r:
        await r.sim.set_faults(ws_drop_rate=1.0)  # the fill's reports do not come before the end
        command = r.order()
        await r.send(command)
        await eventually(lambda: r.messages(OrderAccepted), timeout_s=10)
        assert r.journal_rows("SELECT exec_id FROM fills") == []
    # the rig stopped the executor: its shutdown asked the venue what happened
    fills = r.journal_rows("SELECT client_order_id FROM fills")
    statuses = r.journal_rows(
        "SELECT status FROM intents WHERE client_order_id = ?", command.client_order_id
    )
    assert fills == [(command.client_order_id,)]
    assert statuses == [("Filled",)]


async def resting_buy(r: Rig) -> SubmitOrder:
    """A limit buy 0.5 % under the last price, accepted: it rests."""
    price = (await r.last_price() * Decimal("0.995")).quantize(Decimal("0.1"))
    command = r.order(limit_price=price)
    await r.send(command)
    await eventually(lambda: r.messages(OrderAccepted), timeout_s=10)
    return command


async def test_dead_mans_switch_cancels_working_orders_when_the_strategy_goes_silent(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, dead_man_after_s=1.0) as r:
        command = await resting_buy(r)
        clock = r.executor._clock
        accepted_ns = clock.now_ns()
        # While the strategy beats, two switch periods pass without a cancel.
        await eventually(lambda: clock.now_ns() - accepted_ns > 2 * SECOND, timeout_s=5)
        assert r.messages(OrderCanceled) == []
        r.beating = False
        await eventually(lambda: r.messages(OrderCanceled), timeout_s=10)
        open_at_venue = await r.open_at_venue()
    assert r.messages(OrderCanceled)[0].client_order_id == command.client_order_id
    assert alerts(r, "dead_mans_switch") == 1
    assert open_at_venue == []


async def test_the_switchs_cancel_of_an_order_already_gone_is_counted_not_alerted(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    # The order ends at the venue while its report is lost (filled, or a PostOnly that
    # crossed): the executor still thinks it works. The dead-man's switch cancels it and the
    # venue answers 110001 "order not exists or too late": what the switch wanted.
    async with rig(make_node, ipc_dir, dead_man_after_s=1.0) as r:
        command = await resting_buy(r)
        await r.sim.set_faults(ws_drop_rate=1.0)  # the cancel's report is lost
        gone = await r.sim.post(
            "/v5/order/cancel",
            {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": command.client_order_id},
        )
        assert gone["retCode"] == 0, gone
        r.beating = False
        counters = r.executor.counters
        await eventually(lambda: counters["own_cancels_order_gone"] >= 1, timeout_s=10)
    assert alerts(r, "dead_mans_switch") >= 1
    assert alerts(r, "cancel_refused") == 0


async def test_rate_limit_storm_backs_off_and_loses_no_intent(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    settings = {"in_doubt_queries": 1, "in_doubt_query_interval_s": 0.1}
    async with rig(make_node, ipc_dir, **settings) as r:
        await r.sim.set_faults(rate_limit_storm=True)
        before, started_s = await r.sim.stats(), time.monotonic()
        lasting = [r.order(expires_in_ns=60 * SECOND) for _ in range(2)]
        short = r.order(expires_in_ns=SECOND // 2)  # gone before the lookups retry (1 s)
        for command in (*lasting, short):
            await r.send(command)
        rest = r.executor._wired.work.parts.rest  # type: ignore[union-attr]
        retries = rest.stats.retries
        # The storm lasts until each lookup has been retried twice (a second at least), so the
        # request rate is measured over the storm, not over the first milliseconds.
        await eventually(
            lambda: r.executor.counters["in_doubt"] >= 2 and rest.stats.retries >= retries + 6,
            timeout_s=20,
        )
        during, elapsed_s = await r.sim.stats(), time.monotonic() - started_s
        await r.sim.set_faults(rate_limit_storm=False)
        await eventually(lambda: len(r.messages(OrderFilled)) == 2, timeout_s=20)
        await eventually(
            lambda: any(
                m.client_order_id == short.client_order_id
                for m in (*r.messages(OrderRejected), *r.messages(OrderDenied))
            ),
            timeout_s=20,
        )
        venue = {c.client_order_id: await r.venue_orders(c.client_order_id) for c in lasting}
        short_at_venue = await r.venue_orders(short.client_order_id)
    requests = during["rest_requests"] - before["rest_requests"]
    assert requests / elapsed_s < 600 / 5 / 2  # well under the per-IP ban (600 per 5 s)
    assert during["ip_refusals"] == 0
    assert {c: len(orders) for c, orders in venue.items()} == {
        c.client_order_id: 1 for c in lasting
    }
    assert short_at_venue == []
    assert sorted(f.client_order_id for f in r.messages(OrderFilled)) == sorted(
        c.client_order_id for c in lasting
    )


async def test_daily_loss_limit_cancels_flattens_and_halts_until_reset(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    settings = {"daily_loss_limit_usdt": 0.5, "position_check_interval_s": 0.3}
    async with rig(make_node, ipc_dir, **settings) as r:
        await r.send(r.order("0.01"))  # taker fees alone cost about 0.5 USDT
        await r.send(r.order("0.01", side=OrderSide.SELL))
        await eventually(lambda: r.executor.state is TradingState.HALTED, timeout_s=15)
        await eventually(lambda: r.executor.registry.position_qty("BTCUSDT") == 0, timeout_s=10)
        denied = r.order()
        await r.send(denied)
        await eventually(
            lambda: any(
                d.client_order_id == denied.client_order_id for d in r.messages(OrderDenied)
            )
        )
    assert alerts(r, "daily_loss_limit") == 1
    reasons = [d.reason for d in r.messages(OrderDenied)]
    assert any("Halted" in reason for reason in reasons)


async def test_amend_changes_a_working_order_after_the_checks(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        price = (await r.last_price() * Decimal("0.995")).quantize(Decimal("0.1"))
        command = r.order(limit_price=price)
        await r.send(command)
        await eventually(lambda: r.messages(OrderAccepted), timeout_s=10)
        now = r.executor._clock.now_ns()

        def amend(**change: Decimal) -> AmendOrder:
            return AmendOrder(
                client_order_id=command.client_order_id,
                strategy_id="t1",
                symbol=command.symbol,
                ts_created_ns=now,
                expires_at_ns=now + 5 * SECOND,
                **change,
            )

        await r.send(amend(qty=Decimal("0.002"), limit_price=price - Decimal("1")))
        await r.send(amend(qty=Decimal("5")))  # far above max_order_notional_usdt

        await eventually(lambda: r.messages(OrderDenied), timeout_s=10)

        async def amended() -> bool:
            orders = await r.venue_orders(command.client_order_id)
            return orders[0]["qty"] == "0.002"

        await eventually(amended, timeout_s=10)
        order = (await r.venue_orders(command.client_order_id))[0]
    assert Decimal(order["price"]) == price - 1
    assert "max_order_notional_usdt" in r.messages(OrderDenied)[0].reason
