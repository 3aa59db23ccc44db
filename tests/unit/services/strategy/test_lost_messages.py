"""Messages lost on the bus or overtaken by others: the strategy never waits for good.

PUB/SUB may drop a message, and a lost one is no gap until the next on its topic arrives;
three publishers (scanner, feed, executor) have no order between them. Each case ends with
the strategy asking for a snapshot (a Resync output) or waiting for what is still due.
"""

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from services.strategy.api import Resync
from services.strategy.loop import StrategyLoop
from shared.bus import SnapshotTimeout
from shared.runtime.clock import FakeClock
from shared.schema import OrderDenied, SubmitOrder
from tests.unit.services.strategy.support import (
    BTC,
    ETH,
    MS,
    S_NS,
    T0,
    alerts,
    canceled,
    denied,
    enter_long,
    feed_ready,
    feed_signal,
    fill,
    position,
    quote,
    ready_machine,
    resyncs,
    snapshot,
    submits,
    transitions,
    universe,
)

D = Decimal


def test_an_entry_whose_fill_is_lost_is_rebuilt_from_the_executor_after_the_quiet_time() -> None:
    machine = ready_machine(order_quiet_s=15.0)
    (entry,) = submits(feed_signal(machine, T0))  # a Market IOC: no entry timeout of its own

    early = machine.on_timer(T0 + 14 * S_NS)
    out = machine.on_timer(T0 + 15 * S_NS)
    rebuilt = machine.on_message(snapshot((position(BTC, "0.002", "50100"),)), T0 + 15 * S_NS)

    assert (early, machine.counters["resync_executor"]) == ([], 1)
    assert transitions(out) == [("EntryPending", "Syncing")]
    assert resyncs(out) == [("executor",)]
    assert transitions(rebuilt) == [("Syncing", "PositionOpen")]
    assert machine.book.qty == entry.qty


def test_an_exit_whose_fill_is_lost_ends_idle_once_the_snapshot_says_flat() -> None:
    machine = ready_machine(order_quiet_s=15.0, stop_loss_pct=0.2)
    enter_long(machine)
    submits(machine.on_message(quote("49900", "49900.1", T0 + S_NS), T0 + S_NS))

    out = machine.on_timer(T0 + 16 * S_NS)
    rebuilt = machine.on_message(snapshot(), T0 + 16 * S_NS)

    assert transitions(out) == [("ExitPending", "Syncing")]
    assert transitions(rebuilt) == [("Syncing", "Idle")]


def test_news_of_an_order_restarts_its_quiet_time() -> None:
    machine = ready_machine(order_quiet_s=15.0)
    (entry,) = submits(feed_signal(machine, T0))

    machine.on_message(fill(entry, "0.001", "50100", final=False), T0 + 10 * S_NS)
    out = machine.on_timer(T0 + 20 * S_NS)

    assert resyncs(out) == []
    assert machine.state == "EntryPending"


def test_a_cancel_that_overtakes_its_fill_waits_for_the_fill_and_never_enters_beside_it() -> None:
    machine = ready_machine(post_only_timeout_s=2.0)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))  # PostOnly
    machine.on_timer(T0 + 2 * S_NS)  # the timeout's cancel

    out = machine.on_message(canceled(entry, cum="0.001"), T0 + 2 * S_NS + MS)
    signal = feed_signal(machine, T0 + 3 * S_NS, bid="50070", ask="50100")
    late = machine.on_message(fill(entry, "0.001", "50070", final=False), T0 + 3 * S_NS)

    assert transitions(out) == []
    assert machine.counters["fills_missing_at_cancel"] == 1
    assert submits(signal) == []
    assert transitions(late) == [("EntryPending", "PositionOpen")]
    assert machine.book.qty == D("0.001")


def test_a_cancel_whose_fill_never_comes_is_rebuilt_after_the_quiet_time() -> None:
    machine = ready_machine(post_only_timeout_s=2.0, order_quiet_s=15.0)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))
    machine.on_timer(T0 + 2 * S_NS)
    machine.on_message(canceled(entry, cum="0.001"), T0 + 3 * S_NS)

    out = machine.on_timer(T0 + 18 * S_NS)
    rebuilt = machine.on_message(snapshot((position(BTC, "0.001", "50070"),)), T0 + 18 * S_NS)

    assert resyncs(out) == [("executor",)]
    assert transitions(rebuilt) == [("Syncing", "PositionOpen")]


def test_a_rebuild_mid_switch_flattens_the_older_symbols_position() -> None:
    machine = ready_machine()
    enter_long(machine)
    machine.on_message(universe(ETH, 2), T0 + S_NS)  # Switching, a BTC exit on the way
    machine.executor_silent(T0 + 2 * S_NS)

    out = machine.on_message(snapshot((position(BTC, "0.002", "50100"),)), T0 + 3 * S_NS)

    assert transitions(out) == [("Syncing", "Switching")]
    assert alerts(out) == []
    assert machine.book.qty == D("0.002")
    assert machine.book.symbol == BTC


