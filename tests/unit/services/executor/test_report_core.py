"""report_core: what each venue report means, tested on bare records, without a journal,
a registry or a bus. The effects are compared whole; `Shell` below carries them out the way
venue_events.VenueEvents does, on plain collections, where the outcome matters."""

import copy
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from itertools import product
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.executor.effects import Count, Publish, RaiseAlert, Reconcile
from services.executor.journal_records import Fill
from services.executor.order_state import (
    InvalidTransition,
    OrderRecord,
    Transition,
    classify,
    precedes,
)
from services.executor.registry import fill_event
from services.executor.report_core import (
    AckOrder,
    ApplyFill,
    ApplyStatus,
    JournalFill,
    JournalStatus,
    MarkProtected,
    MarkUnprotected,
    PublishFill,
    RememberExecId,
    ReportEffect,
    SetPosition,
    fill_already_journaled,
    fill_reported,
    order_reported,
    position_reported,
    status_reported,
)
from services.executor.venue_reports import VenueFill, VenueOrder, VenuePosition, position_of
from shared.bybit import wire
from shared.schema import (
    AlertSeverity,
    ClientOrderId,
    OrderCanceled,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderStatus,
    PositionChanged,
    VenueOrderId,
)
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.samples import COID, SYM, make_submit

D = Decimal
S = OrderStatus
NOW = 5_000
SINCE_NS = 1_000  # the journal's first intent
VOID = VenueOrderId("v1")


def record(status: OrderStatus = S.ACCEPTED, filled: str = "0", void: str = "v1") -> OrderRecord:
    """make_submit()'s order (0.002 BTCUSDT) in `status`, `filled` of it filled."""
    made = OrderRecord.from_command(make_submit())
    made.status, made.cum_filled_qty = status, D(filled)
    made.cum_filled_value = D(filled) * 64000
    made.venue_order_id = VenueOrderId(void) if void else None
    return made


def order(status: OrderStatus, cum: str = "0", **changes: Any) -> VenueOrder:
    made = VenueOrder(
        order_id=VOID,
        order_link_id=COID,
        symbol=SYM,
        side="Buy",
        order_type="Limit",
        time_in_force="PostOnly",
        qty=D("0.002"),
        limit_price=D("64000.1"),
        status=status,
        venue_status=str(status),
        cum_qty=D(cum),
        cum_value=D(cum) * 64000,
        cum_fee=D(0),
        reduce_only=False,
        cancel_type="CancelByUser",
        reject_reason="EC_NoError",
        created_ns=SINCE_NS,
    )
    return replace(made, **changes)


def fill(exec_id: str = "e1", qty: str = "0.001", **changes: Any) -> VenueFill:
    made = VenueFill(
        exec_id=exec_id,
        order_id=VOID,
        order_link_id=COID,
        symbol=SYM,
        side="Buy",
        qty=D(qty),
        price=D("64000"),
        value=D(qty) * 64000,
        fee=D("0.01"),
        is_maker=True,
        is_trade=True,
        stop_order_type="UNKNOWN",
        ts_ns=2_000,
        seq=7,
    )
    return replace(made, **changes)


def journaled(exec_id: str = "e1", qty: str = "0.001", owner: str = COID) -> Fill:
    return Fill(
        exec_id=exec_id,
        client_order_id=ClientOrderId(owner),
        venue_order_id=VOID,
        qty=D(qty),
        price=D("64000"),
        fee=D("0.01"),
        is_maker=True,
        ts_event_ns=2_000,
    )


