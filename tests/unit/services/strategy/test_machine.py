"""The scalper's state machine, one example per transition, route, filter and protocol."""

from decimal import Decimal

from services.strategy.api import Strategy
from services.strategy.core import ALLOWED, InvalidTransition, State, check_transition
from services.strategy.machine import MomentumScalper
from shared.schema import OrderSide, OrderType, Symbol, TimeInForce, TradingState
from tests.unit.services.strategy.support import (
    BTC,
    ETH,
    MS,
    S_NS,
    T0,
    accepted,
    alerts,
    canceled,
    cancels,
    denied,
    enter_long,
    feed_ready,
    feed_signal,
    fill,
    make_rules,
    make_settings,
    open_order,
    position,
    position_changed,
    quote,
    ready_machine,
    rejected,
    resyncs,
    snapshot,
    submits,
    trading_state,
    transitions,
    universe,
)

D = Decimal


def test_the_scalper_implements_the_strategy_protocol() -> None:
    strategy: Strategy = MomentumScalper(make_settings())
    assert strategy.status(T0).state == "Syncing"


def test_only_idle_may_enter_in_the_table() -> None:
    assert all(
        State.ENTRY_PENDING not in nexts or s in (State.IDLE, State.SYNCING, State.HALTED)
        for s, nexts in ALLOWED.items()
    )
    assert State.SYNCING not in ALLOWED[State.SYNCING]
    try:
        check_transition(State.SWITCHING, State.ENTRY_PENDING)
    except InvalidTransition:
        pass
    else:
        raise AssertionError("Switching -> EntryPending must be refused")


# -- Syncing -------------------------------------------------------------------------------


def test_no_entry_while_syncing_even_with_a_signal() -> None:
    machine = MomentumScalper(make_settings())
    machine.set_rules(make_rules())
    machine.on_message(universe(BTC, 1), T0)
    machine.on_message(feed_ready(BTC, 1), T0)

    out = feed_signal(machine, T0)

    assert submits(out) == []
    assert machine.state == "Syncing"


def test_unreconciled_snapshot_keeps_syncing() -> None:
    machine = MomentumScalper(make_settings())
    machine.on_message(universe(BTC, 1), T0)
    machine.on_message(feed_ready(BTC, 1), T0)

    machine.on_message(snapshot(reconciled=False), T0)

    assert machine.state == "Syncing"
    assert machine.counters["snapshot_unreconciled"] == 1


def test_snapshot_with_a_position_rebuilds_position_open_at_its_entry_price() -> None:
    machine = MomentumScalper(make_settings())
    machine.on_message(universe(BTC, 1), T0)
    machine.on_message(feed_ready(BTC, 1), T0)

    out = machine.on_message(snapshot((position(BTC, "-0.004", "50000"),)), T0)

    assert transitions(out) == [("Syncing", "PositionOpen")]
    status = machine.status(T0)
    assert (status.position_qty, status.entry_price) == (D("-0.004"), D("50000"))
    assert machine.levels is not None
    assert machine.levels.stop_price > 50000 > machine.levels.take_price


def test_snapshot_with_a_working_entry_rebuilds_entry_pending_and_times_it_out() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0, bid="50050", ask="50100"))  # PostOnly
    machine.executor_silent(T0 + MS)
    fresh = MomentumScalper(make_settings(), last_seq=machine.orders.last_seq)
    fresh.on_message(universe(BTC, 1), T0)
    fresh.on_message(feed_ready(BTC, 1), T0)

    out = fresh.on_message(snapshot(orders=(open_order(entry),)), T0 + S_NS)
    late = fresh.on_timer(T0 + 3 * S_NS)

    assert transitions(out) == [("Syncing", "EntryPending")]
    assert [c.client_order_id for c in cancels(late)] == [entry.client_order_id]


def test_executor_silence_stops_entries_until_a_fresh_snapshot() -> None:
    machine = ready_machine()

    out = machine.executor_silent(T0)
    blocked = feed_signal(machine, T0)
    machine.on_message(snapshot(), T0 + MS)
    resumed = feed_signal(machine, T0 + 2 * MS)

    assert transitions(out) == [("Idle", "Syncing")]
    assert submits(blocked) == []
    assert len(submits(resumed)) == 1


# -- entries and routing -------------------------------------------------------------------


