"""A market maker instance beside the momentum scalper, on the paper venue under supervisord.

The settings add `[strategy-mm1]` (kind market-maker, strategy id mm1) to the scalper's
`[strategy]`: scripts/run runs it as the program strategy-mm1. The executor's rate limits
are raised for a market maker (the scalper's 60 orders a minute would deny most quotes).
(a) mm1 quotes: PostOnly orders tagged mm1 rest on both sides at the venue, and the
executor's snapshot lists them; (b) kill -9 of mm1 while it quotes: its quotes are gone
within the dead-man timeout (supervisord restarts it and the new process replaces them);
(b') the executor's dead-man's switch alone, per instance: a frozen mm1's quotes (a wide
spread in the calm market: they rest) are pulled while the scalper beside it keeps
talking, and a market maker run as [strategy] is pulled 2.5-3.5 s after it froze (measured
and printed; dead-man-after-s 3 s, heartbeats every 1 s, guard tick 0.5 s); (c) an
executor restart or kill -9 while mm1 quotes: afterwards the executor's snapshot and the
venue agree on mm1's open orders (none orphaned) and mm1 quotes again (a new executor up
before mm1 missed its heartbeats is a rejoin: mm1 rebuilds from its snapshot at once);
(d) with the feed serving several symbols ([feed] symbols), mm1 quotes two at once.
"""

import os
import shutil
import signal
import tempfile
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.control import Supervisor, free_port
from scripts.paper_system import System, running_system
from shared.bus import BusNode, Signer, SnapshotIncomplete, SnapshotTimeout
from shared.runtime.clock import LiveClock
from shared.schema import ExecutionSnapshot
from shared.settings import BusSettings, load_section
from tests.helpers.waiting import eventually_sync

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

MM = "mm1"
PROGRAM = f"strategy-{MM}"
DEAD_MAN_AFTER_S = 3.0  # [executor] dead-man-after-s (the default)
# The executor's limits for a market maker: it re-quotes many times a minute.
EXECUTOR = {
    "max-orders-per-minute": "100000",
    "max-open-orders": "50",
    "strategy-orders-per-minute-by-id": f"{{ {MM} = 100000 }}",
    "dead-man-after-s": str(DEAD_MAN_AFTER_S),
}