class Shell:
    """Carries out report effects as VenueEvents does, on plain collections."""

    def __init__(self) -> None:
        self.journal: dict[str, Fill] = {}  # exec id -> fill: unique, as the journal's
        self.journaled_statuses: list[OrderStatus] = []
        self.booked: set[str] = set()
        self.published: list[Any] = []
        self.counters = Counter[str]()
        self.alerts: list[tuple[AlertSeverity, str]] = []
        self.reconciles = 0

    def run(self, effects: list[ReportEffect]) -> None:
        for effect in effects:
            if isinstance(effect, JournalFill):
                if effect.fill.exec_id in self.journal:
                    self.run(fill_already_journaled(effect.fill.exec_id))
                    return
                self.journal[effect.fill.exec_id] = effect.fill
            else:
                self._one(effect)

    def _one(self, effect: ReportEffect) -> None:
        match effect:
            case RememberExecId(exec_id=exec_id):
                self.booked.add(exec_id)
            case ApplyFill(record=target, fill=booked):
                target.apply_fill(booked.exec_id, booked.qty, booked.price, booked.fee)
            case PublishFill(record=target, fill=booked):
                self.published.append(fill_event(target, booked))
            case AckOrder(record=target, venue_order_id=venue_order_id, ts_ns=ts_ns):
                target.record_ack(venue_order_id, ts_ns)
            case ApplyStatus(record=target, status=status):
                target.apply_status(status)
            case JournalStatus(status=status):
                self.journaled_statuses.append(status)
            case _:
                self._generic(effect)

    def _generic(self, effect: ReportEffect) -> None:
        match effect:
            case Publish(message=message):
                self.published.append(message)
            case Count(counter=counter, n=n):
                self.counters[counter] += n
            case RaiseAlert(severity=severity, code=code):
                self.alerts.append((severity, code))
            case Reconcile():
                self.reconciles += 1
            case _:
                raise AssertionError(f"not an order or fill effect: {effect}")


# ---------------------------------------------------------------- order reports


def test_a_report_of_an_order_we_do_not_know_is_counted() -> None:
    assert order_reported(order(S.CANCELED), None, NOW) == [Count("unknown_order_reports")]


@pytest.mark.parametrize("status", [S.PARTIALLY_FILLED, S.FILLED])
def test_a_fills_status_is_left_to_its_execution(status: OrderStatus) -> None:
    assert order_reported(order(status, "0.001"), record(), NOW) == []


def test_an_accepted_report_acks_the_order_and_journals_its_status() -> None:
    target = record(S.SUBMITTED, void="")

    effects = order_reported(order(S.ACCEPTED), target, NOW)

    assert effects == [
        AckOrder(target, VOID, NOW),
        ApplyStatus(target, S.ACCEPTED),
        JournalStatus(COID, S.ACCEPTED, NOW),
    ]


@pytest.mark.parametrize(
    ("cancel_type", "reject_reason", "reason"),
    [
        ("CancelByUser", "EC_NoError", "CancelByUser"),
        ("CancelByReduceOnly", "EC_NoError", "CancelByReduceOnly"),
        # Bybit's PostOnly that would take: "Cancelled", cancelType "UNKNOWN" (captured)
        ("UNKNOWN", "EC_PostOnlyWillTakeLiquidity", "EC_PostOnlyWillTakeLiquidity"),
        ("UNKNOWN", "EC_CancelForNoFullFill", "EC_CancelForNoFullFill"),
        ("UNKNOWN", "EC_NoError", "UNKNOWN"),
    ],
)
def test_a_cancel_says_why_in_the_venues_most_telling_field(
    cancel_type: str, reject_reason: str, reason: str
) -> None:
    target = record(S.ACCEPTED)
    reported = order(S.CANCELED, cancel_type=cancel_type, reject_reason=reject_reason)

    (published,) = [e for e in order_reported(reported, target, NOW) if isinstance(e, Publish)]

    assert isinstance(published.message, OrderCanceled)
    assert published.message.reason == reason


def test_a_cancel_publishes_what_the_venue_says_was_filled_and_the_id_it_acked() -> None:
    # "Cancelled" with 0.001 filled overtakes both the create's answer and the execution.
    target = record(S.SUBMITTED, void="")

    effects = order_reported(order(S.CANCELED, "0.001"), target, NOW)

    canceled = OrderCanceled(
        client_order_id=COID,
        venue_order_id=VOID,
        strategy_id="mom1",
        symbol=SYM,
        cum_filled_qty=D("0.001"),
        reason="CancelByUser",
        ts_event_ns=NOW,
        trace_id="",
    )
    assert effects == [
        AckOrder(target, VOID, NOW),
        Count("order_report_before_fills"),
        ApplyStatus(target, S.CANCELED),
        JournalStatus(COID, S.CANCELED, NOW),
        Publish(canceled),
    ]


def test_a_reject_publishes_the_venues_reason() -> None:
    target = record(S.SUBMITTED)

    effects = order_reported(
        order(S.REJECTED, reject_reason="EC_PostOnlyWillTakeLiquidity"), target, NOW
    )

    rejected = OrderRejected(
        client_order_id=COID,
        strategy_id="mom1",
        symbol=SYM,
        reason="EC_PostOnlyWillTakeLiquidity",
        venue_code=0,
        ts_event_ns=NOW,
        trace_id="",
    )
    assert effects == [
        ApplyStatus(target, S.REJECTED),
        JournalStatus(COID, S.REJECTED, NOW),
        Publish(rejected),
    ]


