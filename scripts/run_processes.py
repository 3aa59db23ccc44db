"""The processes of one run directory, found in /proc, and stopping them in order.

A run's processes are supervisord (its command line names supervisor.supervisord) and the
services it started (supervisord gives each SUPERVISOR_PROCESS_NAME: a service, or a further
strategy instance strategy-<name>); both carry
TRADING_RUN_DIR=<run dir> in /proc/<pid>/environ. This is how scripts/stop and scripts/run
find a system whose scripts/run, or whose supervisord, is gone. Linux only (/proc).
"""

import contextlib
import http.client
import os
import signal
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from scripts.control import SERVICES, Supervisor
from shared.keys import remove_key_files
from shared.settings import INSTANCE_PREFIX

SUPERVISORD: Final = "supervisord"
# What each is given before SIGKILL: supervisord's stopwaitsecs plus a margin.
STOP_WAIT_S: Final = {"executor": 12.0, "simulator": 20.0, SUPERVISORD: 60.0}
DEFAULT_STOP_WAIT_S: Final = 7.0
_POLL_S: Final = 0.05

Say = Callable[[str], None]


@dataclass(frozen=True)
class RunProcess:
    pid: int
    name: str  # a service of SERVICES, a strategy instance strategy-<name>, or "supervisord"


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(
        item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
    )


def _same_dir(a: str, b: Path) -> bool:
    return a == str(b) or Path(a).resolve() == b.resolve()


def find_run_processes(run_dir: Path) -> list[RunProcess]:
    """supervisord and the services running for `run_dir` (ours only; never this process)."""
    found: list[RunProcess] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            if entry.stat().st_uid != os.getuid() or not alive(pid):
                continue
            env = _environ(pid)
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone meanwhile, or not ours
        run = env.get("TRADING_RUN_DIR")
        if run is None or not _same_dir(run, run_dir):
            continue
        name = env.get("SUPERVISOR_PROCESS_NAME")
        if name is not None and (name in SERVICES or name.startswith(INSTANCE_PREFIX)):
            found.append(RunProcess(pid, name))
        elif b"supervisor.supervisord" in cmdline:
            found.append(RunProcess(pid, SUPERVISORD))
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL_S)  # polling a process that is not our child
    return True


def _terminate(process: RunProcess, say: Say) -> bool:
    """SIGTERM, wait, SIGKILL after the wait; True if it stopped on SIGTERM."""
    wait_s = STOP_WAIT_S.get(process.name, DEFAULT_STOP_WAIT_S)
    say(f"stop: {process.name} pid {process.pid}: SIGTERM, waiting up to {wait_s:.0f} s")
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    if wait_gone(process.pid, wait_s):
        return True
    say(f"stop: {process.name} pid {process.pid} did not stop in {wait_s:.0f} s: SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    wait_gone(process.pid, 5.0)
    return False


def _through_supervisord(run_dir: Path, say: Say) -> bool:
    """Stop each service in reverse start order through supervisord, then supervisord."""
    supervisor = Supervisor(run_dir)
    if not supervisor.answers():
        return False
    try:
        configured = [p.name for p in supervisor.processes()]
        instances = sorted(n for n in configured if n.startswith(INSTANCE_PREFIX))
        order = [*reversed(instances), *reversed(SERVICES)]
        say(f"stop: supervisord answers; stopping {', '.join(order)}")
        for name in order:
            try:
                supervisor.rpc.stopProcess(name, True)
            except xmlrpc.client.Fault as e:
                if "NOT_RUNNING" not in e.faultString:
                    raise
        supervisor.rpc.shutdown()
    except (OSError, http.client.HTTPException, xmlrpc.client.Error) as e:
        say(f"stop: supervisord stopped answering ({e}); signalling the processes instead")
    return True


def stop_run(run_dir: Path, say: Say) -> bool:
    """Stop every process of `run_dir` in reverse start order; True if all stopped on
    SIGTERM (none needed SIGKILL). The run's key files are removed in any case."""
    try:
        _through_supervisord(run_dir, say)
        clean = True
        # supervisord first (else it restarts what we stop): on SIGTERM it stops its
        # services itself, in reverse priority order, each within its stopwaitsecs.
        for process in find_run_processes(run_dir):
            if process.name == SUPERVISORD:
                clean = _terminate(process, say) and clean
        for process in find_run_processes(run_dir):  # orphans whose supervisord is gone:
            if process.name.startswith(INSTANCE_PREFIX):  # the further instances first
                clean = _terminate(process, say) and clean
        for name in reversed(SERVICES):
            for process in find_run_processes(run_dir):
                if process.name == name:
                    clean = _terminate(process, say) and clean
        return clean
    finally:
        remove_key_files(run_dir)


def describe(processes: list[RunProcess]) -> str:
    return ", ".join(f"{p.name} pid {p.pid}" for p in processes)