def test_market_ioc_entry_on_a_tight_liquid_book() -> None:
    machine = ready_machine()

    out = feed_signal(machine, T0)

    (entry,) = submits(out)
    assert transitions(out) == [("Idle", "EntryPending")]
    assert (entry.side, entry.order_type, entry.time_in_force) == (
        OrderSide.BUY,
        OrderType.MARKET,
        TimeInForce.IOC,
    )
    assert entry.qty == D("0.002")  # 150 USDT / mid 50099.95 = 0.00299, floored to the 0.001 step
    assert not entry.reduce_only
    assert entry.ts_trigger_recv_ns == T0
    assert entry.epoch == 1


def test_post_only_entry_at_the_bid_on_a_wider_spread() -> None:
    machine = ready_machine()

    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))  # 6 bps

    assert (entry.order_type, entry.time_in_force) == (OrderType.LIMIT, TimeInForce.POST_ONLY)
    assert entry.limit_price == D("50070")


def test_post_only_entry_when_the_taken_side_is_thin() -> None:
    machine = ready_machine(liquidity_multiple=100.0)

    (entry,) = submits(feed_signal(machine, T0, ask_qty="0.1"))  # 0.1 < 100 x 0.002

    assert entry.time_in_force is TimeInForce.POST_ONLY


def test_sell_entry_on_negative_momentum_rests_at_the_ask() -> None:
    machine = ready_machine()

    (entry,) = submits(feed_signal(machine, T0, last="49900", bid="49880", ask="49900"))

    assert entry.side is OrderSide.SELL
    assert entry.limit_price == D("49900")


def test_no_entry_without_enough_momentum() -> None:
    machine = ready_machine()
    assert submits(feed_signal(machine, T0, last="50040", bid="50039.9", ask="50040")) == []


def test_entry_blocked_by_each_filter() -> None:
    cases = {
        "entry_blocked_stale_quote": {"now_shift": 101 * MS},
        "entry_blocked_wide_spread": {"bid": "50040", "ask": "50100"},  # 12 bps
        "entry_blocked_thin_book": {"bid_qty": "0.001"},
    }
    for counter, kw in cases.items():
        machine = ready_machine()
        shift = kw.pop("now_shift", 0)
        for i in range(20):
            machine.on_message(_trade(i == 19), T0)
        out = machine.on_message(
            quote(
                kw.get("bid", "50099.9"), kw.get("ask", "50100"), T0, bid_qty=kw.get("bid_qty", "1")
            ),
            T0 + shift,
        )
        assert submits(out) == [], counter
        assert machine.counters[counter] >= 1, counter


def _trade(last: bool):  # type: ignore[no-untyped-def]
    from tests.unit.services.strategy.support import trade

    return trade("50100" if last else "50000", T0)


def test_sizing_below_min_qty_skips_with_the_reason_once() -> None:
    machine = ready_machine(order_notional_usdt=10.0)

    out = feed_signal(machine, T0) + feed_signal(machine, T0 + MS)

    assert submits(out) == []
    skipped = [o for o in out if type(o).__name__ == "EntrySkipped"]
    assert len(skipped) == 1
    assert "min_qty" in skipped[0].reason  # type: ignore[union-attr]
    assert machine.counters["entry_not_sized"] >= 2


def test_cooldown_then_hourly_cap_block_new_entries() -> None:
    machine = ready_machine(max_entries_per_hour=2, cooldown_s=5.0)
    enter_long(machine)
    (exit_,) = submits(machine.on_message(quote("49000", "49000.1", T0 + S_NS), T0 + S_NS))
    machine.on_message(fill(exit_, "0.002", "49000"), T0 + S_NS)

    during = feed_signal(machine, T0 + 2 * S_NS)
    enter_long(machine, T0 + 7 * S_NS)
    (exit2,) = submits(machine.on_message(quote("49000", "49000.1", T0 + 8 * S_NS), T0 + 8 * S_NS))
    machine.on_message(fill(exit2, "0.002", "49000"), T0 + 8 * S_NS)
    capped = feed_signal(machine, T0 + 20 * S_NS)

    assert submits(during) == []
    assert machine.counters["entry_blocked_cooldown"] >= 1
    assert submits(capped) == []
    assert machine.counters["entry_blocked_hourly_cap"] >= 1


def test_reducing_state_blocks_entries() -> None:
    machine = ready_machine()
    machine.on_message(trading_state(TradingState.REDUCING), T0)
    assert submits(feed_signal(machine, T0)) == []
    assert machine.counters["entry_blocked_trading_state"] >= 1


# -- EntryPending --------------------------------------------------------------------------


