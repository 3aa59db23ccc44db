"""scripts/chaos: kill -9 the services of a paper session with the venue's faults on, then check.

Starts the whole system (scripts/run, paper mode) on private ports and a private run dir,
turns on moderate faults in the simulator, and in rounds kills one service with SIGKILL
(each in turn, then all at once) while supervisord restarts them. After each restart it
measures how long until the executor's positions equal the venue's. At the end it stops
cleanly and prints the report of scripts/chaos_report.py: lines of `name value`, then
one JSON line. Exit 0 if every invariant holds, 1 if one does not, 2 on a usage error.

The simulator is not killed: it keeps no state across restarts, so killing it would wipe
the venue (orders, positions, executions) that every figure is checked against.
"""

import argparse
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from scripts.chaos_report import (
    POSITION_LIMIT_S,
    ChaosInputs,
    ChaosReport,
    RestartCheck,
    VenueOrder,
    build_report,
)
from scripts.chaos_watch import BusWatch, journal_fills, journal_intents, venue_executions
from scripts.control import Supervisor
from scripts.paper_system import System, VenueError, running_system
from services.executor.order_state import TERMINAL_STATUSES
from services.simulator.settings import Faults
from shared.settings import DEFAULT_SETTINGS_PATH, BusSettings, load_section

KILLABLE = ("scanner", "feed", "executor", "strategy")  # not the simulator: see the docstring
FAULTS: dict[str, Any] = {
    "ws-drop-rate": 0.01,
    "ws-duplicate-rate": 0.05,
    "rest-5xx-rate": 0.02,
    "timeout-after-accept-rate": 0.05,
    "timeout-after-accept-s": 3.0,
}
NO_FAULTS: dict[str, Any] = msgspec.to_builtins(Faults())  # the simulator's defaults: all off
# The executor gives up on a REST call after 2 s (default 5), so a create held back for
# timeout-after-accept-s (3 s) ends in doubt and is resolved by orderLinkId (invariant 3).
EXECUTOR_REST_TIMEOUT_S = "2.0"
WATCH_S = 30.0  # how long a position check waits before it calls the positions never equal
_TERMINAL = tuple(sorted(str(s) for s in TERMINAL_STATUSES))

Progress = Callable[[str], None]


