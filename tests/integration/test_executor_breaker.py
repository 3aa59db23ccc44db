"""The executor's circuit breakers and stale prices on the simulator: a failing venue stops new
exposure (circuit_open) while reduce-only orders and cancels still go, one probe closes the
breaker once the venue is back (the queries breaker too, though queries are never held back);
a price too old stops new exposure (price_stale), not exits."""

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from shared.schema import (
    Alert,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSide,
    SubmitOrder,
)
from tests.helpers.executor_rig import SECOND, MakeNode, Rig, rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

TICK = Decimal("0.1")  # BTCUSDT's tick on the simulator
OPEN, CLOSED = 2.0, 0.0  # executor_circuit_state
COOL_DOWN_S = 0.5


def circuit_state(r: Rig, group: str) -> float | None:
    """The executor_circuit_state gauge of `group`, read from the executor's metrics registry."""
    registry = r.executor._context.registry
    return registry.get_sample_value("executor_circuit_state", {"group": group})


def alerts(r: Rig, code: str, group: str) -> list[Alert]:
    return [a for a in r.messages(Alert) if a.code == code and a.detail.startswith(f"{group} ")]


def answer_of(r: Rig, command: SubmitOrder) -> object | None:
    for kind in (OrderAccepted, OrderRejected, OrderDenied):
        for message in r.messages(kind):
            if message.client_order_id == command.client_order_id:
                answer: object = message
                return answer
    return None


def denial_of(r: Rig, coid: str) -> OrderDenied | None:
    return next((d for d in r.messages(OrderDenied) if d.client_order_id == coid), None)


async def prices_known(r: Rig) -> None:
    def known() -> bool:
        now = r.executor._clock.now_ns()
        return r.executor.registry.price("BTCUSDT", now, 60 * SECOND) is not None

    await eventually(known, timeout_s=10)


async def long_position_and_resting_order(r: Rig) -> SubmitOrder:
    """A long of 0.001 BTC, and a post-only buy resting 1 % below the market (returned)."""
    await prices_known(r)
    await r.send(r.order())
    await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
    await eventually(lambda: r.executor.registry.position_qty("BTCUSDT") == Decimal("0.001"))
    resting = r.order(limit_price=(await r.last_price() * Decimal("0.99")).quantize(TICK))
    await r.send(resting)
    await eventually(lambda: answer_of(r, resting) is not None, timeout_s=10)
    assert isinstance(answer_of(r, resting), OrderAccepted), answer_of(r, resting)
    return resting


def cancel_of(r: Rig, order: SubmitOrder) -> CancelOrder:
    now = r.executor._clock.now_ns()
    return CancelOrder(
        client_order_id=order.client_order_id,
        strategy_id="t1",
        symbol=order.symbol,
        ts_created_ns=now,
        expires_at_ns=now + 10 * SECOND,
    )


def exit_of(r: Rig, qty: str = "0.001") -> SubmitOrder:
    return msgspec.structs.replace(r.order(qty, side=OrderSide.SELL), reduce_only=True)