def mm_sections(*market_maker_lines: str, spread_bps: tuple[float, float] = (0.2, 3.0)) -> str:
    """[strategy-mm1]: the market maker, with spread bounds `spread_bps` (by default inside
    the paper market's), and `market_maker_lines` in its [strategy-mm1.market-maker]."""
    return (
        f"\n[{PROGRAM}]\n"
        f"metrics-port = {free_port()}\n"
        'kind = "market-maker"\n'
        f'strategy-id = "{MM}"\n'
        f"\n[{PROGRAM}.market-maker]\n"
        f"min-spread-bps = {spread_bps[0]}\n"
        f"max-spread-bps = {spread_bps[1]}\n"
        "order-notional-usdt = 100.0\n" + "".join(f"{line}\n" for line in market_maker_lines)
    )


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """ipc paths are limited to 107 bytes: a short directory under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="mm-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def system(short_dir: Path) -> Iterator[System]:
    with running_system(short_dir, {"executor": EXECUTOR}, extra_sections=mm_sections()) as running:
        yield running


@pytest.fixture
def calm_system(short_dir: Path) -> Iterator[System]:
    """mm1 beside the scalper in the calm paper market, with a wide spread: its quotes
    should not fill within the dead-man timeout. (The lively market, the default, filled
    both of a frozen mm1's quotes within 0.75 s: nothing was left for the switch.)"""
    with running_system(
        short_dir,
        {"executor": EXECUTOR, "simulator": {"profile": '"realistic"'}},
        extra_sections=mm_sections(spread_bps=(10.0, 20.0)),
    ) as running:
        yield running


def alive(system: System) -> None:
    assert system.process.poll() is None, (system.run_dir.parent / "run.out").read_text()


def venue_quotes(system: System) -> list[dict[str, Any]]:
    """mm1's open orders at the venue."""
    orders = system.venue_all("/v5/order/realtime", {"category": "linear", "settleCoin": "USDT"})
    return [o for o in orders if o["orderLinkId"].startswith(f"{MM}-")]


def quoting_both_sides(system: System) -> bool:
    alive(system)
    try:
        quotes = venue_quotes(system)
    except urllib.error.URLError:
        return False  # the paper venue is still starting
    sides = {o["side"] for o in quotes if o["timeInForce"] == "PostOnly"}
    return sides == {"Buy", "Sell"}


def executor_snapshot(system: System) -> ExecutionSnapshot | None:
    """The executor's snapshot over the bus, or None if it did not answer."""
    bus = load_section("bus", BusSettings, system.settings)
    endpoints = bus.endpoints.resolved(system.run_dir)
    node = BusNode("mm-test", bus, signer=Signer(None), clock=LiveClock())
    try:
        reply = node.snapshot_client(endpoints.execution_snapshot).fetch("exec.snapshot.", 2.0)
    except (SnapshotTimeout, SnapshotIncomplete):
        return None
    finally:
        node.close()
    return next((m for _, m in reply.messages if isinstance(m, ExecutionSnapshot)), None)


def executor_knows_venue(system: System) -> bool:
    """Every open mm1 order at the venue is open in the executor's snapshot, and the other
    way round (the venue asked before and after the snapshot: a quote placed or pulled in
    between is in one of them)."""
    alive(system)
    before = {o["orderLinkId"] for o in venue_quotes(system)}
    snapshot = executor_snapshot(system)
    after = {o["orderLinkId"] for o in venue_quotes(system)}
    if snapshot is None or not snapshot.reconciled:
        return False
    ours = {o.client_order_id for o in snapshot.open_orders if o.strategy_id == MM}
    return bool(before & after) and (before & after) <= ours <= (before | after)


def test_market_maker_quotes_beside_the_scalper(system: System) -> None:
    # (a) PostOnly quotes of mm1 on both sides, known to the executor.
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
    eventually_sync(lambda: executor_knows_venue(system), timeout_s=20, interval_s=0.5)
    supervisor = Supervisor(system.run_dir)

    def both_running() -> bool:  # supervisord says STARTING for its first startsecs
        states = {p.name: p.state for p in supervisor.processes()}
        return states["strategy"] == states[PROGRAM] == "RUNNING"

    eventually_sync(both_running, timeout_s=30, interval_s=0.5)
    assert system.log(PROGRAM), "the instance logs to its own file"


def test_executor_restart_while_quoting_leaves_no_orphan(system: System) -> None:
    # (c) restart the executor while mm1 quotes.
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
    supervisor = Supervisor(system.run_dir)
    supervisor.rpc.stopProcess("executor", True)  # SIGTERM: it cancels its working orders
    supervisor.rpc.startProcess("executor", True)
    eventually_sync(lambda: executor_knows_venue(system), timeout_s=60, interval_s=0.5)
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=60, interval_s=0.5)
    eventually_sync(lambda: executor_knows_venue(system), timeout_s=30, interval_s=0.5)


def test_executor_crash_while_quoting_leaves_no_orphan(system: System) -> None:
    # (c) kill -9 of the executor while mm1 quotes: its quotes stay at the venue; the new
    # executor reconciles them from the venue and the journal.
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
    executor_pid = Supervisor(system.run_dir).rpc.getProcessInfo("executor")["pid"]
    os.kill(executor_pid, signal.SIGKILL)

    def restarted() -> bool:
        info = Supervisor(system.run_dir).rpc.getProcessInfo("executor")
        return bool(info["statename"] == "RUNNING" and info["pid"] != executor_pid)

    eventually_sync(restarted, timeout_s=30, interval_s=0.2)
    eventually_sync(lambda: executor_knows_venue(system), timeout_s=60, interval_s=0.5)
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=60, interval_s=0.5)


