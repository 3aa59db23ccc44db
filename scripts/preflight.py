"""What scripts/run checks before it starts anything: settings, ports, leftovers.

Each check raises PreflightError with what is wrong and what to do, so that a bad run
stops before supervisord starts (not as a service crash-looping under it).
"""

import errno
import socket
from pathlib import Path
from typing import Any

from scripts.run_processes import describe, find_run_processes
from services.dashboard.settings import DashboardSettings
from services.executor.settings import ExecutorSettings
from services.feed.settings import FeedSettings
from services.recorder.settings import RecorderSettings
from services.scanner.settings import ScannerSettings
from services.simulator.settings import SimulatorSettings
from services.strategy.settings import StrategySettings
from shared.settings import (
    BusSettings,
    BybitSettings,
    Mode,
    Secrets,
    Settings,
    SettingsError,
    SystemSettings,
    check_bus_security,
    load_section,
)

SECTIONS: dict[str, type[Settings]] = {
    "system": SystemSettings,
    "bus": BusSettings,
    "bybit": BybitSettings,
    "simulator": SimulatorSettings,
    "scanner": ScannerSettings,
    "recorder": RecorderSettings,
    "feed": FeedSettings,
    "executor": ExecutorSettings,
    "strategy": StrategySettings,
    "dashboard": DashboardSettings,
}


class PreflightError(Exception):
    """The run cannot start; the message says why and what to do."""


def check_settings(path: Path, run_dir: Path, secrets: Secrets) -> dict[str, Any]:
    """Every section decoded as its service will decode it; the first problem raised as
    SettingsError naming the file, the key and the reason."""
    sections: dict[str, Any] = {
        name: load_section(name, kind, path) for name, kind in SECTIONS.items()
    }
    check_bus_security(sections["bus"].endpoints.resolved(run_dir), secrets)
    return sections


def ports_of(sections: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(what, host, port) of every TCP port the run listens on."""
    paper = sections["system"].mode is Mode.PAPER
    names = ("simulator", "scanner", "recorder", "feed", "executor", "strategy", "dashboard")
    ports = [
        (f"[{name}] metrics-port", "127.0.0.1", sections[name].metrics_port)
        for name in names
        if paper or name != "simulator"
    ]
    dashboard = sections["dashboard"]
    ports.append(("[dashboard] port", dashboard.host, dashboard.port))
    if paper:
        simulator = sections["simulator"]
        if simulator.port != 0:
            ports.append(("[simulator] port", simulator.host, simulator.port))
    endpoints = sections["bus"].endpoints
    for field in endpoints.__struct_fields__:  # every bus socket is bound by its owner
        host, _, port = getattr(endpoints, field).removeprefix("tcp://").rpartition(":")
        if getattr(endpoints, field).startswith("tcp://") and host in _BINDABLE:
            key = f"[bus.endpoints] {field.replace('_', '-')}"
            ports.append((key, _BINDABLE[host], int(port)))
    return ports


_BINDABLE = {
    "127.0.0.1": "127.0.0.1",
    "localhost": "127.0.0.1",
    "*": "0.0.0.0",
    "0.0.0.0": "0.0.0.0",
}


def check_ports(ports: list[tuple[str, str, int]], settings: Path) -> None:
    """Refuse a port used twice in the settings, or already in use on this machine."""
    seen: dict[int, str] = {}
    for what, _, port in ports:
        if port in seen:
            raise PreflightError(
                f"{settings}: {what} and {seen[port]} are both {port}; give each its own port"
            )
        seen[port] = what
    for what, host, port in ports:
        if not port_free(host, port):
            raise PreflightError(
                f"port {port} ({what} in {settings}) is in use: another run (scripts/status,"
                " scripts/stop with its TRADING_RUN_DIR / TRADING_SETTINGS) or another program;"
                " stop it or choose other ports in the settings"
            )


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the services bind
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            if e.errno == errno.EADDRNOTAVAIL:  # not an address of this host: not ours to check
                return True
            raise
    return True


def check_leftovers(run_dir: Path) -> list[str]:
    """Refuse while processes of an earlier run in `run_dir` live; remove the stale files
    of a run that is gone (returns what was removed)."""
    processes = find_run_processes(run_dir)
    if processes:
        raise PreflightError(
            f"processes of an earlier run in {run_dir} are still running ({describe(processes)});"
            f" stop them first: TRADING_RUN_DIR={run_dir} scripts/stop"
        )
    removed = []
    for name in ("supervisor.sock", "supervisord.pid"):
        stale = run_dir / name
        if stale.exists() or stale.is_symlink():
            stale.unlink()
            removed.append(name)
    return removed


__all__ = [
    "PreflightError",
    "SettingsError",
    "check_leftovers",
    "check_ports",
    "check_settings",
    "ports_of",
]