def test_partial_fills_stay_pending_then_full_fill_opens_at_the_average() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0))
    machine.on_message(accepted(entry), T0)

    machine.on_message(fill(entry, "0.001", "50100", final=False), T0)
    assert machine.state == "EntryPending"
    assert machine.book.qty == D("0.001")
    out = machine.on_message(fill(entry, "0.001", "50200", cum="0.002"), T0)

    assert transitions(out) == [("EntryPending", "PositionOpen")]
    assert machine.book.entry_price == D("50150")


def test_entry_canceled_after_a_partial_fill_opens_the_filled_part() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0))
    machine.on_message(fill(entry, "0.001", "50100", final=False), T0)

    out = machine.on_message(canceled(entry, cum="0.001"), T0)

    assert transitions(out) == [("EntryPending", "PositionOpen")]
    assert machine.book.qty == D("0.001")


def test_entry_canceled_rejected_or_denied_unfilled_returns_to_idle() -> None:
    for outcome in (canceled, rejected, denied):
        machine = ready_machine()
        (entry,) = submits(feed_signal(machine, T0))
        out = machine.on_message(outcome(entry), T0)
        assert transitions(out) == [("EntryPending", "Idle")], outcome.__name__


def test_post_only_timeout_sends_one_cancel_and_waits_for_the_outcome() -> None:
    machine = ready_machine(post_only_timeout_s=2.0)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))

    early = machine.on_timer(T0 + S_NS)
    first = machine.on_timer(T0 + 2 * S_NS)
    second = machine.on_message(quote("50070", "50100", T0 + 3 * S_NS), T0 + 3 * S_NS)
    assert machine.state == "EntryPending"
    done = machine.on_message(canceled(entry), T0 + 3 * S_NS)

    assert cancels(early) == []
    assert [c.client_order_id for c in cancels(first)] == [entry.client_order_id]
    assert cancels(second) == []
    assert transitions(done) == [("EntryPending", "Idle")]


def test_duplicate_fill_counts_once_and_unknown_fill_alerts() -> None:
    machine = ready_machine()
    entry = enter_long(machine)

    again = machine.on_message(fill(entry, "0.002", "50100"), T0)
    stranger = machine.on_message(
        fill(
            entry.__class__(
                **{
                    **{f: getattr(entry, f) for f in entry.__struct_fields__},
                    "client_order_id": "mom1-1-zz",
                }
            ),
            "0.002",
            "50100",
        ),
        T0,
    )

    assert machine.book.qty == D("0.002")
    assert machine.counters["late_order_event"] == 1
    assert alerts(again) == []
    assert [a.code for a in alerts(stranger)] == ["unknown_order"]
    assert machine.counters["unknown_order_event"] == 1


# -- PositionOpen and ExitPending ----------------------------------------------------------


def test_stop_loss_exit_is_reduce_only_market_ioc_for_the_whole_position() -> None:
    machine = ready_machine(stop_loss_pct=0.2)
    enter_long(machine)

    hold = machine.on_message(quote("50010", "50010.1", T0 + MS), T0 + MS)
    out = machine.on_message(quote("49999", "49999.1", T0 + 2 * MS), T0 + 2 * MS)

    assert submits(hold) == []
    (exit_,) = submits(out)
    assert transitions(out) == [("PositionOpen", "ExitPending")]
    assert (exit_.side, exit_.qty, exit_.reduce_only) == (OrderSide.SELL, D("0.002"), True)
    assert (exit_.order_type, exit_.time_in_force) == (OrderType.MARKET, TimeInForce.IOC)
    assert machine.counters["exit_stop_loss"] == 1


def test_take_profit_and_max_hold_exits() -> None:
    machine = ready_machine(take_profit_pct=0.3)
    enter_long(machine)
    out = machine.on_message(quote("50251", "50251.1", T0 + MS), T0 + MS)
    assert machine.counters["exit_take_profit"] == 1
    assert len(submits(out)) == 1

    machine = ready_machine(max_hold_s=60.0)
    enter_long(machine)
    assert submits(machine.on_timer(T0 + 59 * S_NS)) == []
    assert len(submits(machine.on_timer(T0 + 61 * S_NS))) == 1


def test_exit_fill_goes_idle_and_books_pnl_with_fees() -> None:
    machine = ready_machine()
    entry = enter_long(machine)
    (exit_,) = submits(machine.on_message(quote("50300", "50300.1", T0 + MS), T0 + MS))

    out = machine.on_message(fill(exit_, "0.002", "50300", fee="0.05"), T0 + MS)

    assert entry.qty == D("0.002")
    assert transitions(out) == [("ExitPending", "Idle")]
    assert machine.status(T0).realised_pnl_usdt == D("0.002") * 200 - D("0.05")
    assert machine.gate.cooldown_until_ns > T0 + MS