def test_a_lost_feed_ready_is_asked_for_again_after_the_patience() -> None:
    machine = ready_machine(feed_patience_s=10.0)
    machine.on_message(universe(ETH, 2), T0)  # Switching; its FeedReady is lost

    early = machine.on_timer(T0 + 9 * S_NS)
    out = machine.on_timer(T0 + 10 * S_NS)
    again = machine.on_timer(T0 + 20 * S_NS)
    ready = machine.on_message(feed_ready(ETH, 2), T0 + 20 * S_NS)  # from the feed's snapshot
    after = machine.on_timer(T0 + 40 * S_NS)

    assert resyncs(early) == []
    assert resyncs(out) == [("scanner", "feed")]
    assert resyncs(again) == [("scanner", "feed")]
    assert transitions(ready) == [("Switching", "Idle")]
    assert resyncs(after) == []


def test_a_lost_universe_change_is_asked_for_when_the_feed_serves_a_newer_epoch() -> None:
    machine = ready_machine(feed_patience_s=10.0)

    machine.on_message(quote("3000", "3000.1", T0, symbol=ETH, epoch=2), T0)
    out = machine.on_timer(T0 + 10 * S_NS)
    machine.on_message(universe(ETH, 2), T0 + 10 * S_NS)
    machine.on_message(feed_ready(ETH, 2), T0 + 10 * S_NS)
    after = machine.on_timer(T0 + 30 * S_NS)

    assert resyncs(out) == [("scanner", "feed")]
    assert machine.state == "Idle"
    assert resyncs(after) == []


def test_a_denied_exit_while_switching_waits_for_the_retry_interval() -> None:
    machine = ready_machine(exit_retry_s=1.0)
    enter_long(machine)
    (exit_,) = submits(machine.on_message(universe(ETH, 2), T0 + S_NS))

    out = machine.on_message(denied(exit_), T0 + S_NS)
    soon = machine.on_timer(T0 + S_NS + 500 * MS)
    later = machine.on_timer(T0 + 2 * S_NS + MS)

    assert submits(out) == []
    assert submits(soon) == []
    assert len(submits(later)) == 1


class _Away:
    """The executor's command socket with no peer: every send fails."""

    def __init__(self) -> None:
        self.sends = 0

    def send(self, command: Any) -> bool:
        self.sends += 1
        return False


class _Publisher:
    def send(self, message: Any) -> None:
        pass  # alerts and status: not what this test is about


class _DenyForever:
    """A strategy that answers every denial with the order again: the loop must not nest."""

    def __init__(self, order: SubmitOrder, times: int) -> None:
        self.order, self.times, self.denials = order, times, 0

    def on_message(self, message: Any, now_ns: int) -> list[Any]:
        assert isinstance(message, OrderDenied)
        self.denials += 1
        return [] if self.denials >= self.times else [self.order]


def test_commands_the_executor_cannot_take_are_denied_without_nesting() -> None:
    (order,) = submits(feed_signal(ready_machine(), T0))
    commands, strategy = _Away(), _DenyForever(order, times=2_000)
    sockets = SimpleNamespace(commands=commands, publisher=_Publisher())
    clock = FakeClock(T0)
    loop = StrategyLoop(strategy, "mom1", sockets, None, clock, 1.0)  # type: ignore[arg-type]

    loop._act([order])  # 2,000 denials deep: a RecursionError if each were handled nested

    assert (commands.sends, strategy.denials) == (2_000, 2_000)
    assert loop.counters["commands_undeliverable"] == 2_000


def test_a_denied_cancel_is_no_news_so_a_lost_final_report_still_resyncs() -> None:
    # The entry filled (or the venue cancelled it) and that report was lost: our timeout's
    # cancel is denied ("not working") again and again; that must not keep it "heard of".
    machine = ready_machine(post_only_timeout_s=2.0, order_quiet_s=15.0, exit_retry_s=1.0)
    (entry,) = submits(feed_signal(machine, T0, bid="50070", ask="50100"))
    outs = []
    for second in range(2, 16):
        now = T0 + second * S_NS
        outs += machine.on_timer(now)
        machine.on_message(denied(entry, kind="CancelOrder"), now + MS)

    assert resyncs(outs) == [("executor",)]
    assert machine.state == "Syncing"


def test_a_new_position_after_a_switch_gets_its_own_holding_time() -> None:
    machine = ready_machine(max_hold_s=60.0)
    enter_long(machine)
    (exit_,) = submits(machine.on_message(universe(ETH, 2), T0 + S_NS))
    machine.on_message(fill(exit_, "0.002", "50000"), T0 + S_NS)
    machine.on_message(feed_ready(ETH, 2), T0 + S_NS)  # Idle on ETH
    later = T0 + 300 * S_NS
    (entry,) = submits(feed_signal(machine, later, symbol=ETH, epoch=2))
    machine.on_message(fill(entry, "0.001", "50100", final=False), later)
    machine.executor_silent(later + S_NS)

    machine.on_message(snapshot((position(ETH, "0.001", "50100"),)), later + 2 * S_NS)
    out = machine.on_timer(later + 3 * S_NS)

    assert machine.state == "PositionOpen"
    assert submits(out) == []  # not an exit for a deadline of the old position


