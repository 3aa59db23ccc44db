"""Fold supervisord's process list and the bus's liveness into health.services.

A restart is a spawn of a program after its first by this supervisord: counted from its log
once (`seed`), then as changes of the pid seen between two polls (a program that starts and
crashes between two polls is seen once). Without the log (unreadable, or not seeded yet)
the restarts before the dashboard came are unknown: `restarts` is None and `restarts_seen`
says how many it saw since (a lower bound). Pure: the infos and time are passed in.
"""

from dataclasses import dataclass
from typing import Final

from services.dashboard.view import View, ensure_service

SELF: Final = "dashboard"


@dataclass(frozen=True)
class ProcessInfo:
    """One program as supervisord's getAllProcessInfo reports it."""

    name: str
    state: str  # RUNNING, STARTING, BACKOFF, STOPPED, EXITED, FATAL ...
    pid: int  # 0 when not running
    uptime_s: float
    description: str


@dataclass(frozen=True)
class Liveness:
    """What the bus says of one sender: when it was last heard and whether that is recent."""

    last_heard_ns: int | None
    alive: bool


def bus_state(live: Liveness | None, now_ns: int) -> str | None:
    """What the bus says of the service's liveness, the same for every service: "alive",
    "silent N s" once it is past its liveness, None when it was never heard (not on the bus,
    not started). Any frame counts (heartbeats when idle, or its messages).

    Its own ServiceStatus (only the scanner and the recorder publish one) is another
    field, `bus_status`: a service can be alive and DEGRADED.
    """
    if live is None or live.last_heard_ns is None:
        return None
    if not live.alive:
        return f"silent {max(0, now_ns - live.last_heard_ns) // 1_000_000_000} s"
    return "alive"


class ProcessFold:
    """The pids seen so far, for counting restarts."""

    def __init__(self) -> None:
        self._pids: dict[str, int] = {}
        self._restarts: dict[str, int] = {}  # seen by this dashboard
        self._before: dict[str, int] | None = None  # before it came (None: unknown)

    def seed(self, spawns: dict[str, int] | None) -> None:
        """Restarts before the dashboard's first poll: spawns this supervisord made - 1
        (None: its log could not be read, they stay unknown)."""
        if spawns is not None:
            self._before = {name: max(0, count - 1) for name, count in spawns.items()}

    def restarts(self, name: str) -> int | None:
        """`name`'s restarts under this supervisord; None when those before are unknown."""
        if self._before is None:
            return None
        return self._before.get(name, 0) + self._restarts.get(name, 0)

    def polled(
        self,
        view: View,
        infos: list[ProcessInfo],
        liveness: dict[str, Liveness],
        now_ns: int,
    ) -> None:
        """Fold one poll of supervisord (and the bus liveness of each program) into the view."""
        for info in infos:
            last_pid = self._pids.get(info.name)
            if info.pid:
                if last_pid is not None and last_pid != info.pid:
                    self._restarts[info.name] = self._restarts.get(info.name, 0) + 1
                self._pids[info.name] = info.pid
            self._set(view, info, liveness.get(info.name), now_ns)
        self.heard(view, liveness, now_ns, skip={info.name for info in infos})

    def unreachable(self, view: View, reason: str) -> None:
        """supervisord did not answer: every program's process state is unknown."""
        for name in view.get(("health", "services")) or {}:
            view.merge(
                ("health", "services", name),
                {"state": None, "pid": None, "uptime_s": None, "supervisor_error": reason},
            )

    def heard(
        self, view: View, liveness: dict[str, Liveness], now_ns: int, skip: set[str] | None = None
    ) -> None:
        """Set the bus liveness of senders supervisord does not list (run by hand)."""
        for name, live in liveness.items():
            if skip and name in skip:
                continue
            ensure_service(view, name)
            state = bus_state(live, now_ns)
            view.merge(
                ("health", "services", name),
                {
                    "last_heartbeat_ns": live.last_heard_ns,
                    "alive": live.alive,
                    "bus_state": state,
                    "bus_state_source": None if state is None else "heartbeats",
                    "bus_status": _status(view, name),
                },
            )

    def _set(self, view: View, info: ProcessInfo, live: Liveness | None, now_ns: int) -> None:
        path = ("health", "services", info.name)
        ensure_service(view, info.name)
        if info.name == SELF and info.state == "RUNNING":
            live = Liveness(now_ns, True)  # this process: heard right now
        bus_detail = view.scratch.get("bus_detail", {}).get(info.name)
        state = bus_state(live, now_ns)
        view.merge(
            path,
            {
                "state": info.state,
                "pid": info.pid or None,
                "uptime_s": round(info.uptime_s, 1),
                "restarts": self.restarts(info.name),
                "restarts_seen": self._restarts.get(info.name, 0),
                "last_heartbeat_ns": None if live is None else live.last_heard_ns,
                "alive": None if live is None else live.alive,
                "detail": bus_detail if bus_detail is not None else info.description,
                "bus_state": state,
                "bus_state_source": None if state is None else "heartbeats",
                "bus_status": _status(view, info.name),
                "supervisor_error": None,
            },
        )


def _status(view: View, name: str) -> str | None:
    status: str | None = view.scratch.get("bus_status", {}).get(name)
    return status
