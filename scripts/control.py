"""The running system's control plane: supervisord over its unix socket, and the run dir."""

import http.client
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport  # type: ignore[import-untyped]

from shared.settings import (
    SettingsError,
    SystemSettings,
    ensure_run_dir,
    load_section,
    resolve_run_dir,
)

SERVICES = ("simulator", "scanner", "feed", "executor", "strategy")  # start order


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    state: str  # RUNNING, STARTING, BACKOFF, STOPPED, EXITED, FATAL ...
    pid: int
    uptime_s: float
    exit_status: int
    description: str


class Supervisor:
    """supervisord's XML-RPC interface on <run dir>/supervisor.sock."""

    def __init__(self, run_dir: Path) -> None:
        self.socket = run_dir / "supervisor.sock"

    @property
    def rpc(self) -> Any:
        """A fresh proxy per use: a failed call leaves the transport's connection unusable."""
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def answers(self) -> bool:
        try:
            return cast(dict[str, Any], self.rpc.getState())["statename"] == "RUNNING"
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            return False

    def processes(self) -> list[ProcessInfo]:
        infos = cast(list[dict[str, Any]], self.rpc.getAllProcessInfo())
        return [
            ProcessInfo(
                name=i["name"],
                state=i["statename"],
                pid=i["pid"],
                uptime_s=max(0, i["now"] - i["start"]) if i["statename"] == "RUNNING" else 0,
                exit_status=i["exitstatus"],
                description=i["description"],
            )
            for i in infos
        ]


def run_dir_from_settings() -> tuple[SystemSettings, Path]:
    """The [system] settings and the run directory (created with mode 0700)."""
    system = load_section("system", SystemSettings)
    return system, ensure_run_dir(resolve_run_dir(system))


def spawn_counts(run_dir: Path) -> dict[str, int]:
    """How often this supervisord started each program (from its log): restarts = count - 1."""
    counts = dict.fromkeys(SERVICES, 0)
    log = run_dir / "logs" / "supervisord.log"
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            if "supervisord started with pid" in line:
                counts = dict.fromkeys(SERVICES, 0)  # a new supervisord: count from here
            elif "spawned: '" in line:
                name = line.split("spawned: '", 1)[1].split("'", 1)[0]
                counts[name] = counts.get(name, 0) + 1
    return counts


__all__ = ["SERVICES", "ProcessInfo", "SettingsError", "Supervisor", "run_dir_from_settings"]
