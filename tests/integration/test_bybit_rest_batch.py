"""BybitRest against the simulator: the batch endpoints (one result per order), the start_*
hot path (written before any await, several in flight) and the timing carried with results."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.bybit import wire
from shared.bybit.errors import VenueError
from shared.bybit.rest import CREATE, CREATE_BATCH, MAX_BATCH, BybitRest, Timed, Timing
from tests.helpers.simulator import API_KEY, API_SECRET, Sim, running_simulator

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_simulator(symbols=("BTCUSDT",)) as running:
        yield running


@pytest.fixture
async def rest(sim: Sim) -> AsyncIterator[BybitRest]:
    client = BybitRest(sim.url, api_key=API_KEY, api_secret=API_SECRET, timeout_s=2.0)
    await client.sync_time()
    yield client
    await client.close()


def resting(link_id: str, qty: str = "0.01") -> wire.OrderCreateRequest:
    """A BTCUSDT limit buy at 1000, far below the market, so it rests."""
    return wire.OrderCreateRequest(
        symbol="BTCUSDT",
        side="Buy",
        order_type="Limit",
        qty=qty,
        price="1000",
        time_in_force="GTC",
        order_link_id=link_id,
    )


def assert_sane(timing: Timing, path: str) -> None:
    assert timing.path == path
    assert 0 < timing.sent_ns <= timing.received_ns
    assert timing.attempts == 1


async def open_link_ids(rest: BybitRest) -> list[str]:
    return sorted(o.order_link_id for o in await rest.open_orders(symbol="BTCUSDT"))


# ------------------------------------------------------------------ batches


async def test_a_batch_where_some_orders_fail_returns_each_orders_code(rest: BybitRest) -> None:
    await rest.create_order(resting("b-taken"))
    requests = [resting("b-1"), resting("b-taken"), resting("b-2"), resting("b-3", qty="-1")]

    timed = await rest.create_batch(requests)

    first, duplicate, second, bad_qty = timed.value
    assert [i.order_link_id for i in timed.value] == ["b-1", "b-taken", "b-2", "b-3"]
    assert (first.code, first.message, first.ok) == (0, "OK", True)
    assert second.code == 0
    assert first.order_id
    assert second.order_id not in ("", first.order_id)
    assert (duplicate.code, duplicate.order_id, duplicate.ok) == (110072, "", False)
    assert (bad_qty.ok, bad_qty.order_id) == (False, "")
    assert bad_qty.message
    assert_sane(timed.timing, CREATE_BATCH)
    assert await open_link_ids(rest) == ["b-1", "b-2", "b-taken"]


async def test_amend_and_cancel_batches_answer_per_order(rest: BybitRest) -> None:
    await rest.create_batch([resting("a-1"), resting("a-2")])

    amended = await rest.amend_batch(
        [
            wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="a-1", qty="0.02"),
            wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="nope", qty="0.02"),
        ]
    )
    canceled = await rest.cancel_batch(
        [
            wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="a-1"),
            wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="a-2"),
            wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="a-1"),
        ]
    )

    assert [(i.order_link_id, i.code) for i in amended.value] == [("a-1", 0), ("nope", 110001)]
    assert [i.code for i in canceled.value] == [0, 0, 110001]
    assert canceled.value[0].order_id == amended.value[0].order_id != ""
    assert await open_link_ids(rest) == []


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
async def test_a_batch_of_no_or_too_many_orders_is_refused_before_sending(
    rest: BybitRest, size: int
) -> None:
    sent = rest.stats.requests

    with pytest.raises(ValueError, match=r"a batch holds 1 \.\. 20 orders"):
        await rest.create_batch([resting(f"x-{i}") for i in range(size)])
    with pytest.raises(ValueError, match="a batch holds"):
        rest.start_create_batch([resting(f"x-{i}") for i in range(size)])

    assert rest.stats.requests == sent


async def test_a_batch_counts_each_order_against_the_rate_budget(rest: BybitRest) -> None:
    await rest.create_batch([resting("u-0")])  # the venue's headers start the budget
    before = rest.budget.snapshot()[CREATE_BATCH]["remaining"]

    pending = rest.start_create_batch([resting(f"u-{i}") for i in range(1, 4)])
    counted = rest.budget.snapshot()[CREATE_BATCH]["remaining"]
    assert pending is not None
    await pending.result()

    assert counted == before - 3


# ------------------------------------------------------------------ the hot path


async def test_start_returns_none_without_an_idle_connection_and_works_after_warm(
    sim: Sim,
) -> None:
    rest = BybitRest(sim.url, api_key=API_KEY, api_secret=API_SECRET, timeout_s=2.0)

    cold = rest.start_create_order(resting("h-1"))
    await rest.warm(1)
    pending = rest.start_create_order(resting("h-1"))
    assert pending is not None
    sent_ns = pending.sent_ns
    in_flight = rest.idle_connections
    timed = await pending.result()
    idle_after = rest.idle_connections
    await rest.close()

    assert cold is None
    assert sent_ns > 0
    assert in_flight == 0
    assert timed.value.order_link_id == "h-1"
    assert timed.value.order_id
    assert timed.timing.sent_ns == sent_ns
    assert_sane(timed.timing, CREATE)
    assert idle_after == 1


async def test_several_starts_in_flight_at_once_all_resolve(rest: BybitRest) -> None:
    await rest.warm(4)

    pendings = [rest.start_create_order(resting(f"m-{i}")) for i in range(4)]
    busy = rest.start_create_order(resting("m-4"))
    started = [p for p in pendings if p is not None]
    results = await asyncio.gather(*(p.result() for p in started))

    assert busy is None  # every warmed connection carries a request
    assert len(started) == 4
    assert [r.value.order_link_id for r in results] == [f"m-{i}" for i in range(4)]
    assert len({r.value.order_id for r in results}) == 4
    for pending, result in zip(started, results, strict=True):
        assert result.timing.sent_ns == pending.sent_ns
        assert_sane(result.timing, CREATE)
    assert await open_link_ids(rest) == [f"m-{i}" for i in range(4)]


async def test_started_amend_and_cancel_carry_the_venues_answer(rest: BybitRest) -> None:
    await rest.warm(1)
    ids = await rest.create_order(resting("s-1"))

    amend = rest.start_amend_order(
        wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="s-1", qty="0.02"), retry=True
    )
    assert amend is not None
    amended = await amend.result()
    cancel = rest.start_cancel_order(
        wire.OrderCancelRequest(symbol="BTCUSDT", order_id=ids.order_id), retry=True
    )
    assert cancel is not None
    canceled = await cancel.result()
    again = rest.start_cancel_order(
        wire.OrderCancelRequest(symbol="BTCUSDT", order_id=ids.order_id)
    )
    assert again is not None
    with pytest.raises(VenueError) as unknown:
        await again.result()

    assert amended.value.order_id == canceled.value.order_id == ids.order_id
    assert unknown.value.ret_code == 110001
    assert not unknown.value.outcome_unknown


async def test_started_batches_resolve_per_order(rest: BybitRest) -> None:
    await rest.warm(1)

    create = rest.start_create_batch([resting("sb-1"), resting("sb-2")])
    assert create is not None
    created = await create.result()
    amend = rest.start_amend_batch(
        [wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="sb-1", price="1001")]
    )
    assert amend is not None
    amended = await amend.result()
    cancel = rest.start_cancel_batch(
        [wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id=f"sb-{i}") for i in (1, 2)]
    )
    assert cancel is not None
    canceled = await cancel.result()

    assert [i.code for i in created.value + amended.value + canceled.value] == [0] * 5
    assert await open_link_ids(rest) == []


async def test_start_returns_none_when_the_rate_budget_says_wait(rest: BybitRest) -> None:
    await rest.warm(1)
    sent = rest.stats.requests
    rest.budget.exhaust(CREATE, rest.now_ms() + 60_000)

    pending = rest.start_create_order(resting("r-1"))

    assert pending is None
    assert rest.stats.requests == sent
    assert rest.idle_connections == 1


async def test_the_timed_methods_carry_their_own_timing(rest: BybitRest) -> None:
    created, amended, canceled = await _lifecycle(rest)

    assert_sane(created.timing, CREATE)
    assert_sane(amended.timing, "/v5/order/amend")
    assert_sane(canceled.timing, "/v5/order/cancel")
    assert created.timing.received_ns <= amended.timing.sent_ns
    assert amended.timing.received_ns <= canceled.timing.sent_ns


async def _lifecycle(rest: BybitRest) -> tuple[Timed[Any], Timed[Any], Timed[Any]]:
    created = await rest.create_order_timed(resting("t-1"))
    amended = await rest.amend_order_timed(
        wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="t-1", qty="0.02"), retry=True
    )
    canceled = await rest.cancel_order_timed(
        wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="t-1"), retry=True
    )
    return created, amended, canceled
