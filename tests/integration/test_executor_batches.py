"""Batch commands through the real bus into a real executor against the simulator:
SubmitOrders, AmendOrders and CancelOrders each answer every order on its own, and a batch
whose answer never comes is resolved order by order by orderLinkId."""

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from shared.order_ids import client_order_id
from shared.schema import (
    AmendOrder,
    AmendOrders,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderRejected,
    SubmitOrder,
    SubmitOrders,
)
from tests.helpers.executor_rig import SECOND, MakeNode, Rig, rig
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration

TICK = Decimal("0.1")  # BTCUSDT's tick on the simulator
WIDE_BAND = {"price_band_bps": 300.0}  # resting orders 1 % away stay inside the band
ANSWERS = (OrderAccepted, OrderRejected, OrderDenied)
REDUCE_ONLY_REFUSED = 110017  # "orderQty will be truncated to zero": nothing to reduce


async def prices_known(r: Rig) -> None:
    """The executor has read a last price (from the tickers: the rig has no feed)."""

    def known() -> bool:
        now = r.executor._clock.now_ns()
        return r.executor.registry.price("BTCUSDT", now, 60 * SECOND) is not None

    await eventually(known, timeout_s=10)


async def resting_price(r: Rig, below: str = "0.99") -> Decimal:
    """A buy price `below` x the last trade: a post-only order there rests."""
    return (await r.last_price() * Decimal(below)).quantize(TICK)


def limit_of(order: SubmitOrder) -> Decimal:
    assert order.limit_price is not None, order
    return order.limit_price


