"""fill_core.judge_fill: every fill is booked at most once, on an order that can take it."""

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.executor.fill_core import FillDecision, FillVerdict, judge_fill
from services.executor.order_state import OrderRecord
from services.executor.venue_reports import VenueFill
from shared.schema import OrderStatus, Symbol, VenueOrderId
from tests.helpers.samples import make_submit

D = Decimal
S = OrderStatus
SINCE_NS = 1_000


def fill(
    exec_id: str = "e1", qty: str = "0.001", *, ts_ns: int = 2_000, **changes: object
) -> VenueFill:
    made = VenueFill(
        exec_id=exec_id,
        order_id=VenueOrderId("v1"),
        order_link_id="mom1-3-17",
        symbol=Symbol("BTCUSDT"),
        side="Buy",
        qty=D(qty),
        price=D("64000"),
        value=D(qty) * 64000,
        fee=D("0.01"),
        is_maker=False,
        is_trade=True,
        stop_order_type="UNKNOWN",
        ts_ns=ts_ns,
        seq=1,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def order(status: OrderStatus = S.ACCEPTED, filled: str = "0") -> OrderRecord:
    record = OrderRecord.from_command(make_submit())  # qty 0.002
    record.status, record.cum_filled_qty = status, D(filled)
    return record


def test_a_fill_of_a_working_order_is_booked_with_the_status_it_brings() -> None:
    assert judge_fill(fill(), order(), set(), SINCE_NS) == FillDecision(
        FillVerdict.BOOK, S.PARTIALLY_FILLED
    )
    assert judge_fill(fill(), order(S.PARTIALLY_FILLED, "0.001"), set(), SINCE_NS) == (
        FillDecision(FillVerdict.BOOK, S.FILLED)
    )


def test_a_fill_that_overtakes_nothing_keeps_a_finished_orders_status() -> None:
    # "Cancelled" reported before the last execution: the fill is booked, the order stays so.
    decision = judge_fill(fill(), order(S.CANCELED), set(), SINCE_NS)
    assert decision == FillDecision(FillVerdict.BOOK, S.CANCELED)


def test_what_is_not_booked_says_why() -> None:
    assert judge_fill(fill(is_trade=False), order(), set(), SINCE_NS).verdict is (
        FillVerdict.NOT_A_FILL
    )
    assert judge_fill(fill(), order(), {"e1"}, SINCE_NS).verdict is FillVerdict.DUPLICATE
    assert judge_fill(fill(), None, set(), SINCE_NS).verdict is FillVerdict.EXTERNAL
    assert judge_fill(fill(ts_ns=SINCE_NS - 1), None, set(), SINCE_NS).verdict is (
        FillVerdict.BEFORE_JOURNAL
    )
    too_much = judge_fill(fill(qty="0.003"), order(), set(), SINCE_NS)
    assert too_much.verdict is FillVerdict.IMPOSSIBLE
    assert "exceeds qty 0.002" in too_much.error
    never_sent = judge_fill(fill(), order(S.INTENDED), set(), SINCE_NS)
    assert never_sent.verdict is FillVerdict.IMPOSSIBLE


@given(
    st.lists(
        st.tuples(st.sampled_from(["e1", "e2", "e3", "e4"]), st.sampled_from(["0.001", "0.002"])),
        max_size=12,
    )
)
def test_booking_what_it_says_never_books_an_exec_id_twice_nor_beyond_the_qty(
    reports: list[tuple[str, str]],
) -> None:
    record, booked = order(), set[str]()
    for exec_id, qty in reports:
        decision = judge_fill(fill(exec_id, qty), record, booked, SINCE_NS)
        if decision.verdict is FillVerdict.BOOK:
            booked.add(exec_id)
            record.apply_fill(exec_id, D(qty), D("64000"), D("0.01"))  # raises if impossible
            assert record.status is decision.status_after
    assert record.cum_filled_qty <= record.qty
    assert len(booked) == len(record.seen_exec_ids)