def test_a_rejected_exit_rebuilds_from_the_executor_and_retries_after_the_interval() -> None:
    machine = ready_machine(exit_retry_s=1.0, max_hold_s=10.0)
    enter_long(machine)
    (exit_,) = submits(machine.on_timer(T0 + 11 * S_NS))

    out = machine.on_message(rejected(exit_), T0 + 11 * S_NS)
    held = snapshot((position(BTC, "0.002", "50100"),))
    rebuilt = machine.on_message(held, T0 + 11 * S_NS + MS)
    soon = machine.on_timer(T0 + 11 * S_NS + 500 * MS)
    later = machine.on_timer(T0 + 12 * S_NS + MS)

    assert transitions(out) == [("ExitPending", "Syncing")]
    assert resyncs(out) == [("executor",)]
    assert [a.code for a in alerts(out)] == ["execution_view_in_doubt"]
    assert transitions(rebuilt) == [("Syncing", "PositionOpen")]
    assert submits(soon) == []
    assert len(submits(later)) == 1  # the holding deadline survived the rebuild


def test_an_exit_rejected_because_the_venue_stop_already_closed_ends_idle() -> None:
    machine = ready_machine(stop_loss_pct=0.2)
    enter_long(machine)
    (exit_,) = submits(machine.on_message(quote("49900", "49900.1", T0 + MS), T0 + MS))
    machine.on_message(position_changed(BTC, "0", "0"), T0 + 2 * MS)  # the venue's stop

    machine.on_message(rejected(exit_), T0 + 3 * MS)
    out = machine.on_message(snapshot(), T0 + 4 * MS)
    later = machine.on_timer(T0 + 10 * S_NS)

    assert transitions(out) == [("Syncing", "Idle")]
    assert machine.book.qty == 0
    assert submits(later) == []


def test_venue_flat_while_open_goes_idle_and_a_mismatch_alerts() -> None:
    machine = ready_machine()
    enter_long(machine)

    out = machine.on_message(position_changed(BTC, "0", "0"), T0 + MS)

    assert transitions(out) == [("PositionOpen", "Idle")]
    assert machine.reason == "venue flat"
    assert [a.code for a in alerts(out)] == ["position_mismatch"]


def test_venue_position_while_idle_is_adopted() -> None:
    machine = ready_machine()
    out = machine.on_message(position_changed(BTC, "0.003", "50000"), T0)
    assert ("Idle", "PositionOpen") in transitions(out)
    assert machine.book.qty == D("0.003")


# -- Switching -----------------------------------------------------------------------------


def test_switch_with_a_position_exits_first_and_enters_the_new_symbol_only_after_feed_ready() -> (
    None
):
    machine = ready_machine()
    enter_long(machine)

    out = machine.on_message(universe(ETH, 2), T0 + S_NS)
    (exit_,) = submits(out)
    old_data = feed_signal(machine, T0 + S_NS)  # BTC, epoch 1: counted and ignored
    machine.on_message(fill(exit_, "0.002", "50000"), T0 + S_NS)
    before_ready = feed_signal(machine, T0 + S_NS, symbol=ETH, epoch=2)
    stale = machine.on_message(feed_ready(ETH, 1), T0 + S_NS)
    ready = machine.on_message(feed_ready(ETH, 2), T0 + S_NS)
    after = feed_signal(machine, T0 + 10 * S_NS, symbol=ETH, epoch=2)

    assert transitions(out) == [("PositionOpen", "Switching")]
    assert (exit_.symbol, exit_.reduce_only) == (BTC, True)
    assert submits(old_data) == []
    assert machine.counters["other_symbol_md"] >= 20
    assert submits(before_ready) == []
    assert [a.code for a in alerts(stale)] == ["stale_feed_ready"]
    assert transitions(ready) == [("Switching", "Idle")]
    (entry,) = submits(after)
    assert (entry.symbol, entry.epoch) == (ETH, 2)


