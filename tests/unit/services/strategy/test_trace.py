"""Every command carries the trace id of the market-data frame behind it (issue 14)."""

from services.strategy.api import EntrySkipped, Transition
from tests.unit.services.strategy.support import (
    MS,
    S_NS,
    T0,
    cancels,
    feed_signal,
    fill,
    quote,
    ready_machine,
    submits,
)


def test_an_entry_carries_the_trace_of_the_quote_that_decided_it() -> None:
    machine = ready_machine()

    out = feed_signal(machine, T0, trace_id="feed1-42")

    (entry,) = submits(out)
    assert entry.trace_id == "feed1-42"
    (transition,) = [o for o in out if isinstance(o, Transition)]
    assert (transition.to_state, transition.trace_id) == ("EntryPending", "feed1-42")


def test_a_cancel_on_a_timer_carries_the_latest_frames_trace() -> None:
    machine = ready_machine(post_only_timeout_s=2.0)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100", trace_id="feed1-1"))
    machine.on_message(quote("50070", "50100", T0 + S_NS, trace_id="feed1-9"), T0 + S_NS)

    (cancel,) = cancels(machine.on_timer(T0 + 2 * S_NS))

    assert entry.trace_id == "feed1-1"
    assert (cancel.client_order_id, cancel.trace_id) == (entry.client_order_id, "feed1-9")


def test_an_exit_carries_the_trace_of_the_quote_that_hit_the_stop() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0, trace_id="feed1-1"))
    machine.on_message(fill(entry, str(entry.qty), "50100"), T0 + MS)

    out = machine.on_message(quote("40000", "40000.1", T0 + 2 * MS, trace_id="feed1-77"), T0)

    (exit_order,) = submits(out)
    assert exit_order.reduce_only
    assert exit_order.trace_id == "feed1-77"


def test_a_skipped_entry_names_the_frame_for_the_log() -> None:
    machine = ready_machine(order_notional_usdt=0.01)  # below min_qty: cannot be sized
    out = feed_signal(machine, T0, trace_id="feed1-5")

    (skipped,) = [o for o in out if isinstance(o, EntrySkipped)]
    assert skipped.trace_id == "feed1-5"