def test_an_entry_still_on_its_way_into_the_executor_survives_a_rebuild_without_it() -> None:
    machine = ready_machine(command_ttl_ms=1_000)
    (entry,) = submits(feed_signal(machine, T0))
    machine.executor_silent(T0 + 100 * MS)

    out = machine.on_message(snapshot(), T0 + 200 * MS)  # taken before it registered the entry
    again = feed_signal(machine, T0 + 300 * MS)

    assert transitions(out) == [("Syncing", "EntryPending")]
    assert list(machine.book.orders) == [entry.client_order_id]
    assert submits(again) == []


def test_an_order_older_than_its_time_to_live_and_not_in_the_snapshot_is_dropped() -> None:
    machine = ready_machine(command_ttl_ms=1_000)
    submits(feed_signal(machine, T0))
    machine.executor_silent(T0 + S_NS)

    out = machine.on_message(snapshot(), T0 + 2 * S_NS)

    assert transitions(out) == [("Syncing", "Idle")]


class _Peer:
    def __init__(self, sender: str, answers: bool) -> None:
        self.sender, self.prefix, self.answers, self.fetches = sender, b"", answers, 0
        self.snapshots = self

    def fetch(self, prefix: bytes, timeout_s: float) -> Any:
        self.fetches += 1
        if not self.answers:
            raise SnapshotTimeout("away")
        return SimpleNamespace(messages=[(b"exec.snapshot.", snapshot())])


class _Inbox:
    def apply_snapshot(self, reply: Any) -> None:
        pass  # the sequence baseline: not what these tests are about


class _Machine:
    def __init__(self) -> None:
        self.heard: list[Any] = []

    def on_message(self, message: Any, now_ns: int) -> list[Any]:
        self.heard.append(message)
        return []


def _loop(*peers: _Peer) -> tuple[StrategyLoop, _Machine]:
    machine = _Machine()
    sockets = SimpleNamespace(peers=peers, inbox=_Inbox(), publisher=_Publisher())
    clock = FakeClock(T0)
    loop = StrategyLoop(machine, "mom1", sockets, None, clock, 1.0)  # type: ignore[arg-type]
    return loop, machine


def test_a_resync_of_the_executor_joins_it_again_past_a_feed_that_does_not_answer() -> None:
    scanner, feed, executor = _Peer("scanner", True), _Peer("feed", False), _Peer("executor", True)
    loop, machine = _loop(scanner, feed, executor)
    loop._joined = loop._ever_joined = {"scanner", "feed", "executor"}
    loop._joined = set(loop._joined) - {"feed"}  # a gap on the feed's topics, and it died

    loop._act([Resync(("executor",), "test", T0)])
    loop._join()

    assert (feed.fetches, executor.fetches) == (1, 1)
    assert loop._joined == {"scanner", "executor"}
    assert len(machine.heard) == 1
    assert loop.counters["resyncs"] == 1


def test_a_join_round_ends_at_the_first_peer_that_does_not_answer() -> None:
    scanner, feed, executor = _Peer("scanner", True), _Peer("feed", True), _Peer("executor", False)
    loop, _ = _loop(scanner, feed, executor)
    loop._ever_joined = {"scanner", "feed", "executor"}
    loop._joined = {"scanner"}

    loop._join()

    assert (feed.fetches, executor.fetches) == (0, 1)  # one timeout per round, at most


def test_a_first_join_waits_for_the_feed_before_the_executor() -> None:
    scanner, feed, executor = _Peer("scanner", True), _Peer("feed", False), _Peer("executor", True)
    loop, _ = _loop(scanner, feed, executor)

    loop._join()

    assert (scanner.fetches, feed.fetches, executor.fetches) == (1, 1, 0)
    assert loop._joined == {"scanner"}


def test_a_resync_of_the_scanner_and_feed_fetches_each_once_and_keeps_them_joined() -> None:
    scanner, feed, executor = _Peer("scanner", True), _Peer("feed", False), _Peer("executor", True)
    loop, _ = _loop(scanner, feed, executor)
    loop._joined = {"scanner", "feed", "executor"}

    loop._act([Resync(("scanner", "feed"), "test", T0)])
    loop._refresh_once()
    loop._refresh_once()

    assert (scanner.fetches, feed.fetches, executor.fetches) == (1, 1, 0)
    assert loop._joined == {"scanner", "feed", "executor"}
    assert loop.counters["snapshot_failures_feed"] == 1