def test_killed_market_makers_quotes_are_pulled_within_the_dead_man_timeout(
    system: System,
) -> None:
    # (b) kill -9 of mm1 while it quotes. supervisord restarts it at once; the new process
    # rebuilds from the executor's snapshot and replaces the old quotes (measured: ~2 s).
    # The executor's dead-man's switch does not see mm1 (the test below): this one passes
    # through the restart.
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
    supervisor = Supervisor(system.run_dir)
    pid = supervisor.rpc.getProcessInfo(PROGRAM)["pid"]
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    left = {o["orderLinkId"] for o in venue_quotes(system)}  # the killed process's quotes

    def pulled() -> bool:
        return not left & {o["orderLinkId"] for o in venue_quotes(system)}

    eventually_sync(pulled, timeout_s=DEAD_MAN_AFTER_S + 10, interval_s=0.1)
    pulled_s = time.monotonic() - killed
    print(f"mm1's quotes pulled {pulled_s:.2f} s after kill -9")
    assert pulled_s <= DEAD_MAN_AFTER_S + 2.0


def switch_fired(system: System, instance: str) -> int:
    """How many times the executor's dead-man's switch of `instance` fired so far."""
    return system.log("executor").count(f"(instance {instance})")


def fires_within(system: System, instance: str, before: int, timeout_s: float) -> bool:
    """Whether `instance`'s switch fires (more than `before` times) within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while switch_fired(system, instance) <= before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)  # polling the executor's log for the condition
    return True


def all_pulled(system: System, timeout_s: float) -> None:
    """Return once mm1 has no order at the venue; else fail with what is left and what the
    executor logged of those orders and of its guard."""
    try:
        eventually_sync(lambda: not venue_quotes(system), timeout_s=timeout_s, interval_s=0.1)
    except AssertionError:
        left = venue_quotes(system)
        ids = [o["orderLinkId"] for o in left]
        said = [
            line
            for line in system.log("executor").splitlines()
            if any(i in line for i in ids) or "guard" in line or "dead_mans_switch" in line
        ]
        shown = [(o["orderLinkId"], o["side"], o["orderStatus"], o["createdTime"]) for o in left]
        lines = "\n".join(said[-30:])
        raise AssertionError(
            f"mm1's orders still at the venue after {timeout_s} s: {shown}\n"
            f"the executor's log of them and of its guard (last 30 lines):\n{lines}"
        ) from None


def test_dead_mans_switch_pulls_a_frozen_market_makers_quotes(calm_system: System) -> None:
    # (b') the dead-man's switch alone: mm1 frozen (SIGSTOP: no restart) sends nothing more.
    # In the calm market its wide quotes should rest until the switch pulls them; should the
    # market fill every frozen quote first, nothing is left for the switch, and that freeze
    # proves nothing: mm1 is then thawed and frozen again.
    system = calm_system
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
    pid = Supervisor(system.run_dir).rpc.getProcessInfo(PROGRAM)["pid"]
    try:
        for _ in range(3):
            eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
            fired = switch_fired(system, "strategy-mm1")
            os.kill(pid, signal.SIGSTOP)
            frozen = time.monotonic()
            # every mm1 order gone, one sent just before the freeze too (not only those seen)
            all_pulled(system, timeout_s=DEAD_MAN_AFTER_S + 5)
            gone_s = time.monotonic() - frozen
            # the alert's log line may come a moment after the venue's cancel
            if fires_within(system, "strategy-mm1", fired, timeout_s=5.0):
                break
            os.kill(pid, signal.SIGCONT)  # the market filled them all first: again
        else:
            pytest.fail("three freezes, and each time the market filled every quote first")
        print(f"dead-man's switch: frozen mm1's quotes pulled after {gone_s:.2f} s")
        assert gone_s <= DEAD_MAN_AFTER_S + 2.0
        assert switch_fired(system, "strategy") == 0  # the scalper, talking, kept its own
    finally:
        os.kill(pid, signal.SIGKILL)


TWO = ("ETHUSDT", "SOLUSDT")


@pytest.fixture
def two_symbol_system(short_dir: Path) -> Iterator[System]:
    """The feed serves every whitelisted symbol ([feed] symbols); mm1 quotes two of them."""
    symbols = ", ".join(f'"{s}"' for s in ("BTCUSDT", *TWO))
    quoted = ", ".join(f'"{s}"' for s in TWO)
    sections = mm_sections(f"symbols = [{quoted}]")
    with running_system(
        short_dir,
        {"executor": EXECUTOR, "feed": {"symbols": f"[{symbols}]"}},
        extra_sections=sections,
    ) as running:
        yield running


def quoting_both_sides_of_each(system: System) -> bool:
    alive(system)
    try:
        quotes = venue_quotes(system)
    except urllib.error.URLError:
        return False  # the paper venue is still starting
    sides = {(o["symbol"], o["side"]) for o in quotes if o["timeInForce"] == "PostOnly"}
    return sides == {(s, side) for s in TWO for side in ("Buy", "Sell")}


def test_market_maker_quotes_two_symbols_at_once(two_symbol_system: System) -> None:
    # (d) one instance quotes ETHUSDT and SOLUSDT, each on both sides, at the same time.
    eventually_sync(
        lambda: quoting_both_sides_of_each(two_symbol_system), timeout_s=90, interval_s=0.5
    )
    eventually_sync(lambda: executor_knows_venue(two_symbol_system), timeout_s=20, interval_s=0.5)


@pytest.fixture
def sole_mm_system(short_dir: Path) -> Iterator[System]:
    """The market maker as the one strategy, [strategy] itself: the executor hears it. The
    calm paper market and a wide spread: its quotes should not fill within the timeout."""
    with running_system(
        short_dir,
        {
            "executor": EXECUTOR,
            "strategy": {"kind": '"market-maker"', "strategy-id": f'"{MM}"'},
            "simulator": {"profile": '"realistic"'},
        },
        extra_sections=(
            "\n[strategy.market-maker]\nmin-spread-bps = 10.0\nmax-spread-bps = 20.0\n"
        ),
    ) as running:
        yield running


def test_dead_mans_switch_pulls_the_quotes_of_a_frozen_sole_market_maker(
    sole_mm_system: System,
) -> None:
    # (b'') the dead-man's switch measured: mm1 as [strategy], frozen (SIGSTOP: no restart).
    system = sole_mm_system
    eventually_sync(lambda: quoting_both_sides(system), timeout_s=90, interval_s=0.5)
    pid = Supervisor(system.run_dir).rpc.getProcessInfo("strategy")["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        left = {o["orderLinkId"] for o in venue_quotes(system)}

        def pulled() -> bool:
            return not left & {o["orderLinkId"] for o in venue_quotes(system)}

        eventually_sync(pulled, timeout_s=DEAD_MAN_AFTER_S + 5, interval_s=0.1)
        pulled_s = time.monotonic() - frozen
    finally:
        os.kill(pid, signal.SIGKILL)
    print(f"dead-man's switch: the frozen market maker's quotes pulled after {pulled_s:.2f} s")
    # Silent since its last message (a heartbeat at most 1 s before the freeze); the guard
    # ticks every 0.5 s, then cancels and waits for each answer.
    assert DEAD_MAN_AFTER_S - 1.0 <= pulled_s <= DEAD_MAN_AFTER_S + 2.0
    # Pulled by the switch (not filled meanwhile): its alert names the silence.
    assert "alert code=dead_mans_switch strategy silent for" in system.log("executor")
