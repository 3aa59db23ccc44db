"""The order transition table and OrderRecord: examples, then hypothesis properties."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.executor.order_state import (
    _NEXT_STATUSES,
    CANCELABLE_STATUSES,
    TERMINAL_STATUSES,
    InvalidFill,
    InvalidTransition,
    OrderRecord,
    Transition,
    VenueOrderState,
    classify,
    next_status,
    precedes,
)
from shared.bybit.translate import order_status
from shared.schema import OrderStatus, OrderType, TimeInForce, VenueOrderId
from tests.helpers.samples import make_submit

S = OrderStatus
D = Decimal
QTY = D("0.002")  # make_submit()'s qty
VOID = VenueOrderId("1321003749386327552")


def record_in(*path: OrderStatus) -> OrderRecord:
    record = OrderRecord.from_command(make_submit())
    for status in path:
        assert record.apply_status(status) is Transition.APPLY
    return record


def test_table_is_the_documented_one() -> None:
    expected = {
        S.INTENDED: {S.SUBMITTED, S.DENIED, S.IN_DOUBT},
        S.SUBMITTED: {S.ACCEPTED, S.REJECTED, S.IN_DOUBT, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED},
        S.IN_DOUBT: {S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED},
        S.ACCEPTED: {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED},
        S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELED},
        S.PENDING_CANCEL: {S.CANCELED, S.FILLED, S.PARTIALLY_FILLED},
    }
    assert expected == _NEXT_STATUSES
    assert {S.FILLED, S.CANCELED, S.REJECTED, S.DENIED} == TERMINAL_STATUSES
    assert {S.ACCEPTED, S.PARTIALLY_FILLED} == CANCELABLE_STATUSES


@pytest.mark.parametrize(
    ("current", "reported"),
    [(S.INTENDED, S.SUBMITTED), (S.SUBMITTED, S.FILLED), (S.IN_DOUBT, S.SUBMITTED)],
)
def test_next_status_returns_reported_when_move_is_in_table(
    current: OrderStatus, reported: OrderStatus
) -> None:
    assert next_status(current, reported) is reported


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
def test_next_status_raises_when_order_is_terminal(terminal: OrderStatus) -> None:
    for reported in OrderStatus:
        with pytest.raises(InvalidTransition):
            next_status(terminal, reported)


def test_intent_found_unsent_after_restart_goes_in_doubt_then_resends() -> None:
    record = record_in(S.IN_DOUBT, S.SUBMITTED, S.ACCEPTED)
    assert record.status is S.ACCEPTED


def test_new_after_partially_filled_is_ignored_and_counted() -> None:
    # Arrange: a reordered websocket message brings "New" after "PartiallyFilled"
    record = record_in(S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED)

    # Act
    transition = record.apply_status(S.ACCEPTED)

    # Assert
    assert transition is Transition.STALE
    assert record.status is S.PARTIALLY_FILLED
    assert record.stale_reports == 1


def test_in_doubt_verdict_after_the_venue_answered_is_stale() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED)
    assert record.apply_status(S.IN_DOUBT) is Transition.STALE
    assert record.status is S.ACCEPTED


def test_second_filled_message_is_a_counted_duplicate() -> None:
    # Reference 5.1: a cancel racing a fill yields two "Filled" messages.
    record = record_in(S.SUBMITTED, S.ACCEPTED, S.PENDING_CANCEL, S.FILLED)
    assert record.apply_status(S.FILLED) is Transition.DUPLICATE
    assert (record.status, record.duplicate_reports) == (S.FILLED, 1)


def test_new_while_cancel_pending_is_stale() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED, S.PENDING_CANCEL)
    assert record.apply_status(S.ACCEPTED) is Transition.STALE
    assert record.status is S.PENDING_CANCEL


@pytest.mark.parametrize(
    ("path", "reported"),
    [
        ((S.SUBMITTED, S.REJECTED), S.ACCEPTED),
        ((S.SUBMITTED, S.ACCEPTED, S.CANCELED), S.FILLED),
        ((S.SUBMITTED, S.ACCEPTED), S.REJECTED),
        ((), S.ACCEPTED),
        ((S.DENIED,), S.ACCEPTED),
        ((S.SUBMITTED,), S.PENDING_CANCEL),
    ],
)
def test_impossible_report_raises(path: tuple[OrderStatus, ...], reported: OrderStatus) -> None:
    record = record_in(*path)
    with pytest.raises(InvalidTransition):
        record.apply_status(reported)
    assert record.status is (path[-1] if path else S.INTENDED)


def test_amend_ack_reported_as_new_keeps_a_part_filled_order_part_filled() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED)
    reported = order_status("New", cum_exec_qty=D("0.001"), qty=QTY)
    assert record.apply_status(reported) is Transition.APPLY
    assert record.status is S.PARTIALLY_FILLED


def test_fills_accumulate_with_weighted_average_and_finish_the_order() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED)

    assert record.apply_fill("e1", D("0.001"), D("100"), D("0.01"))
    assert record.status is S.PARTIALLY_FILLED
    assert record.apply_fill("e2", D("0.001"), D("110"), D("0.02"))

    assert record.status is S.FILLED
    assert (record.cum_filled_qty, record.avg_fill_price, record.fees) == (
        QTY,
        D("105"),
        D("0.03"),
    )
    assert record.leaves_qty == 0


def test_duplicate_exec_id_is_not_counted_twice() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED)
    assert record.apply_fill("e1", D("0.001"), D("100"), D("0"))
    assert not record.apply_fill("e1", D("0.001"), D("100"), D("0"))
    assert record.cum_filled_qty == D("0.001")


def test_fill_beyond_qty_raises_and_changes_nothing() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED)
    record.apply_fill("e1", D("0.0015"), D("100"), D("0"))
    with pytest.raises(InvalidFill):
        record.apply_fill("e2", D("0.001"), D("100"), D("0"))
    assert record.cum_filled_qty == D("0.0015")
    assert record.seen_exec_ids == {"e1"}


@pytest.mark.parametrize("path", [(), (S.DENIED,), (S.SUBMITTED, S.REJECTED)])
def test_fill_on_an_order_the_venue_never_had_raises(path: tuple[OrderStatus, ...]) -> None:
    record = record_in(*path)
    with pytest.raises(InvalidFill):
        record.apply_fill("e1", D("0.001"), D("100"), D("0"))


def test_execution_arriving_after_cancelled_is_counted_and_keeps_status() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED, S.CANCELED)
    assert record.apply_fill("e1", D("0.001"), D("100"), D("0"))
    assert (record.status, record.cum_filled_qty) == (S.CANCELED, D("0.001"))


def test_fill_before_the_ack_moves_a_submitted_order() -> None:
    record = record_in(S.SUBMITTED)
    record.apply_fill("e1", QTY, D("100"), D("0"))
    assert record.status is S.FILLED


def test_ack_sets_venue_id_once_and_a_different_one_raises() -> None:
    record = record_in(S.SUBMITTED)
    record.record_ack(VOID, ts_ack_ns=5)
    record.apply_status(S.ACCEPTED, venue_order_id=VOID)
    assert (record.venue_order_id, record.ts_ack_ns, record.status) == (VOID, 5, S.ACCEPTED)
    with pytest.raises(InvalidTransition):
        record.record_ack(VenueOrderId("other"), ts_ack_ns=6)


def test_correct_takes_the_venues_view_whatever_the_table_says() -> None:
    record = record_in(S.SUBMITTED, S.REJECTED)
    venue = VenueOrderState(VOID, S.PARTIALLY_FILLED, QTY, D("64000"), D("0.001"), D("64"))
    record.correct(venue)
    assert (record.status, record.cum_filled_qty, record.avg_fill_price) == (
        S.PARTIALLY_FILLED,
        D("0.001"),
        D("64000"),
    )


def test_to_open_order_carries_the_record() -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED)
    record.record_ack(VOID, ts_ack_ns=1)
    record.apply_fill("e1", D("0.001"), D("64000.1"), D("0"))

    open_order = record.to_open_order()

    assert open_order.venue_order_id == VOID
    assert open_order.status is S.PARTIALLY_FILLED
    assert open_order.cum_filled_qty == D("0.001")
    assert (open_order.order_type, open_order.time_in_force) == (
        OrderType.LIMIT,
        TimeInForce.POST_ONLY,
    )


def test_precedes_follows_the_table() -> None:
    assert precedes(S.SUBMITTED, S.FILLED)
    assert not precedes(S.FILLED, S.SUBMITTED)
    assert not precedes(S.ACCEPTED, S.REJECTED)


# ---- properties

_statuses = st.sampled_from(list(OrderStatus))
_fills = st.tuples(
    st.sampled_from(["e1", "e2", "e3", "e4", "e5"]),
    st.decimals(min_value=D("0.0001"), max_value=D("0.002"), places=4),
)
_steps = st.lists(st.one_of(_statuses, _fills), max_size=25)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(_steps)
def test_no_sequence_of_reports_and_fills_makes_an_illegal_move(
    steps: list[OrderStatus | tuple[str, Decimal]],
) -> None:
    record = OrderRecord.from_command(make_submit())
    for step in steps:
        before = (record.status, record.cum_filled_qty, frozenset(record.seen_exec_ids))
        try:
            if isinstance(step, OrderStatus):
                record.apply_status(step)
            else:
                record.apply_fill(step[0], step[1], D("100"), D("0"))
        except (InvalidTransition, InvalidFill):
            # A refused step leaves the record exactly as it was.
            after = (record.status, record.cum_filled_qty, frozenset(record.seen_exec_ids))
            assert after == before
            continue
        status, cum = record.status, record.cum_filled_qty
        assert status == before[0] or status in _NEXT_STATUSES[before[0]]
        assert before[1] <= cum <= record.qty
        if cum == record.qty and before[0] not in TERMINAL_STATUSES and cum != before[1]:
            assert status is S.FILLED


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(_statuses, max_size=20))
def test_classify_agrees_with_the_table(reports: list[OrderStatus]) -> None:
    record = OrderRecord.from_command(make_submit())
    for reported in reports:
        current = record.status
        try:
            transition = record.apply_status(reported)
        except InvalidTransition:
            assert reported not in _NEXT_STATUSES.get(current, frozenset())
            assert reported != current
            assert not precedes(reported, current)
            continue
        if transition is Transition.APPLY:
            assert record.status is reported
        else:  # duplicate or stale: ignored
            assert record.status is current
            assert reported == current or precedes(reported, current)


@pytest.mark.parametrize("earlier", sorted(set(OrderStatus) - TERMINAL_STATUSES))
def test_every_earlier_status_is_stale_once_filled(earlier: OrderStatus) -> None:
    record = record_in(S.SUBMITTED, S.ACCEPTED, S.FILLED)
    assert classify(record.status, earlier) is Transition.STALE