def test_a_feed_ready_ahead_of_its_universe_change_is_kept_for_it() -> None:
    # The feed and the scanner publish on their own sockets: the feed's FeedReady for the
    # new epoch may reach the strategy before the scanner's UniverseChanged does.
    machine = ready_machine()
    enter_long(machine)

    early = machine.on_message(feed_ready(ETH, 2), T0 + S_NS)
    out = machine.on_message(universe(ETH, 2), T0 + S_NS)
    (exit_,) = submits(out)
    done = machine.on_message(fill(exit_, "0.002", "50000"), T0 + S_NS)
    after = feed_signal(machine, T0 + 10 * S_NS, symbol=ETH, epoch=2)

    assert early == []  # no alert: not stale, only early
    assert machine.counters["early_feed_ready"] == 1
    assert transitions(out) == [("PositionOpen", "Switching")]
    assert transitions(done) == [("Switching", "Idle")]
    (entry,) = submits(after)
    assert (entry.symbol, entry.epoch) == (ETH, 2)


def test_an_early_feed_ready_of_another_epoch_does_not_make_a_later_one_ready() -> None:
    machine = ready_machine()
    enter_long(machine)

    machine.on_message(feed_ready(ETH, 2), T0)
    out = machine.on_message(universe(Symbol("SOLUSDT"), 3), T0)  # epoch 2 never announced
    (exit_,) = submits(out)
    done = machine.on_message(fill(exit_, "0.002", "50000"), T0)

    assert transitions(done) == []
    assert machine.state == "Switching"  # waits for FeedReady(SOL, 3)
    assert machine.early_feed_ready is None


def test_switch_during_entry_pending_cancels_the_entry() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))

    out = machine.on_message(universe(ETH, 2), T0)
    machine.on_message(feed_ready(ETH, 2), T0)
    assert machine.state == "Switching"  # the entry still works
    done = machine.on_message(canceled(entry), T0)

    assert [c.client_order_id for c in cancels(out)] == [entry.client_order_id]
    assert transitions(done) == [("Switching", "Idle")]


def test_universe_with_the_same_or_lower_epoch_is_counted_and_ignored() -> None:
    machine = ready_machine()
    out = machine.on_message(universe(ETH, 1), T0) + machine.on_message(universe(ETH, 0), T0)
    assert out == []
    assert machine.state == "Idle"
    assert machine.counters["stale_universe"] == 2


# -- Halted --------------------------------------------------------------------------------


def test_halt_exits_the_position_and_active_resumes_once_flat() -> None:
    machine = ready_machine()
    enter_long(machine)

    out = machine.on_message(trading_state(TradingState.HALTED), T0 + MS)
    (exit_,) = submits(out)
    machine.on_message(fill(exit_, "0.002", "50000"), T0 + MS)
    blocked = feed_signal(machine, T0 + 10 * S_NS)
    resumed = machine.on_message(trading_state(TradingState.ACTIVE), T0 + 10 * S_NS)

    assert transitions(out) == [("PositionOpen", "Halted")]
    assert exit_.reduce_only
    assert submits(blocked) == []
    assert transitions(resumed) == [("Halted", "Idle")]


def test_halt_cancels_a_working_entry() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))
    out = machine.on_message(trading_state(TradingState.HALTED), T0)
    assert [c.client_order_id for c in cancels(out)] == [entry.client_order_id]


def test_flat_after_a_halt_while_the_entry_cancel_is_outstanding_is_not_idle() -> None:
    # Found by the stateful test: a partly filled entry, a halt (entry cancel + exit), Active
    # again (ExitPending), the exit fills: flat, but the entry could still fill.
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0))
    machine.on_message(fill(entry, "0.001", "50100", final=False), T0)
    halted = machine.on_message(trading_state(TradingState.HALTED), T0 + MS)
    (exit_,) = submits(halted)
    machine.on_message(trading_state(TradingState.ACTIVE), T0 + 2 * MS)

    flat = machine.on_message(fill(exit_, "0.001", "50000"), T0 + 3 * MS)
    assert machine.state == "ExitPending"
    assert submits(feed_signal(machine, T0 + 10 * S_NS)) == []
    gone = machine.on_message(canceled(entry, cum="0.001"), T0 + 10 * S_NS)

    assert [c.client_order_id for c in cancels(halted)] == [entry.client_order_id]
    assert transitions(flat) == []
    assert transitions(gone) == [("ExitPending", "Idle")]


def test_other_strategies_events_are_counted_and_ignored() -> None:
    machine = ready_machine()
    (entry,) = submits(feed_signal(machine, T0))
    foreign = denied(entry).__class__(
        client_order_id=entry.client_order_id,
        strategy_id="mm1",
        command_kind="SubmitOrder",
        reason="x",
        ts_event_ns=T0,
    )
    assert machine.on_message(foreign, T0) == []
    assert machine.counters["other_strategy_event"] == 1
    assert machine.state == "EntryPending"