def test_a_repeated_status_is_counted_on_the_record_and_nothing_is_journaled() -> None:
    target = record(S.ACCEPTED)

    effects = status_reported(target, S.ACCEPTED, "", D(0), NOW)

    assert effects == [ApplyStatus(target, S.ACCEPTED), Count("duplicate_reports")]
    Shell().run(effects)
    assert (target.status, target.duplicate_reports) == (S.ACCEPTED, 1)


def test_a_stale_status_is_counted_and_changes_nothing() -> None:
    target = record(S.PARTIALLY_FILLED, "0.001")

    effects = status_reported(target, S.ACCEPTED, "", D(0), NOW)  # a reordered "New"

    assert effects == [ApplyStatus(target, S.ACCEPTED), Count("stale_reports")]
    Shell().run(effects)
    assert (target.status, target.stale_reports) == (S.PARTIALLY_FILLED, 1)


def test_an_impossible_status_is_alerted_and_reconciliation_asked_for() -> None:
    target = record(S.REJECTED)

    effects = status_reported(target, S.ACCEPTED, "", D(0), NOW)

    assert effects == [
        RaiseAlert(AlertSeverity.WARNING, "invalid_transition", "Rejected -> Accepted"),
        Reconcile(f"invalid transition of {COID}: Rejected -> Accepted"),
    ]


@pytest.mark.parametrize(("current", "reported"), list(product(S, S)))
def test_every_transition_is_applied_counted_or_alerted_as_the_table_says(
    current: OrderStatus, reported: OrderStatus
) -> None:
    target = record(current)
    before = copy.deepcopy(target)
    shell = Shell()

    effects = status_reported(target, reported, "why", D(0), NOW)

    assert target == before  # the core decides; it changes nothing itself
    shell.run(effects)
    try:
        transition = classify(current, reported)
    except InvalidTransition:
        assert shell.alerts == [(AlertSeverity.WARNING, "invalid_transition")]
        assert (shell.reconciles, target.status, shell.journaled_statuses) == (1, current, [])
        return
    assert (shell.alerts, shell.reconciles) == ([], 0)
    if transition is Transition.APPLY:
        assert (target.status, shell.journaled_statuses) == (reported, [reported])
        told = {S.CANCELED: OrderCanceled, S.REJECTED: OrderRejected}.get(reported)
        assert [type(m) for m in shell.published] == ([told] if told else [])
    else:
        assert (target.status, shell.journaled_statuses, shell.published) == (current, [], [])
        assert shell.counters == Counter({f"{transition.value}_reports": 1})


@given(st.lists(st.sampled_from(list(S)), max_size=20))
def test_no_sequence_of_status_reports_moves_an_order_backwards(
    reported: list[OrderStatus],
) -> None:
    target, shell = record(S.SUBMITTED, void=""), Shell()
    for status in reported:
        before, journaled_before = target.status, len(shell.journaled_statuses)
        effects = status_reported(target, status, "", D(0), NOW)
        shell.run(effects)
        assert target.status == before or precedes(before, target.status)
        if len(shell.journaled_statuses) > journaled_before:  # a move: journaled as taken
            assert shell.journaled_statuses[journaled_before:] == [target.status]
        else:
            assert target.status == before
        if any(isinstance(e, RaiseAlert) for e in effects):
            assert not any(isinstance(e, ApplyStatus | JournalStatus) for e in effects)
    assert shell.reconciles == len(shell.alerts)


# ---------------------------------------------------------------- fills


def test_a_fill_is_journaled_with_the_status_it_brings_then_applied_then_published() -> None:
    target = record(S.ACCEPTED)

    effects = fill_reported(fill(), target, set(), SINCE_NS, NOW)

    booked = journaled()
    assert effects == [
        JournalFill(booked, NOW, S.PARTIALLY_FILLED),
        RememberExecId("e1"),
        ApplyFill(target, booked),
        Count("fills"),
        PublishFill(target, booked),
    ]
    shell = Shell()
    shell.run(effects)
    (event,) = shell.published
    assert isinstance(event, OrderPartiallyFilled)
    assert (event.cum_filled_qty, event.leaves_qty, target.status) == (
        D("0.001"),
        D("0.001"),
        S.PARTIALLY_FILLED,
    )


