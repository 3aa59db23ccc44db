"""scripts/status: the running system on one screen (or one JSON object with --json).

Reads supervisord (process states, restarts), the bus (heartbeats for a moment, and the
snapshots of the scanner, strategy and executor), each service's Prometheus endpoint
(drops, gaps, latency percentiles, denials) and the executor's journal, read-only (today's
orders, fills and realised PnL: they survive restarts and match the venue). Anything that
did not answer shows as unknown with the reason, never as 0. Works while scripts/run is
running. Every further strategy instance ([strategy-<name>]) is listed with its program, its
heartbeats, its metrics and its own snapshot (strategy id, state, symbol). The pure part
(the status object and the screen) is status_view.py.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from scripts import status_view as view
from scripts.control import SERVICES, Supervisor, run_dir_from_settings, spawn_counts
from scripts.run_processes import describe, find_run_processes
from scripts.status_view import unknown
from services.executor.day_summary import DaySummary
from services.executor.journal_reader import journal_path, read_day
from services.simulator.settings import SimulatorSettings
from shared.bus import BusNode, Signer, SnapshotIncomplete, SnapshotTimeout
from shared.journal_read import JournalUnreadable
from shared.runtime.clock import LiveClock
from shared.schema import ExecutionSnapshot, StrategyStatus, UniverseChanged, topics
from shared.settings import (
    INSTANCE_PREFIX,
    BusSettings,
    Secrets,
    SettingsError,
    instance_endpoints,
    load_section,
    read_settings,
    settings_path,
    strategy_instances,
)

METRIC_PORT_SECTIONS = (
    "scanner",
    "recorder",
    "feed",
    "strategy",
    "executor",
    "simulator",
    "dashboard",
)
SNAPSHOT_TIMEOUT_S = 0.5


def _metrics(port: int) -> view.Metrics:
    """A service's Prometheus page as `name{labels}` -> value, or why it did not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as page:
            return view.parse_metrics(page.read().decode())
    except urllib.error.URLError as e:
        why = getattr(e.reason, "strerror", None) or e.reason
        return f"metrics on port {port} did not answer: {why}"
    except (OSError, UnicodeDecodeError) as e:  # a timeout, a reset, a broken page
        return f"metrics on port {port} did not answer: {e or type(e).__name__}"


def _instances() -> tuple[str, ...]:
    """The further strategy instances' names ([strategy-<name>] sections)."""
    return strategy_instances(settings_path())


def _ports() -> dict[str, int]:
    ports: dict[str, int] = {}
    document = read_settings(settings_path()).document  # as every reader: migrated
    instances = tuple(f"{INSTANCE_PREFIX}{name}" for name in _instances())
    for section in (*METRIC_PORT_SECTIONS, *instances):
        table = document.get(section)
        port = table.get("metrics-port") if isinstance(table, dict) else None
        if isinstance(port, int):
            ports[section] = port
    return ports


def _paper_market(mode: str) -> Any:
    """The paper venue's market (its /admin/stats `market`), or why it is not shown."""
    if mode != "paper":
        return {"profile": f"the venue's own ({mode})"}
    sim = load_section("simulator", SimulatorSettings)
    url = f"http://{sim.host}:{sim.port}/admin/stats"
    try:
        with urllib.request.urlopen(url, timeout=1) as page:
            return json.loads(page.read())["market"]
    except (OSError, ValueError, KeyError) as e:  # not answering, not JSON, an older venue
        return unknown(f"simulator {url}: {e}")


