"""The scalper's parts alone: Holding, MarketView, OrderDesk and the ScalperCore state machine.

`MomentumScalper` composes them (core.py); its behaviour is tested in test_machine.py and
the others. Here each part is built by hand with only what it needs.
"""

from collections import Counter
from decimal import Decimal

import pytest

from services.strategy.api import Output, Resync, Transition
from services.strategy.book import Book
from services.strategy.core import InvalidTransition, ScalperCore, State
from services.strategy.desk import OrderDesk
from services.strategy.exits import MAX_HOLD, Holding, exit_reason
from services.strategy.market import Facts, MarketView
from services.strategy.signals import EntryGate, TopOfBook
from shared.schema import CancelOrder, OrderSide, SubmitOrder
from tests.unit.services.strategy.support import (
    BTC,
    ETH,
    MS,
    S_NS,
    T0,
    feed_ready,
    make_rules,
    make_settings,
    quote,
    universe,
)

D = Decimal
SETTINGS = make_settings()


def _facts() -> Facts:
    counters: Counter[str] = Counter()
    return Facts(Book(), MarketView(SETTINGS, counters), counters)


def _holding_long(facts: Facts, qty: str = "0.002") -> None:
    facts.book.symbol = BTC
    facts.book.adopt_position(D(qty), D("50000"))


def _desk(facts: Facts, holding: Holding | None = None) -> OrderDesk:
    return OrderDesk(SETTINGS, facts=facts, holding=holding or Holding(SETTINGS))


# -- Holding ------------------------------------------------------------------------------


def test_holding_arms_the_levels_around_the_entry_and_keeps_the_deadline_when_asked() -> None:
    holding = Holding(SETTINGS)

    holding.arm(D("0.002"), D("50000"), T0, keep_deadline=False)
    first = holding.levels
    holding.arm(D("0.002"), D("50000"), T0 + S_NS, keep_deadline=True)

    assert first is not None
    assert first.stop_price == pytest.approx(49900.0)
    assert first.take_price == pytest.approx(50150.0)
    assert first.deadline_ns == T0 + 60 * S_NS
    assert holding.levels == first
    holding.clear()
    holding.arm(D("0.002"), D("50000"), T0 + S_NS, keep_deadline=True)
    assert holding.levels is not None
    assert holding.levels.deadline_ns == T0 + 61 * S_NS  # cleared: a deadline of its own


def test_holding_without_an_entry_price_closes_on_the_holding_time_only() -> None:
    holding = Holding(SETTINGS)
    top = TopOfBook(1.0, 1.0, 1_000_000.0, 1.0, T0)

    holding.arm(D("-0.002"), None, T0, keep_deadline=False)

    assert holding.levels is not None
    assert exit_reason(holding.levels, top, T0 + 59 * S_NS) is None
    assert exit_reason(holding.levels, top, T0 + 60 * S_NS) == MAX_HOLD


def test_holding_holds_an_exit_off_for_the_retry_time() -> None:
    holding = Holding(SETTINGS)

    holding.hold_off(T0)

    assert holding.must_wait(T0 + S_NS - 1)
    assert not holding.must_wait(T0 + S_NS)


# -- MarketView ---------------------------------------------------------------------------


def test_market_view_counts_data_of_another_symbol_or_epoch_and_waits_for_a_newer_one() -> None:
    facts = _facts()
    market = facts.market
    market.adopt_universe(universe(BTC, 1), T0)
    market.adopt_feed_ready(feed_ready(BTC, 1), T0, [])

    assert market.current(BTC, 1, T0)
    assert not market.current(ETH, 1, T0)
    assert not market.current(BTC, 2, T0 + MS)
    assert facts.counters == Counter({"other_symbol_md": 1, "other_epoch_md": 1})
    assert market.feed_wait_since_ns == T0 + MS


def test_market_view_keeps_an_early_feed_ready_until_its_universe_comes() -> None:
    market = _facts().market
    out: list[Output] = []

    assert not market.adopt_feed_ready(feed_ready(BTC, 1), T0, out)
    assert market.adopt_universe(universe(BTC, 1), T0)

    assert market.feed_ready
    assert market.early_feed_ready is None
    assert market.feed_overdue(T0 + 60 * S_NS) is None
    assert not market.adopt_universe(universe(ETH, 1), T0)  # stale: same epoch
    assert out == []