def test_the_last_fill_fills_the_order() -> None:
    target, shell = record(S.ACCEPTED), Shell()

    shell.run(fill_reported(fill("e1"), target, shell.booked, SINCE_NS, NOW))
    effects = fill_reported(fill("e2"), target, shell.booked, SINCE_NS, NOW)
    shell.run(effects)

    assert effects[0] == JournalFill(journaled("e2"), NOW, S.FILLED)
    assert [type(m) for m in shell.published] == [OrderPartiallyFilled, OrderFilled]
    assert (target.status, target.cum_filled_qty) == (S.FILLED, D("0.002"))


def test_a_fill_before_the_creates_answer_acks_the_order_first() -> None:
    target = record(S.SUBMITTED, void="")

    effects = fill_reported(fill(), target, set(), SINCE_NS, NOW)

    assert effects[2] == AckOrder(target, VOID, NOW)
    Shell().run(effects)
    assert (target.venue_order_id, target.ts_ack_ns) == (VOID, NOW)


def test_a_fill_after_a_cancel_keeps_the_orders_status() -> None:
    target = record(S.CANCELED)

    effects = fill_reported(fill(), target, set(), SINCE_NS, NOW)

    assert effects[0] == JournalFill(journaled(), NOW, S.CANCELED)


def test_a_fill_booked_already_is_counted_only() -> None:
    assert fill_reported(fill(), record(), {"e1"}, SINCE_NS, NOW) == [Count("duplicate_fills")]


def test_what_the_journal_already_had_is_counted_and_remembered_not_published() -> None:
    target, shell = record(), Shell()
    shell.journal["e1"] = journaled()  # booked long ago: no longer among the recent ids

    shell.run(fill_reported(fill(), target, set(), SINCE_NS, NOW))

    assert fill_already_journaled("e1") == [Count("duplicate_fills"), RememberExecId("e1")]
    assert shell.counters == Counter({"duplicate_fills": 1})
    assert (shell.booked, shell.published, target.cum_filled_qty) == ({"e1"}, [], D(0))


def test_a_fill_of_an_order_we_did_not_send_is_journaled_and_alerted() -> None:
    stop = fill(order_link_id="", stop_order_type="StopLoss", side="Sell")

    effects = fill_reported(stop, None, set(), SINCE_NS, NOW)

    detail = {"external": "1", "symbol": "BTCUSDT", "side": "Sell"}
    assert effects == [
        RememberExecId("e1"),
        JournalFill(journaled(owner="venue-v1"), NOW, None, detail),
        Count("external_fills"),
        RaiseAlert(
            AlertSeverity.WARNING,
            "external_fill",
            "BTCUSDT Sell 0.001 @ 64000 order_id=v1 stop_order_type=StopLoss:"
            " an order we did not send (e.g. the venue-side stop-loss); journaled",
        ),
    ]


def test_an_external_fill_the_journal_had_is_a_duplicate_without_an_alert() -> None:
    shell = Shell()
    shell.journal["e1"] = journaled(owner="venue-v1")

    shell.run(fill_reported(fill(order_link_id=""), None, set(), SINCE_NS, NOW))

    assert shell.counters == Counter({"duplicate_fills": 1})
    assert (shell.alerts, shell.booked) == ([], {"e1"})


def test_older_account_history_and_non_trades_are_counted_only() -> None:
    old = fill(ts_ns=SINCE_NS - 1)
    assert fill_reported(old, None, set(), SINCE_NS, NOW) == [Count("unknown_fills_before_journal")]
    funding = fill(is_trade=False)
    assert fill_reported(funding, record(), set(), SINCE_NS, NOW) == [Count("non_trade_executions")]


@pytest.mark.parametrize(
    ("status", "qty", "error"),
    [
        (S.ACCEPTED, "0.003", f"{COID}: fill e1 of 0.003 after 0 exceeds qty 0.002"),
        (S.REJECTED, "0.001", f"{COID}: fill e1 on a Rejected order"),
    ],
)
def test_a_fill_the_order_cannot_take_is_critical_not_journaled_and_reconciled(
    status: OrderStatus, qty: str, error: str
) -> None:
    effects = fill_reported(fill(qty=qty), record(status), set(), SINCE_NS, NOW)

    assert effects == [
        Count("invalid_fills"),
        RaiseAlert(AlertSeverity.CRITICAL, "invalid_fill", f"{error}; not journaled, reconciling"),
        Reconcile(f"invalid fill: {error}"),
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["e1", "e2", "e3"]), st.sampled_from(["0.001", "0.002"]), st.booleans()
        ),
        max_size=15,
    )
)
def test_an_exec_id_reported_again_is_booked_once_whatever_the_path(
    reports: list[tuple[str, str, bool]],
) -> None:
    """`forget`: the recent ids lost it (bounded, or a restart): the journal is the last word."""
    target, shell = record(S.ACCEPTED), Shell()
    for exec_id, qty, forget in reports:
        if forget:
            shell.booked.clear()
        shell.run(fill_reported(fill(exec_id, qty), target, shell.booked, SINCE_NS, NOW))
    published = [m.exec_id for m in shell.published]
    assert len(published) == len(set(published))
    assert set(published) == set(shell.journal) == target.seen_exec_ids
    assert target.cum_filled_qty == sum((f.qty for f in shell.journal.values()), D(0))
    assert target.cum_filled_qty <= target.qty


