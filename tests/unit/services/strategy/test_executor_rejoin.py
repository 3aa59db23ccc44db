"""The executor's snapshot after a rejoin (its restart, a gap on its stream): whatever state
the strategy is in, the snapshot is the newer view and moves it on at once.

Issue 12, item 6: after an executor restart a filled entry stayed in EntryPending until
order-quiet-s, the rejoin's snapshot ignored because the strategy was not in Syncing.
"""

from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from services.strategy.book import Book
from services.strategy.exits import exit_reason
from services.strategy.rebuild import working_orders
from services.strategy.signals import TopOfBook
from shared.schema import OrderStatus, SubmitOrder
from tests.unit.services.strategy.support import (
    BTC,
    MS,
    S_NS,
    T0,
    accepted,
    cancels,
    enter_long,
    feed_signal,
    fill,
    open_order,
    position,
    quote,
    ready_machine,
    resyncs,
    snapshot,
    submits,
    transitions,
)

D = Decimal
LONG = (position(BTC, "0.002", "50100"),)


def test_a_rejoin_snapshot_with_the_position_manages_a_pending_entry_at_once() -> None:
    machine = ready_machine(order_quiet_s=15.0, max_hold_s=60.0, stop_loss_pct=0.2)
    (entry,) = submits(feed_signal(machine, T0))  # Market IOC; its fill is lost in the restart
    machine.on_message(accepted(entry), T0 + MS)
    rejoin = T0 + 3 * S_NS  # the new executor's snapshot: the position, the entry done

    out = machine.on_message(snapshot(LONG), rejoin)
    working, levels = dict(machine.book.orders), machine.levels
    stopped = machine.on_message(quote("49990", "49990.1", rejoin + MS), rejoin + MS)

    assert transitions(out) == [("EntryPending", "Syncing"), ("Syncing", "PositionOpen")]
    assert resyncs(out) == []
    assert (machine.book.qty, machine.book.entry_price) == (D("0.002"), D("50100"))
    assert working == {}
    assert levels is not None  # armed as if the fill had been heard live
    assert levels.deadline_ns == rejoin + 60 * S_NS
    assert levels.stop_price < 50100 < levels.take_price
    (exit_,) = submits(stopped)  # the stop, checked on the next quote: no 15 s wait
    assert (exit_.reduce_only, exit_.qty) == (True, D("0.002"))
    assert machine.state == "ExitPending"


def test_a_rejoin_snapshot_with_the_entry_gone_and_no_position_is_idle_at_once() -> None:
    machine = ready_machine(command_ttl_ms=5_000)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))  # PostOnly
    machine.on_message(accepted(entry), T0 + MS)  # the executor had it: not on its way

    out = machine.on_message(snapshot(), T0 + S_NS)  # canceled at the restart, never filled

    assert transitions(out) == [("EntryPending", "Syncing"), ("Syncing", "Idle")]
    assert machine.book.empty


def test_a_rejoin_snapshot_listing_the_entry_as_filled_does_not_keep_it_working() -> None:
    machine = ready_machine(command_ttl_ms=5_000)
    (entry,) = submits(feed_signal(machine, T0))
    done = msgspec.structs.replace(open_order(entry, str(entry.qty)), status=OrderStatus.FILLED)

    out = machine.on_message(snapshot(LONG, (done,)), T0 + S_NS)

    assert transitions(out)[-1] == ("Syncing", "PositionOpen")
    assert machine.book.orders == {}


def test_a_rejoin_snapshot_with_a_partial_fill_holds_it_and_keeps_the_rest_working() -> None:
    machine = ready_machine(post_only_timeout_s=2.0, order_quiet_s=15.0)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))  # PostOnly
    machine.on_message(accepted(entry), T0 + MS)
    partial = (position(BTC, "0.001", "50070"),)

    out = machine.on_message(snapshot(partial, (open_order(entry, "0.001"),)), T0 + S_NS)
    timeout = machine.on_timer(T0 + 2 * S_NS)  # the entry's own timeout, not restarted
    last = machine.on_message(fill(entry, "0.001", "50070", cum="0.002"), T0 + 2 * S_NS + MS)

    assert transitions(out)[-1] == ("Syncing", "EntryPending")  # as a live partial fill
    assert machine.book.qty == D("0.002")
    assert [c.client_order_id for c in cancels(timeout)] == [entry.client_order_id]
    assert transitions(last) == [("EntryPending", "PositionOpen")]  # only the new 0.001 counted


