"""The executor's backstop decisions: venue stop price, daily loss, dead-man's switch, and the
working orders the venue does not list."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.executor.backstops import (
    DailyLoss,
    DeadMansSwitch,
    position_differences,
    unlisted_working_orders,
    utc_day,
    venue_stop_price,
)
from services.executor.order_state import OrderRecord
from shared.schema import (
    ClientOrderId,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Symbol,
    TimeInForce,
    VenueOrderId,
)
from tests.helpers.samples import BTCUSDT_RULES

SECOND = 1_000_000_000
RULES = BTCUSDT_RULES
entries = st.decimals(min_value=Decimal(1), max_value=Decimal(200_000), places=1)
stop_pcts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50), places=2)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10), places=3)


def position(qty: Decimal, entry: Decimal) -> Position:
    return Position(
        symbol=Symbol("BTCUSDT"),
        qty=qty,
        avg_entry_price=entry,
        unrealised_pnl=Decimal(0),
        realised_pnl=Decimal(0),
    )


@given(entry=entries, stop_pct=stop_pcts, qty=quantities)
def test_a_long_stop_is_below_its_entry_on_the_tick_and_never_tighter_than_asked(
    entry: Decimal, stop_pct: Decimal, qty: Decimal
) -> None:
    stop = venue_stop_price(position(qty, entry), stop_pct, RULES)
    assert stop < entry
    assert stop % RULES.tick_size == 0
    assert entry - stop >= entry * stop_pct / 100


@given(entry=entries, stop_pct=stop_pcts, qty=quantities)
def test_a_short_stop_is_above_its_entry_on_the_tick_and_never_tighter_than_asked(
    entry: Decimal, stop_pct: Decimal, qty: Decimal
) -> None:
    stop = venue_stop_price(position(-qty, entry), stop_pct, RULES)
    assert stop > entry
    assert stop % RULES.tick_size == 0
    assert stop - entry >= entry * stop_pct / 100


def test_a_flat_position_has_no_stop() -> None:
    with pytest.raises(ValueError, match="flat position"):
        venue_stop_price(position(Decimal(0), Decimal(100)), Decimal(2), RULES)


@given(
    start=st.decimals(min_value=Decimal(0), max_value=Decimal(10**6), places=2),
    change=st.decimals(min_value=Decimal(-(10**4)), max_value=Decimal(10**4), places=2),
    limit=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**4), places=2),
)
def test_the_daily_loss_is_breached_exactly_when_the_loss_reaches_the_limit(
    start: Decimal, change: Decimal, limit: Decimal
) -> None:
    daily = DailyLoss(limit_usdt=limit)
    daily.start_day("2026-11-21", start)
    assert daily.pnl_usdt(start + change) == change
    assert daily.breached(start + change) == (-change >= limit)


def test_a_new_utc_day_starts_at_midnight() -> None:
    midnight_ns = 1_795_305_600 * SECOND  # 2026-11-22T00:00:00Z
    daily = DailyLoss(limit_usdt=Decimal(10))
    daily.start_day(utc_day(midnight_ns - 1), Decimal(1000))
    assert utc_day(midnight_ns - 1) == "2026-11-21"
    assert not daily.is_new_day(midnight_ns - 1)
    assert daily.is_new_day(midnight_ns)


def test_the_dead_mans_switch_fires_only_when_silent_long_enough_with_working_orders() -> None:
    switch = DeadMansSwitch(after_ns=3 * SECOND, last_heard_ns=0)
    assert not switch.fires(3 * SECOND - 1, working_orders=1)
    assert switch.fires(3 * SECOND, working_orders=1)
    assert not switch.fires(10 * SECOND, working_orders=0)
    switch.heard(10 * SECOND)
    assert not switch.fires(12 * SECOND, working_orders=1)


def record(name: str, status: OrderStatus, ts_ack_ns: int, venue_id: str = "") -> OrderRecord:
    return OrderRecord(
        client_order_id=ClientOrderId(name),
        strategy_id="t1",
        symbol=Symbol("BTCUSDT"),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY,
        qty=Decimal("0.01"),
        limit_price=Decimal(100),
        reduce_only=False,
        venue_order_id=VenueOrderId(venue_id or f"v-{name}"),
        status=status,
        ts_ack_ns=ts_ack_ns,
    )


def test_working_orders_the_venue_does_not_list_are_found_once_their_reports_are_overdue() -> None:
    now = 100 * SECOND
    records = [
        record("listed", OrderStatus.ACCEPTED, 0),
        record("listed-by-venue-id", OrderStatus.PARTIALLY_FILLED, 0, venue_id="v-9"),
        record("lost", OrderStatus.ACCEPTED, now - SECOND),
        record("lost-cancel", OrderStatus.PENDING_CANCEL, 0),
        record("just-acked", OrderStatus.ACCEPTED, now - SECOND + 1),
        record("in-doubt", OrderStatus.IN_DOUBT, 0),  # asked about by its own path
        record("filled", OrderStatus.FILLED, 0),
    ]

    missing = unlisted_working_orders(records, {"listed", "v-9"}, now, SECOND)

    assert missing == ["lost", "lost-cancel"]


def test_position_differences_compare_what_neither_the_stream_nor_a_refusal_made_unknown() -> None:
    ours = {
        "BTCUSDT": Decimal("0.002"),
        "ETHUSDT": Decimal("0.1"),
        "SOLUSDT": Decimal("1"),
        "XRPUSDT": Decimal("0"),
    }
    venue = {"BTCUSDT": Decimal("0.002"), "ETHUSDT": Decimal("0.3"), "DOGEUSDT": Decimal("-5")}

    differences = position_differences(ours, venue, unknown={"SOLUSDT"}, changed_since={"XRPUSDT"})

    # SOLUSDT is unlisted but its report was refused (unknown, not flat); XRPUSDT was
    # streamed since the request left; DOGEUSDT is the venue's alone.
    assert differences == [
        ("DOGEUSDT", Decimal(0), Decimal("-5")),
        ("ETHUSDT", Decimal("0.1"), Decimal("0.3")),
    ]
    assert position_differences({"BTCUSDT": Decimal("0.002")}, {}, set(), set()) == [
        ("BTCUSDT", Decimal("0.002"), Decimal(0))
    ]