# ---------------------------------------------------------------- positions


def _listed(size: str, seq: int, stop_loss: str = "", side: str = "Buy") -> VenuePosition:
    raw = (FIXTURES / "rest_position_list_response_docexample.json").read_bytes()
    info = msgspec.json.decode(raw, type=wire.Response[wire.PositionList]).result.list[0]
    changed = msgspec.structs.replace(
        info, symbol=SYM, side=side if D(size) else "", size=D(size), seq=seq, stop_loss=stop_loss
    )
    return position_of(changed)


def _streamed(size: str, seq: int, stop_loss: str = "") -> VenuePosition:
    raw = (FIXTURES / "ws_private_position_linear_docexample.json").read_bytes()
    (event,) = msgspec.json.decode(raw, type=wire.PrivateMessage[wire.PositionEvent]).data
    changed = msgspec.structs.replace(
        event, symbol=SYM, side="Buy", size=D(size), seq=seq, stop_loss=stop_loss
    )
    return position_of(changed)


def test_the_edge_translates_a_position_with_its_stop_its_seq_and_where_it_came_from() -> None:
    listed = _listed("0.002", 101, stop_loss="61000")
    assert (listed.symbol, listed.position.qty, listed.stop_loss) == (SYM, D("0.002"), D(61000))
    assert (listed.seq, listed.streamed) == (101, False)
    assert _listed("0.002", 101, side="Sell").position.qty == D("-0.002")
    assert _streamed("0.002", 5).streamed
    assert _listed("0.002", 1, stop_loss="0").stop_loss is None  # the venue's "no stop"
    assert _listed("0.002", 1, stop_loss="").stop_loss is None


def test_a_rest_position_read_before_the_streams_last_is_stale() -> None:
    assert position_reported(_listed("0", seq=100), 101, NOW, 3) == [Count("stale_positions")]


@pytest.mark.parametrize("seq", [101, 102, -1])  # the same, newer, or no seq: applied
def test_a_rest_position_not_older_than_the_streams_is_applied(seq: int) -> None:
    listed = _listed("0.002", seq, stop_loss="61000")

    effects = position_reported(listed, 101, NOW, 3)

    changed = PositionChanged(
        symbol=SYM,
        qty=D("0.002"),
        avg_entry_price=listed.position.avg_entry_price,
        unrealised_pnl=listed.position.unrealised_pnl,
        realised_pnl=listed.position.realised_pnl,
        stop_loss_price=D(61000),
        ts_event_ns=3,
    )
    assert effects == [
        SetPosition(listed.position, seq, None),  # the stream's time stays as it was
        MarkProtected(SYM),
        Publish(changed),
    ]


def test_the_stream_is_followed_even_if_its_seq_goes_down_and_its_time_noted() -> None:
    streamed = _streamed("0.002", seq=5)

    effects = position_reported(streamed, 101, NOW, 3)

    assert effects[:2] == [SetPosition(streamed.position, 5, NOW), MarkUnprotected(SYM)]


@pytest.mark.parametrize(
    ("size", "stop_loss", "mark"),
    [
        ("0.002", "", MarkUnprotected(SYM)),  # held, no stop: the guard puts one on
        ("0.002", "0", MarkUnprotected(SYM)),
        ("0.002", "61000", MarkProtected(SYM)),
        ("0", "", MarkProtected(SYM)),  # flat: nothing to protect
    ],
)
def test_a_held_position_without_a_stop_is_marked_unprotected(
    size: str, stop_loss: str, mark: MarkUnprotected | MarkProtected
) -> None:
    effects = position_reported(_listed(size, 1, stop_loss), -1, NOW, 3)

    assert effects[1] == mark