def test_a_rejoin_snapshot_of_the_same_position_keeps_its_holding_deadline() -> None:
    machine = ready_machine(max_hold_s=60.0)
    enter_long(machine)
    assert machine.levels is not None
    deadline = machine.levels.deadline_ns

    out = machine.on_message(snapshot(LONG), T0 + 30 * S_NS)

    assert transitions(out) == [("PositionOpen", "Syncing"), ("Syncing", "PositionOpen")]
    assert machine.levels is not None
    assert machine.levels.deadline_ns == deadline
    top = TopOfBook(50100.0, 1.0, 50100.1, 1.0, T0)
    assert exit_reason(machine.levels, top, deadline) == "max_hold"


def test_an_unreconciled_rejoin_snapshot_changes_nothing() -> None:
    machine = ready_machine()
    submits(feed_signal(machine, T0))

    out = machine.on_message(snapshot(LONG, reconciled=False), T0 + S_NS)

    assert transitions(out) == []
    assert machine.state == "EntryPending"
    assert machine.counters["snapshot_unreconciled"] == 1


def test_an_entry_never_reported_on_but_filled_per_the_snapshot_is_not_kept_on_its_way() -> None:
    # Within its time to live an order the snapshot does not list may still be on its way
    # into the executor; a position that moved in its symbol says it arrived and ended.
    machine = ready_machine(command_ttl_ms=5_000)
    submits(feed_signal(machine, T0))  # its accept and fill lost in the restart

    out = machine.on_message(snapshot(LONG), T0 + S_NS)

    assert transitions(out) == [("EntryPending", "Syncing"), ("Syncing", "PositionOpen")]
    assert machine.book.orders == {}
    assert machine.book.qty == D("0.002")


def _entry_sent() -> SubmitOrder:
    (entry,) = submits(feed_signal(ready_machine(), T0, bid="50070", ask="50100"))
    return entry


ENTRY = _entry_sent()  # a PostOnly entry of 0.002 BTC, sent at T0
S = OrderStatus


@given(
    listed=st.booleans(),
    status=st.sampled_from(list(OrderStatus)),
    cum_steps=st.integers(0, 2),
    reported=st.booleans(),
    age_ms=st.integers(0, 3_000),
    venue_steps=st.integers(-2, 2),
)
def test_a_rebuild_keeps_an_order_only_while_it_may_still_work(
    listed: bool, status: OrderStatus, cum_steps: int, reported: bool, age_ms: int, venue_steps: int
) -> None:
    book = Book()
    book.add(ENTRY)
    if reported:
        book.orders[ENTRY.client_order_id].heard(T0 + MS)
    step = D("0.001")
    cum = cum_steps * step
    order = msgspec.structs.replace(open_order(ENTRY, str(cum)), status=status)
    venue = (position(BTC, str(venue_steps * step), "50070"),) if venue_steps else ()
    now = T0 + age_ms * MS

    kept = working_orders(snapshot(venue, (order,) if listed else ()), "mom1", book, now, S_NS)

    finished = status in {S.FILLED, S.CANCELED, S.REJECTED, S.DENIED}
    if listed:  # the snapshot's word: working unless finished or filled in full
        expected = not finished and cum < ENTRY.qty
    else:  # on its way: young, never reported on, and no position moved by it
        expected = not reported and age_ms < 1_000 and venue_steps == 0
    assert [o.client_order_id for o in kept] == ([ENTRY.client_order_id] if expected else [])
    for o in kept:
        assert o.placed_ns == ENTRY.ts_created_ns  # its PostOnly timeout runs on
        assert o.cum_filled == (cum if listed else 0)
