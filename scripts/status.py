"""scripts/status: the running system on one screen (or one JSON object with --json).

Reads supervisord (process states, restarts), the bus (heartbeats for a moment, and the
snapshots of the scanner, strategy and executor) and each service's Prometheus endpoint
(order outcomes, drops, gaps, latency percentiles). Works while scripts/run is running.
"""

import argparse
import json
import sys
import time
import tomllib
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from scripts.control import SERVICES, Supervisor, run_dir_from_settings, spawn_counts
from shared.bus import BusNode, Signer, SnapshotIncomplete, SnapshotTimeout
from shared.runtime.clock import LiveClock
from shared.schema import ExecutionSnapshot, StrategyStatus, UniverseChanged, topics
from shared.settings import BusSettings, Secrets, SettingsError, load_section, settings_path

NS_PER_S = 1_000_000_000
METRIC_PORT_SECTIONS = ("scanner", "feed", "strategy", "executor", "simulator")


def _metrics(port: int) -> dict[str, float]:
    """`name{labels}` -> value from a Prometheus text page; {} if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as page:
            text = page.read().decode()
    except OSError:
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                continue
    return values


def _ports() -> dict[str, int]:
    ports: dict[str, int] = {}

    document = tomllib.loads(settings_path().read_text())
    for section in METRIC_PORT_SECTIONS:
        port = document.get(section, {}).get("metrics-port")
        if isinstance(port, int):
            ports[section] = port
    return ports


def _bus_view(run_dir: Path, timeout_s: float) -> dict[str, Any]:
    """Heartbeats heard for `timeout_s`, and the scanner's, strategy's and executor's state."""
    bus = load_section("bus", BusSettings)
    eps = bus.endpoints.resolved(run_dir)
    clock = LiveClock()
    node = BusNode(
        "status", bus, signer=Signer(Secrets.from_environment().bus_hmac_key), clock=clock
    )
    try:
        receiver = node.subscriber(  # everything: a busy sender sends no heartbeats
            [eps.universe, eps.market_data, eps.execution_events, eps.strategy_events], [""]
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            receiver.receive(50)
        heard = {p: node.liveness.last_heard_ns(p) for p in node.liveness.peers()}
        view: dict[str, Any] = {"heard_ns": heard, "now_ns": clock.now_ns()}
        for key, endpoint, prefix in (
            ("universe", eps.universe_snapshot, topics.UNIVERSE),
            ("strategy", eps.strategy_snapshot, topics.STRATEGY),
            ("executor", eps.execution_snapshot, "exec.snapshot."),
        ):
            try:
                reply = node.snapshot_client(endpoint).fetch(prefix, 0.5)
            except (SnapshotTimeout, SnapshotIncomplete):
                continue
            view[key] = [message for _, message in reply.messages]
        return view
    finally:
        node.close()


def _first(messages: list[Any] | None, kind: type) -> Any:
    return next((m for m in messages or [] if isinstance(m, kind)), None)


def collect(run_dir: Path, timeout_s: float = 1.2) -> dict[str, Any]:
    """Everything the status shows, as plain JSON-able values."""
    system, _ = run_dir_from_settings()
    supervisor = Supervisor(run_dir)
    processes = {p.name: p for p in supervisor.processes()} if supervisor.answers() else {}
    spawns = spawn_counts(run_dir)
    view = _bus_view(run_dir, timeout_s)
    metrics = {name: _metrics(port) for name, port in _ports().items()}
    universe = _first(view.get("universe"), UniverseChanged)
    strategy = _first(view.get("strategy"), StrategyStatus)
    execution = _first(view.get("executor"), ExecutionSnapshot)
    return {
        "mode": system.mode.value,
        "symbol": universe.symbol if universe else None,
        "strategy_state": strategy.state if strategy else None,
        "position": _position(execution, strategy),
        "pnl": _pnl(execution, strategy),
        "orders": _orders(metrics.get("executor", {}), execution),
        "services": _services(processes, spawns, view),
        "counters": _counters(metrics),
        "latency_us": _latency(metrics.get("executor", {})),
    }


def _position(
    execution: ExecutionSnapshot | None, strategy: StrategyStatus | None
) -> dict[str, Any]:
    venue = [
        {"symbol": p.symbol, "qty": str(p.qty), "avg_entry_price": str(p.avg_entry_price)}
        for p in (execution.positions if execution else ())
    ]
    return {
        "venue": venue,
        "strategy_qty": str(strategy.position_qty) if strategy else None,
        "trading_state": execution.trading_state.value if execution else None,
    }


def _pnl(execution: ExecutionSnapshot | None, strategy: StrategyStatus | None) -> dict[str, Any]:
    unrealised = (
        sum((p.unrealised_pnl for p in execution.positions), Decimal(0)) if execution else None
    )
    return {
        "realised_usdt": str(strategy.realised_pnl_usdt) if strategy else None,
        "unrealised_usdt": str(unrealised) if unrealised is not None else None,
    }


def _orders(metrics: dict[str, float], execution: ExecutionSnapshot | None) -> dict[str, Any]:
    outcomes = ("accepted", "rejected", "denied", "fills", "in_doubt", "in_doubt_resolved")
    counts = {k: int(metrics.get(f'executor_events_total{{kind="{k}"}}', 0)) for k in outcomes}
    counts["working"] = len(execution.open_orders) if execution else 0
    return counts


def _services(
    processes: dict[str, Any], spawns: dict[str, int], view: dict[str, Any]
) -> dict[str, Any]:
    now, heard = view["now_ns"], view["heard_ns"]
    services: dict[str, Any] = {}
    for name in SERVICES:
        info = processes.get(name)
        last = heard.get(name)
        services[name] = {
            "state": info.state if info else "UNKNOWN",
            "pid": info.pid if info else 0,
            "uptime_s": round(info.uptime_s) if info else 0,
            "restarts": max(0, spawns.get(name, 0) - 1),
            "last_heartbeat_s": None if last is None else round((now - last) / NS_PER_S, 1),
        }
    return services


def _counters(metrics: dict[str, dict[str, float]]) -> dict[str, int]:
    totals: dict[str, int] = {"dropped": 0, "gaps": 0, "lost": 0}
    for values in metrics.values():
        for name, value in values.items():
            if name.startswith("bus_dropped_messages_total"):
                totals["dropped"] += int(value)
            elif name.startswith("bus_gaps_total"):
                totals["gaps"] += int(value)
            elif name.startswith("bus_lost_messages_total"):
                totals["lost"] += int(value)
    return totals


def _latency(metrics: dict[str, float]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for stage in ("tick_to_order", "order_to_ack"):
        for label, quantile in (("p50", "0.5"), ("p99", "0.99")):
            key = f'executor_latency_recent_us{{quantile="{quantile}",stage="{stage}"}}'
            value = metrics.get(key)
            result[f"{stage}_{label}"] = None if value is None else round(value, 1)
    return result


def render(status: dict[str, Any]) -> str:
    """The one screen."""
    lines = [
        f"mode {status['mode']}   symbol {status['symbol']}   strategy {status['strategy_state']}"
        f"   trading {status['position']['trading_state']}",
        f"position venue {status['position']['venue'] or 'flat'}"
        f"   strategy qty {status['position']['strategy_qty']}",
        f"pnl realised {status['pnl']['realised_usdt']} USDT"
        f"   unrealised {status['pnl']['unrealised_usdt']} USDT",
        "orders " + "  ".join(f"{k} {v}" for k, v in status["orders"].items()),
        "",
        f"{'service':<10} {'state':<9} {'pid':>7} {'uptime':>7} {'restarts':>8} {'heartbeat':>10}",
    ]
    for name, s in status["services"].items():
        beat = "-" if s["last_heartbeat_s"] is None else f"{s['last_heartbeat_s']} s ago"
        if name == "simulator":
            beat = "(venue)"
        lines.append(
            f"{name:<10} {s['state']:<9} {s['pid']:>7} {s['uptime_s']:>6}s {s['restarts']:>8}"
            f" {beat:>10}"
        )
    counters, latency = status["counters"], status["latency_us"]
    lines += [
        "",
        "bus " + "  ".join(f"{k} {v}" for k, v in counters.items()),
        "latency us  tick->order p50 {} p99 {}   order->ack p50 {} p99 {}".format(
            latency["tick_to_order_p50"],
            latency["tick_to_order_p99"],
            latency["order_to_ack_p50"],
            latency["order_to_ack_p99"],
        ),
    ]
    return "\n".join(lines)


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
        print(
            f"error: nothing is running in {run_dir} (start it with scripts/run)", file=sys.stderr
        )
        return 1
    status = collect(run_dir)
    print(json.dumps(status) if args.json else render(status))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