def test_market_view_asks_the_scanner_and_feed_again_after_each_patience() -> None:
    market = _facts().market
    market.adopt_universe(universe(BTC, 1), T0)
    patience_ns = 10 * S_NS

    assert market.feed_overdue(T0 + patience_ns - 1) is None
    first = market.feed_overdue(T0 + patience_ns)
    assert market.feed_overdue(T0 + 2 * patience_ns - 1) is None
    second = market.feed_overdue(T0 + 2 * patience_ns)

    assert isinstance(first, Resync)
    assert first.peers == ("scanner", "feed")
    assert isinstance(second, Resync)


def test_market_view_names_what_blocks_an_entry_first() -> None:
    market = _facts().market
    assert market.entry_block() == "entry_blocked_no_quote"
    market.adopt_universe(universe(BTC, 1), T0)
    market.take_quote(quote("50000", "50000.1", T0, trace_id="q1"))
    assert market.entry_block() == "entry_blocked_feed"
    market.adopt_feed_ready(feed_ready(BTC, 1), T0, [])
    assert market.entry_block() == "entry_blocked_no_rules"
    market.rules[BTC] = make_rules()

    assert market.entry_block() is None
    assert market.trigger.trace_id == "q1"


# -- OrderDesk ----------------------------------------------------------------------------


def test_the_desk_sends_one_reduce_only_exit_for_the_position_and_books_it() -> None:
    facts = _facts()
    _holding_long(facts)
    desk = _desk(facts)
    out: list[Output] = []

    assert desk.send_exit("stop_loss", T0, out)
    assert not desk.send_exit("stop_loss", T0, out)  # one works already

    (command,) = out
    assert isinstance(command, SubmitOrder)
    assert (command.side, command.qty, command.reduce_only) == (OrderSide.SELL, D("0.002"), True)
    assert facts.book.exit_order() is not None
    assert facts.counters["exit_stop_loss"] == 1


def test_the_desk_caps_an_exit_at_the_market_max_and_waits_out_the_retry() -> None:
    facts = _facts()
    _holding_long(facts, qty="-80")
    facts.market.rules[BTC] = make_rules()
    holding = Holding(SETTINGS)
    desk = _desk(facts, holding)
    out: list[Output] = []

    holding.hold_off(T0)
    assert not desk.send_exit("max_hold", T0, out)
    assert desk.send_exit("max_hold", T0 + S_NS, out)

    (command,) = out
    assert isinstance(command, SubmitOrder)
    assert (command.side, command.qty) == (OrderSide.BUY, D("50"))
    assert facts.counters["exit_retry_wait"] == 1


def test_the_desk_cancels_an_entry_once_and_leaves_exits_to_run() -> None:
    facts = _facts()
    _holding_long(facts)
    desk = _desk(facts)
    out: list[Output] = []
    desk.send_exit("stop_loss", T0, out)
    out.clear()
    entry = facts.book.orders[next(iter(facts.book.orders))]
    entry.reduce_only = False  # the same order, now as an entry

    desk.cancel_entries(T0, out)
    desk.cancel_entries(T0, out)

    (cancel,) = out
    assert isinstance(cancel, CancelOrder)
    assert cancel.client_order_id == entry.client_order_id


# -- ScalperCore --------------------------------------------------------------------------


def _core(facts: Facts) -> ScalperCore:
    holding = Holding(SETTINGS)
    gate = EntryGate(SETTINGS)
    desk = _desk(facts, holding)
    return ScalperCore(SETTINGS, facts=facts, holding=holding, gate=gate, desk=desk)


def test_the_core_moves_only_along_the_allowed_transitions_and_logs_them() -> None:
    core = _core(_facts())
    out: list[Output] = []

    core.go(State.IDLE, "snapshot", T0, out)
    core.go(State.IDLE, "again", T0, out)  # no move, no log

    assert out == [Transition("Syncing", "Idle", "snapshot", T0)]
    with pytest.raises(InvalidTransition):
        core.go(State.EXIT_PENDING, "bug", T0, out)


def test_the_core_places_a_rebuilt_view_where_the_book_and_the_listing_say() -> None:
    facts = _facts()
    core = _core(facts)
    assert core.rest_state() is State.SWITCHING  # no listing yet
    facts.market.adopt_universe(universe(BTC, 1), T0)
    facts.market.adopt_feed_ready(feed_ready(BTC, 1), T0, [])
    assert core.rest_state() is State.IDLE
    _holding_long(facts)

    out: list[Output] = []
    core.enter_rest_state("reconciled snapshot", T0, out)

    assert core.state is State.POSITION_OPEN
    assert out == [Transition("Syncing", "PositionOpen", "reconciled snapshot", T0)]
