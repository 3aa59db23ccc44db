"""The running system's control plane: supervisord over its unix socket, and the run dir."""

import http.client
import re
import socket
import urllib.request
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport  # type: ignore[import-untyped]

from shared.settings import (
    DEFAULT_SETTINGS_PATH,
    SettingsError,
    SystemSettings,
    ensure_run_dir,
    load_section,
    resolve_run_dir,
)
from shared.supervisor_log import spawn_counts as read_spawn_counts

# Start order. The recorder comes before the feed and the executor so that it hears their
# first frames and events (a book's snapshot), and stops after them (their last events).
# The dashboard comes last (it only watches) and stops first.
SERVICES = ("simulator", "scanner", "recorder", "feed", "executor", "strategy", "dashboard")
# A strategy that trades within seconds on the paper market (the defaults wait for 0.1 %).
QUICK_STRATEGY = {
    "momentum-threshold": "0.0003",
    "cooldown-s": "1.0",
    "max-hold-s": "4.0",
    "max-entries-per-hour": "1000",
}


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


def spawn_counts(run_dir: Path) -> dict[str, int] | None:
    """How often this supervisord started each program (from its log): restarts = count - 1;
    None when the log cannot be read (the restarts are unknown, not none)."""
    return read_spawn_counts(run_dir / "logs" / "supervisord.log")


_HANDED_OUT: set[int] = set()  # ports free_port() returned in this process


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago and that this process was
    not given before (the kernel may hand a just-closed port out again: two sections of one
    settings file got the same one)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def answers(url: str) -> bool:
    """Return True if `url` answers HTTP 200 (a server finished starting)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def settings_text(venue_port: int, overrides: dict[str, dict[str, str]]) -> str:
    """deploy/settings.toml on free ports, with `overrides` per section (raw TOML values)."""
    text = DEFAULT_SETTINGS_PATH.read_text()
    text = text.replace("127.0.0.1:8900", f"127.0.0.1:{venue_port}")
    text = re.sub(r"(?m)^port = 8900", f"port = {venue_port}", text)
    text = re.sub(r"(?m)^metrics-port = \d+", lambda _: f"metrics-port = {free_port()}", text)
    text = re.sub(r"(?m)^port = 8780", lambda _: f"port = {free_port()}", text)  # the dashboard
    for section, values in overrides.items():
        header = f"[{section}]\n"
        if header not in text:
            raise ValueError(f"no section [{section}] in {DEFAULT_SETTINGS_PATH}")
        lines = "".join(f"{key} = {value}\n" for key, value in values.items())
        start = text.index(header)
        end = text.find("\n[", start + len(header))
        body = text[start + len(header) : len(text) if end < 0 else end + 1]
        for key in values:  # the section's own line of that key goes; other sections keep theirs
            body = re.sub(rf"(?m)^{re.escape(key)} = .*\n", "", body)
        text = text[: start + len(header)] + body + text[len(text) if end < 0 else end + 1 :]
        text = text.replace(header, header + lines, 1)
    return text


__all__ = [
    "QUICK_STRATEGY",
    "SERVICES",
    "ProcessInfo",
    "SettingsError",
    "Supervisor",
    "answers",
    "free_port",
    "run_dir_from_settings",
    "settings_text",
]