def _bus_view(run_dir: Path, timeout_s: float) -> dict[str, Any]:
    """Heartbeats heard for `timeout_s`, and the scanner's, strategy's and executor's state
    (a key is missing when its snapshot did not come)."""
    bus = load_section("bus", BusSettings)
    eps = bus.endpoints.resolved(run_dir)
    instances = {f"{INSTANCE_PREFIX}{n}": instance_endpoints(eps, n) for n in _instances()}
    clock = LiveClock()
    node = BusNode(
        "status", bus, signer=Signer(Secrets.from_environment().bus_hmac_key), clock=clock
    )
    try:
        receiver = node.subscriber(  # everything: a busy sender sends no heartbeats
            [
                eps.universe,
                eps.market_data,
                eps.execution_events,
                eps.strategy_events,
                eps.recorder_events,
                *(own.strategy_events for own in instances.values()),
            ],
            [""],
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            receiver.receive(50)
        heard = {p: node.liveness.last_heard_ns(p) for p in node.liveness.peers()}
        result: dict[str, Any] = {"heard_ns": heard, "now_ns": clock.now_ns()}
        for key, endpoint, prefix in (
            ("universe", eps.universe_snapshot, topics.UNIVERSE),
            ("strategy", eps.strategy_snapshot, topics.STRATEGY),
            ("executor", eps.execution_snapshot, "exec.snapshot."),
            *((name, own.strategy_snapshot, topics.STRATEGY) for name, own in instances.items()),
        ):
            try:
                reply = node.snapshot_client(endpoint).fetch(prefix, SNAPSHOT_TIMEOUT_S)
            except (SnapshotTimeout, SnapshotIncomplete):
                continue
            result[key] = [message for _, message in reply.messages]
        return result
    finally:
        node.close()


def _snapshot(bus: dict[str, Any], key: str, owner: str, kind: type) -> Any:
    """The first `kind` in a snapshot, or why there is none (a reason naming `owner`)."""
    if key not in bus:
        return f"{owner}: no snapshot reply within {SNAPSHOT_TIMEOUT_S} s"
    found = next((m for m in bus[key] if isinstance(m, kind)), None)
    return found if found is not None else f"{owner}: no {kind.__name__} in its snapshot yet"


def _journal_day(run_dir: Path, now_ns: int) -> DaySummary | str:
    try:
        return read_day(journal_path(run_dir), now_ns)
    except JournalUnreadable as e:
        return f"journal: {e}"


def collect(run_dir: Path, timeout_s: float = 1.2) -> dict[str, Any]:
    """Everything the status shows, as plain JSON-able values."""
    system, _ = run_dir_from_settings()
    supervisor = Supervisor(run_dir)
    processes = {p.name: p for p in supervisor.processes()} if supervisor.answers() else {}
    spawns = spawn_counts(run_dir)
    bus = _bus_view(run_dir, timeout_s)
    ports = _ports()
    metrics = {name: _metrics(port) for name, port in ports.items()}
    executor = metrics.get("executor", "no metrics-port in the settings")
    universe = _snapshot(bus, "universe", "scanner", UniverseChanged)
    strategy = _snapshot(bus, "strategy", "strategy", StrategyStatus)
    execution = _snapshot(bus, "executor", "executor", ExecutionSnapshot)
    day = _journal_day(run_dir, bus["now_ns"])
    programs = sorted(
        {f"{INSTANCE_PREFIX}{n}" for n in _instances()}
        | {name for name in processes if name.startswith(INSTANCE_PREFIX)}
    )
    return {
        "mode": system.mode.value,
        "symbol": universe.symbol if isinstance(universe, UniverseChanged) else unknown(universe),
        "strategy_state": (
            strategy.state if isinstance(strategy, StrategyStatus) else unknown(strategy)
        ),
        "position": view.position(execution, strategy),
        "pnl": view.pnl(day, execution),
        "orders": view.orders(day, executor, execution),
        "instances": {
            name: view.instance(_snapshot(bus, name, name, StrategyStatus)) for name in programs
        },
        "services": view.services((*SERVICES, *programs), processes, spawns, bus),
        "counters": view.counters(metrics),
        "latency_us": view.latency(executor),
        "breakers": view.breakers(executor),
        "recording": view.recording(metrics.get("recorder", "no metrics-port in the settings")),
        "market": _paper_market(system.mode.value),
    }


render = view.render


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/status",
        description="Show the running system: mode, symbol, strategy, position, PnL, services.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    try:
        _, run_dir = run_dir_from_settings()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not Supervisor(run_dir).answers():
        if leftovers := find_run_processes(run_dir):
            print(
                f"error: no supervisord answers in {run_dir}, but processes of its run are"
                f" alive: {describe(leftovers)}; stop them with scripts/stop",
                file=sys.stderr,
            )
            return 1
        print(
            f"error: nothing is running in {run_dir} (start it with scripts/run)", file=sys.stderr
        )
        return 1
    status = collect(run_dir)
    try:
        print(json.dumps(status) if args.json else render(status), flush=True)
    except BrokenPipeError:  # the reader (e.g. head) has what it wanted: no traceback at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