def progress(line: str) -> None:
    print(f"chaos: {time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


@dataclass
class Chaos:
    """One chaos session on a running system: the rounds, and what they observed."""

    system: System
    watch: BusWatch
    say: Progress
    restarts: list[RestartCheck] = field(default_factory=list)
    orders_seen: list[VenueOrder] = field(default_factory=list)
    kills_mid_order: int = 0  # executor kills that hit while the journal had a working order

    @property
    def supervisor(self) -> Supervisor:
        return Supervisor(self.system.run_dir)

    def wait(self, what: str, condition: Callable[[], object], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.system.process.poll() is not None:
                raise RuntimeError(f"scripts/run exited while waiting for {what}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not within {timeout_s} s\n{self.log_tails()}")
            time.sleep(0.05)  # polling the system's state

    def log_tails(self, lines: int = 12) -> str:
        """The last lines of each service's log: what a timed-out wait needs to be explained."""
        tails = []
        for name in ("simulator", *KILLABLE):
            tail = self.system.log(name).splitlines()[-lines:]
            tails.append(f"--- {name}.log (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(tails)

    def states(self) -> dict[str, tuple[str, int]]:
        try:
            return {p.name: (p.state, p.pid) for p in self.supervisor.processes()}
        except OSError:  # the socket is not there yet
            return {}

    def wait_until_up(self, timeout_s: float = 90.0) -> None:
        """Every service RUNNING and heard on the bus, a FeedReady, a reconciled executor."""
        self.wait("supervisord", self.supervisor.answers, timeout_s)
        self.wait(
            "all services RUNNING",
            lambda: all(s == "RUNNING" for s, _ in self.states().values()),
            timeout_s,
        )
        self.wait("all heard", lambda: all(self.watch.incarnation(n) for n in KILLABLE), timeout_s)
        self.wait("a FeedReady", self._feed_ready_known, timeout_s)
        self.wait("a reconciled executor", self._reconciled, timeout_s)

    def _feed_ready_known(self) -> bool:
        """Heard on the bus, or else kept in the feed's snapshot: the watch's subscription
        may have joined after the feed published it (a slow joiner misses it for good)."""
        if self.watch.feed_ready():
            return True
        self.watch.fetch_feed_ready()
        if self.watch.feed_ready():
            self.say("FeedReady read from the feed's snapshot (not yet heard on the bus)")
            return True
        return False

    def _reconciled(self) -> bool:
        snapshot = self.watch.executor_snapshot()
        return snapshot is not None and snapshot.reconciled

    def kill(self, names: tuple[str, ...], label: str) -> None:
        """SIGKILL `names`, wait for their restart, time the positions, wait until heard."""
        mid_order = "executor" in names and self.await_working_order(10.0)
        self.kills_mid_order += mid_order
        before = self.states()
        incarnations = {n: self.watch.incarnation(n) for n in names}
        for name in names:
            signal_pid(before[name][1])
        killed = ", ".join(f"{n}={before[n][1]}" for n in names)
        self.say(f"{label}: killed {killed}{' with an order working' if mid_order else ''}")
        self.wait(
            "the restart",
            lambda: all(self.states().get(n, ("", 0))[1] not in (0, before[n][1]) for n in names),
            30,
        )
        spawned = time.monotonic()
        check = RestartCheck(label, self.time_positions(spawned))
        self.restarts.append(check)
        self.wait("RUNNING again", lambda: all(self.states()[n][0] == "RUNNING" for n in names), 60)
        self.wait(
            "heard again",
            lambda: all(self.watch.incarnation(n) != incarnations[n] for n in names),
            60,
        )
        if "feed" in names:
            self.watch.fetch_feed_ready()
        took = "never" if check.equal_after_s is None else f"{check.equal_after_s:.2f} s"
        self.say(f"{label}: back; positions equal after {took}")

    def await_working_order(self, timeout_s: float) -> bool:
        """Wait until the journal has an order working (to kill the executor mid-order)."""
        terminal = ", ".join("?" * len(_TERMINAL))
        query = f"SELECT count(*) FROM intents WHERE status NOT IN ({terminal})"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rows = self.system.journal(query, *_TERMINAL)
            if rows and rows[0][0]:
                return True
            time.sleep(0.005)  # polling the journal: orders work for milliseconds to seconds
        return False

    def time_positions(self, since: float) -> float | None:
        """Seconds from `since` until the executor's positions equal the venue's (or None)."""
        while time.monotonic() - since < WATCH_S:
            snapshot = self.watch.executor_snapshot(timeout_s=0.5)
            if snapshot is not None and snapshot.reconciled:
                ours = {p.symbol: p.qty for p in snapshot.positions if p.qty}
                try:
                    venue = self.venue_positions()
                except VenueError as e:
                    self.say(f"venue query failed: {e}")
                    continue
                if ours == venue:
                    took = time.monotonic() - since
                    self.orders_seen += self.venue_open_orders()
                    return took
            time.sleep(0.1)  # polling two views of the position
        return None

    def venue_positions(self) -> dict[str, Decimal]:
        rows = self.system.venue_all(
            "/v5/position/list", {"category": "linear", "settleCoin": "USDT", "limit": "200"}
        )
        return {r["symbol"]: signed(r["size"], r["side"]) for r in rows if Decimal(r["size"])}

    def venue_open_orders(self) -> list[VenueOrder]:
        rows = self.system.venue_all(
            "/v5/order/realtime", {"category": "linear", "settleCoin": "USDT", "limit": "50"}
        )
        return [
            VenueOrder(r["orderLinkId"], r["orderId"], r["symbol"], r["orderStatus"]) for r in rows
        ]

    def trade(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.system.process.poll() is not None:
                raise RuntimeError("scripts/run exited while trading")
            time.sleep(0.2)  # pacing: let the strategy trade between rounds


def signal_pid(pid: int) -> None:
    if pid <= 0:
        raise RuntimeError(f"no pid to kill ({pid})")
    os.kill(pid, signal.SIGKILL)


def signed(size: str, side: str) -> Decimal:
    return Decimal(size) if side == "Buy" else -Decimal(size)


def overrides(seed: int) -> dict[str, dict[str, str]]:
    """Settings of the run: the market's seed; an executor REST timeout below the faults'."""
    return {
        "simulator": {"seed": str(seed)},
        "executor": {"rest-timeout-s": EXECUTOR_REST_TIMEOUT_S},
    }


def plan(rng: random.Random, cycles: int) -> list[tuple[str, ...]]:
    """Each service in turn (shuffled), then all at once; `cycles` times."""
    rounds: list[tuple[str, ...]] = []
    for _ in range(cycles):
        order = list(KILLABLE)
        rng.shuffle(order)
        rounds += [(name,) for name in order] + [KILLABLE]
    return rounds


# ---- collecting the inputs of the report


def stop_service(supervisor: Supervisor, name: str) -> None:
    supervisor.rpc.stopProcess(name, True)


def finish(chaos: Chaos) -> tuple[ChaosInputs, int]:
    """Faults off, strategy and executor stopped, the venue and the journal read, run stopped."""
    system = chaos.system
    system.admin("/admin/faults", NO_FAULTS)
    chaos.say("faults off; stopping strategy, then executor (it cancels its working orders)")
    for name in ("strategy", "executor"):
        stop_service(chaos.supervisor, name)
    inputs = ChaosInputs(
        intents=journal_intents(system),
        fills=journal_fills(system),
        venue_executions=venue_executions(system),
        venue_orders_seen=chaos.orders_seen,
        venue_orders_at_end=chaos.venue_open_orders(),
        venue_positions_at_end=chaos.venue_positions(),
        feed_ready=chaos.watch.feed_ready(),
        restarts=chaos.restarts,
    )
    chaos.say("stopping scripts/run (SIGTERM)")
    system.process.send_signal(signal.SIGTERM)
    return inputs, system.process.wait(timeout=90)


def run_chaos(
    directory: Path,
    *,
    seed: int,
    cycles: int,
    trade_s: float,
    faults: dict[str, Any] | None = None,
    say: Progress = progress,
) -> tuple[ChaosReport, int]:
    """Run `cycles` of kill rounds on a fresh paper system in `directory`.

    `faults` (default FAULTS) are switched on once the system is up. Returns the report
    and scripts/run's exit code (0: every service stopped cleanly).
    """
    faults = FAULTS if faults is None else faults
    rng = random.Random(seed)
    bus = load_section("bus", BusSettings, DEFAULT_SETTINGS_PATH)
    endpoints = bus.endpoints.resolved(directory / "run")  # what running_system will use
    with (
        BusWatch(bus, endpoints) as watch,
        running_system(directory, overrides(seed)) as system,
    ):
        chaos = Chaos(system, watch, say)
        say(f"starting the paper system in {directory}")
        chaos.wait_until_up()
        say(f"up; faults on: {faults}")
        system.admin("/admin/faults", faults)
        chaos.trade(trade_s)
        for number, names in enumerate(plan(rng, cycles), start=1):
            chaos.kill(names, f"round {number} kill {'all' if len(names) > 1 else names[0]}")
            chaos.trade(trade_s * rng.uniform(0.5, 1.5))  # kills land at varied moments
        chaos.watch.fetch_feed_ready()
        stats = system.admin("/admin/stats")
        say(f"venue stats: injected={stats['injected']} rate_limited={stats['rate_limited']}")
        inputs, exit_code = finish(chaos)
    report = build_report(inputs, end_ns=time.time_ns())
    report.figures["executor_kills_mid_order"] = chaos.kills_mid_order
    report.figures["run_exit_code"] = exit_code
    return report, exit_code


@contextmanager
def work_dir(keep: bool, say: Progress) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="chaos-", dir="/tmp"))  # ipc paths <= 107 bytes
    try:
        yield path
    finally:
        if keep:
            say(f"kept {path} (logs in {path / 'run' / 'logs'})")
        else:
            shutil.rmtree(path, ignore_errors=True)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/chaos",
        description=(
            "Chaos test of a paper session: with the simulator's faults on, kill -9 each"
            " service in turn and then all at once (supervisord restarts them); then check"
            " the money-safety invariants and print a report."
        ),
        epilog=(
            "Report: `name value` lines, then one JSON line. Invariants (each must be 0):"
            " double_entries, orphan_orders, open_orders_at_end, journal_open_at_end,"
            " fill_mismatches, final_position_mismatches, restarts_position_late (positions"
            f" not equal to the venue's within {POSITION_LIMIT_S:g} s of a restart),"
            " trades_before_feed_ready, run_exit_code. Exit 0 if all hold, 1 if not."
            " The simulator itself is never killed: it keeps no state across restarts."
        ),
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="how long (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="market and kill order (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the run dir (logs, journal)")
    parser.add_argument(
        "--trade-s", type=float, default=8.0, help="trading time after each restart (default 8)"
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.trade_s < 0:
        parser.error("--minutes must be positive and --trade-s not negative")
    return args


def cycles_for(minutes: float, trade_s: float) -> int:
    """How many cycles (5 rounds each, ~trade_s + 4 s a round) fit in `minutes`; at least 1."""
    return max(1, int(minutes * 60 // (5 * (trade_s + 4.0))))


def main(argv: list[str]) -> int:
    args = _parse(argv)
    logging.getLogger("shared.bus").setLevel(logging.ERROR)  # "sender restarted": expected here
    cycles = cycles_for(args.minutes, args.trade_s)
    progress(f"{cycles} cycle(s) of {len(KILLABLE) + 1} rounds, seed {args.seed}")
    with work_dir(args.keep, progress) as directory:
        report, _ = run_chaos(directory, seed=args.seed, cycles=cycles, trade_s=args.trade_s)
    for line in report.lines():
        print(line)
    failed = report.violations()
    if failed:
        progress(f"FAIL: {', '.join(failed)}")
        return 1
    progress("PASS: every invariant holds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