async def test_failing_order_calls_open_the_breaker_exits_and_cancels_pass_and_a_probe_closes_it(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    settings = {
        "breaker_consecutive_failures": 3,
        "breaker_cool_down_s": COOL_DOWN_S,
        "price_max_age_s": 60.0,  # the failing ticker reads must not make the price stale
        "position_check_interval_s": 60.0,
        "in_doubt_queries": 1,
        "in_doubt_query_interval_s": 0.1,
        "in_doubt_resends": 0,
        "price_band_bps": 300.0,
    }
    async with rig(make_node, ipc_dir, **settings) as r:
        # Arrange
        resting = await long_position_and_resting_order(r)
        far = (await r.last_price() * Decimal("0.98")).quantize(TICK)
        assert circuit_state(r, "orders") == CLOSED

        # Act: three creates answered 503 open the orders breaker
        await r.sim.set_faults(rest_5xx_rate=1.0)
        failing = [r.order(limit_price=far - i * TICK, expires_in_ns=SECOND) for i in range(3)]
        for command in failing:
            await r.send(command)
        await eventually(lambda: alerts(r, "circuit_open", "orders"), timeout_s=10)
        refused = r.order(limit_price=far)
        await r.send(refused)
        await eventually(lambda: denial_of(r, refused.client_order_id), timeout_s=5)
        state_while_open = circuit_state(r, "orders")

        # The venue is back, but the breaker stays open until a new order probes it: an exit
        # and a cancel go meanwhile (and do not close it).
        await r.sim.set_faults(rest_5xx_rate=0.0)
        leave = exit_of(r)
        await r.send(leave)
        await r.send(cancel_of(r, resting))
        await eventually(
            lambda: any(c.client_order_id == resting.client_order_id
                        for c in r.messages(OrderCanceled)),
            timeout_s=10,
        )  # fmt: skip
        await eventually(
            lambda: any(
                f.client_order_id == leave.client_order_id for f in r.messages(OrderFilled)
            ),
            timeout_s=10,
        )
        position_after_exit = Decimal((await r.venue_position())["size"] or 0)
        state_after_exit_and_cancel = circuit_state(r, "orders")
        closed_before_probe = alerts(r, "circuit_closed", "orders")

        # After the cool-down one probe goes, and its success closes the breaker.
        (opened,) = alerts(r, "circuit_open", "orders")
        clock = r.executor._clock
        await eventually(lambda: clock.now_ns() - opened.ts_event_ns > COOL_DOWN_S * SECOND)
        probe = r.order(limit_price=far)
        await r.send(probe)
        await eventually(lambda: answer_of(r, probe) is not None, timeout_s=10)
        await eventually(lambda: alerts(r, "circuit_closed", "orders"), timeout_s=5)
        after = [r.order(limit_price=far - i * TICK) for i in range(1, 3)]
        for command in after:
            await r.send(command)
        await eventually(lambda: all(answer_of(r, c) is not None for c in after), timeout_s=10)
        state_at_end = circuit_state(r, "orders")
        # The creates answered 503 never reached the venue: each ends rejected, none lost.
        await eventually(lambda: all(answer_of(r, c) is not None for c in failing), 15)
        failed_at_venue = [await r.venue_orders(c.client_order_id) for c in failing]

    # Assert
    denial = denial_of(r, refused.client_order_id)
    assert denial is not None
    assert denial.reason.startswith("circuit_open"), denial
    assert "3 consecutive failures" in denial.reason, denial
    assert state_while_open == OPEN
    assert denial_of(r, leave.client_order_id) is None
    assert position_after_exit == 0
    assert state_after_exit_and_cancel == OPEN
    assert closed_before_probe == []
    assert isinstance(answer_of(r, probe), OrderAccepted), answer_of(r, probe)
    assert [type(answer_of(r, c)).__name__ for c in after] == ["OrderAccepted"] * 2
    assert state_at_end == CLOSED
    assert [type(answer_of(r, c)).__name__ for c in failing] == ["OrderRejected"] * 3
    assert failed_at_venue == [[], [], []]
    assert len(alerts(r, "circuit_open", "orders")) == 1
    assert len(alerts(r, "circuit_closed", "orders")) == 1


async def test_the_queries_breaker_closes_again_once_the_venue_answers(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    settings = {
        "breaker_consecutive_failures": 3,
        "breaker_cool_down_s": 0.5,
        "price_max_age_s": 1.0,  # tickers read every half second: queries keep going
        "position_check_interval_s": 60.0,
    }
    async with rig(make_node, ipc_dir, **settings) as r:
        # Arrange
        await prices_known(r)
        await r.sim.set_faults(rest_5xx_rate=1.0)
        await eventually(lambda: alerts(r, "circuit_open", "queries"), timeout_s=15)
        assert circuit_state(r, "queries") == OPEN

        # Act: the venue answers again, and the ticker reads succeed
        await r.sim.set_faults(rest_5xx_rate=0.0)
        refreshes = r.executor.counters["price_refreshes"]
        await eventually(lambda: r.executor.counters["price_refreshes"] >= refreshes + 3, 10)

        # Assert
        await eventually(lambda: circuit_state(r, "queries") == CLOSED, timeout_s=5)
        await eventually(lambda: alerts(r, "circuit_closed", "queries"))  # published after


async def test_a_stale_price_denies_new_exposure_but_not_a_reduce_only_exit(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    settings = {
        "price_max_age_s": 1.0,
        "rest_timeout_s": 0.3,
        "position_check_interval_s": 60.0,
        "breaker_consecutive_failures": 1_000,  # this test is about the price, not the breaker
    }
    async with rig(make_node, ipc_dir, **settings) as r:
        # Arrange: a long, then every REST answer held past rest_timeout_s, so the background
        # ticker reads fail and the last price ages past price_max_age_s
        await prices_known(r)
        await r.send(r.order())
        await eventually(lambda: r.messages(OrderFilled), timeout_s=10)
        await eventually(lambda: r.executor.registry.position_qty("BTCUSDT") == Decimal("0.001"))
        failures = r.executor.counters["price_refresh_failures"]
        await r.sim.set_faults(rest_latency_ms=1000)
        await eventually(
            lambda: r.executor.counters["price_refresh_failures"] >= failures + 2, timeout_s=10
        )

        def stale() -> bool:
            now = r.executor._clock.now_ns()
            return r.executor.registry.price("BTCUSDT", now, SECOND) is None

        await eventually(stale, timeout_s=5)

        # Act
        entry = r.order()
        leave = exit_of(r)
        await r.send(entry)
        await r.send(leave)
        await eventually(lambda: denial_of(r, entry.client_order_id), timeout_s=5)
        # The exit was sent (journaled) and not denied; once the venue answers again it fills.
        await eventually(
            lambda: r.journal_rows(
                "SELECT 1 FROM intents WHERE client_order_id = ?", leave.client_order_id
            ),
            timeout_s=5,
        )
        await r.sim.set_faults(rest_latency_ms=0)

        async def flat() -> bool:
            return Decimal((await r.venue_position())["size"] or 0) == 0

        await eventually(flat, timeout_s=15)

    # Assert
    denial = denial_of(r, entry.client_order_id)
    assert denial is not None
    assert denial.reason.startswith("price_stale"), denial
    assert denial_of(r, leave.client_order_id) is None
    assert (
        r.journal_rows("SELECT 1 FROM intents WHERE client_order_id = ?", entry.client_order_id)
        == []
    )