def of_strategy(command: SubmitOrder, strategy_id: str, seq: int) -> SubmitOrder:
    coid = client_order_id(strategy_id, 1, command.ts_created_ns // 1000 + 10_000 + seq)
    return msgspec.structs.replace(command, client_order_id=coid, strategy_id=strategy_id)


def submit_batch(r: Rig, orders: list[SubmitOrder], strategy_id: str = "t1") -> SubmitOrders:
    now = r.executor._clock.now_ns()
    return SubmitOrders(
        strategy_id=strategy_id,
        orders=tuple(orders),
        ts_created_ns=now,
        expires_at_ns=now + 30 * SECOND,
    )


def answers_by_order(r: Rig) -> dict[str, list[object]]:
    """Every order's answers (accepted, rejected, denied), by client_order_id."""
    found: dict[str, list[object]] = {}
    for kind in ANSWERS:
        for message in r.messages(kind):
            found.setdefault(message.client_order_id, []).append(message)
    return found


def answered(r: Rig, coids: Sequence[str]) -> bool:
    answers = answers_by_order(r)
    return all(coid in answers for coid in coids)


def journaled(r: Rig) -> Counter[str]:
    return Counter(coid for (coid,) in r.journal_rows("SELECT client_order_id FROM intents"))


async def place_resting(r: Rig, count: int) -> list[SubmitOrder]:
    """`count` post-only buys 1 % below the market, accepted by the venue."""
    await prices_known(r)
    price = await resting_price(r)
    orders = [r.order(limit_price=price - i * TICK) for i in range(count)]
    await r.send(submit_batch(r, orders))
    coids = [o.client_order_id for o in orders]
    await eventually(lambda: answered(r, coids), timeout_s=10)
    accepted = {m.client_order_id for m in r.messages(OrderAccepted)}
    assert accepted >= set(coids), answers_by_order(r)
    return orders


async def test_each_order_of_a_batch_gets_its_own_answer_when_one_is_refused_and_one_denied(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, **WIDE_BAND) as r:
        # Arrange
        await prices_known(r)
        price = await resting_price(r)
        good = r.order(limit_price=price)
        refused = msgspec.structs.replace(  # reduce-only with no position: the venue says no
            r.order(limit_price=price), reduce_only=True
        )
        denied = r.order(limit_price=await resting_price(r, "0.95"))  # 500 bps: off the band
        coids = [good.client_order_id, refused.client_order_id, denied.client_order_id]

        # Act
        await r.send(submit_batch(r, [good, refused, denied]))
        await eventually(lambda: answered(r, coids), timeout_s=10)

        # Assert
        venue = {coid: await r.venue_orders(coid) for coid in coids}
        answers = answers_by_order(r)
        intents = journaled(r)
        batches = r.executor.counters["batches"]
    assert {coid: [type(m).__name__ for m in answers[coid]] for coid in coids} == {
        good.client_order_id: ["OrderAccepted"],
        refused.client_order_id: ["OrderRejected"],
        denied.client_order_id: ["OrderDenied"],
    }
    (rejection,) = answers[refused.client_order_id]
    assert isinstance(rejection, OrderRejected)
    assert rejection.venue_code == REDUCE_ONLY_REFUSED, rejection
    (denial,) = answers[denied.client_order_id]
    assert isinstance(denial, OrderDenied)
    assert "price_band_bps" in denial.reason, denial
    assert {coid: len(orders) for coid, orders in venue.items()} == {
        good.client_order_id: 1,
        refused.client_order_id: 0,
        denied.client_order_id: 0,
    }
    assert venue[good.client_order_id][0]["orderStatus"] == "New"
    assert intents == {good.client_order_id: 1, refused.client_order_id: 1}
    assert batches == 1  # the two that passed went in one create-batch


async def test_amend_batch_moves_each_order_and_denies_an_unknown_one_on_its_own(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, **WIDE_BAND) as r:
        # Arrange
        orders = await place_resting(r, 3)
        now = r.executor._clock.now_ns()
        new_prices = {o.client_order_id: limit_of(o) - 20 * TICK for o in orders}
        unknown = ClientOrderId(client_order_id("t1", 1, now // 1000 + 99_999))

        def amend(coid: str, price: Decimal) -> AmendOrder:
            return AmendOrder(
                client_order_id=ClientOrderId(coid),
                strategy_id="t1",
                symbol=orders[0].symbol,
                limit_price=price,
                ts_created_ns=now,
                expires_at_ns=now + 10 * SECOND,
            )

        amends = [amend(coid, price) for coid, price in new_prices.items()]
        amends.insert(1, amend(unknown, limit_of(orders[0]) - TICK))

        # Act
        await r.send(
            AmendOrders(
                strategy_id="t1",
                amends=tuple(amends),
                ts_created_ns=now,
                expires_at_ns=now + 10 * SECOND,
            )
        )
        await eventually(lambda: len(r.messages(OrderAmended)) >= 3, timeout_s=10)
        await eventually(lambda: any(d.client_order_id == unknown for d in r.messages(OrderDenied)))

        async def venue_moved() -> bool:
            for coid, price in new_prices.items():
                (order,) = await r.venue_orders(coid)
                if Decimal(order["price"]) != price:
                    return False
            return True

        await eventually(venue_moved, timeout_s=10)
        amended = r.messages(OrderAmended)
        denied = r.messages(OrderDenied)

    # Assert
    assert sorted(m.client_order_id for m in amended) == sorted(new_prices), amended
    for m in amended:
        assert m.limit_price == new_prices[m.client_order_id], m
        assert 0 < m.ts_command_recv_ns <= m.ts_request_sent_ns <= m.ts_ack_ns, m
        assert m.venue_order_id, m
    assert [d.client_order_id for d in denied] == [unknown], denied
    assert "unknown client_order_id" in denied[0].reason, denied[0]


async def test_cancel_batch_cancels_every_order_and_leaves_nothing_open(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, **WIDE_BAND) as r:
        # Arrange
        orders = await place_resting(r, 3)
        assert len(await r.open_at_venue()) == 3
        now = r.executor._clock.now_ns()
        cancels = tuple(
            CancelOrder(
                client_order_id=o.client_order_id,
                strategy_id="t1",
                symbol=o.symbol,
                ts_created_ns=now,
                expires_at_ns=now + 10 * SECOND,
            )
            for o in orders
        )

        # Act
        await r.send(
            CancelOrders(
                strategy_id="t1", cancels=cancels, ts_created_ns=now, expires_at_ns=now + SECOND
            )
        )
        await eventually(lambda: len(r.messages(OrderCanceled)) >= 3, timeout_s=10)
        open_at_venue = await r.open_at_venue()
        canceled = r.messages(OrderCanceled)
        denied = r.messages(OrderDenied)

    # Assert
    assert sorted(c.client_order_id for c in canceled) == sorted(o.client_order_id for o in orders)
    assert denied == []
    assert open_at_venue == []


async def test_a_batch_over_twenty_or_of_two_strategies_is_denied_order_by_order(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir, **WIDE_BAND) as r:
        # Arrange
        await prices_known(r)
        price = await resting_price(r)
        too_many = [r.order(limit_price=price) for _ in range(21)]
        mixed = [r.order(limit_price=price), of_strategy(r.order(limit_price=price), "t2", 1)]
        now = r.executor._clock.now_ns()
        cancels = [
            CancelOrder(
                client_order_id=o.client_order_id,
                strategy_id="t1",
                symbol=o.symbol,
                ts_created_ns=now,
                expires_at_ns=now + 10 * SECOND,
            )
            for o in too_many
        ]
        coids = [o.client_order_id for o in (*too_many, *mixed)]

        # Act
        await r.send(submit_batch(r, too_many))
        await r.send(submit_batch(r, mixed))
        await r.send(
            CancelOrders(
                strategy_id="t1",
                cancels=tuple(cancels),
                ts_created_ns=now,
                expires_at_ns=now + 10 * SECOND,
            )
        )
        await eventually(lambda: len(r.messages(OrderDenied)) >= 21 + 2 + 21, timeout_s=10)
        denials = r.messages(OrderDenied)
        open_at_venue = await r.open_at_venue()
        intents = journaled(r)

    # Assert
    by_kind = Counter((d.command_kind, d.client_order_id) for d in denials)
    assert all(n == 1 for n in by_kind.values()), by_kind
    submits = {d.client_order_id: d.reason for d in denials if d.command_kind == "SubmitOrder"}
    assert sorted(submits) == sorted(coids)
    for o in too_many:
        assert submits[o.client_order_id] == "SubmitOrders holds 1 .. 20 orders, not 21"
    for o in mixed:
        assert submits[o.client_order_id] == "SubmitOrders of t1 carries orders of t1, t2"
    cancel_reasons = {d.reason for d in denials if d.command_kind == "CancelOrder"}
    assert cancel_reasons == {"CancelOrders holds 1 .. 20 orders, not 21"}
    assert open_at_venue == []
    assert intents == {}


async def test_an_unanswered_create_batch_is_resolved_order_by_order_none_lost_or_doubled(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    settings = {
        **WIDE_BAND,
        "rest_timeout_s": 0.5,
        "in_doubt_queries": 3,
        "in_doubt_query_interval_s": 0.2,
        "price_max_age_s": 60.0,  # the held answers must not also make the price stale
        "position_check_interval_s": 60.0,
    }
    async with rig(make_node, ipc_dir, **settings) as r:
        # Arrange
        await prices_known(r)
        price = await resting_price(r)
        orders = [
            r.order(limit_price=price - i * TICK, expires_in_ns=30 * SECOND) for i in range(3)
        ]
        coids = [o.client_order_id for o in orders]
        await r.sim.set_faults(rest_latency_ms=1500)  # answers held past rest_timeout_s

        # Act
        await r.send(submit_batch(r, orders))
        await eventually(lambda: r.executor.counters["in_doubt"] >= 1, timeout_s=10)
        await r.sim.set_faults(rest_latency_ms=0)
        await eventually(lambda: answered(r, coids), timeout_s=20)
        # Whatever each order's fate, its venue copy is settled once the answers are in.
        venue = {coid: await r.venue_orders(coid) for coid in coids}
        answers = answers_by_order(r)
        intents = journaled(r)
        doubts = r.journal_rows(
            "SELECT client_order_id, count(*) FROM events WHERE kind = 'in_doubt'"
            " GROUP BY client_order_id"
        )

    # Assert
    assert {coid: len(answers[coid]) for coid in coids} == dict.fromkeys(coids, 1), answers
    for coid in coids:
        (answer,) = answers[coid]
        assert isinstance(answer, OrderAccepted | OrderRejected), answer
        expected_at_venue = 1 if isinstance(answer, OrderAccepted) else 0
        assert len(venue[coid]) == expected_at_venue, (coid, answer, venue[coid])
    assert intents == dict.fromkeys(coids, 1)
    assert {coid for coid, _ in doubts} == set(coids), doubts  # each resolved on its own
