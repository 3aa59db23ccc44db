"""Notice that the supervisor is gone, and stop the way SIGTERM stops a service.

Every service runs under supervisord (scripts/service execs python, so supervisord is the
parent of the Python process). If supervisord dies (kill -9), its children used to keep
trading as orphans with nobody to stop them. Two checks route that case into the normal
SIGTERM shutdown (the executor cancels and confirms its orders, then exits):

* prctl(PR_SET_PDEATHSIG, SIGTERM) on Linux: the kernel sends SIGTERM when the parent dies;
* a getppid() poll every PARENT_POLL_S, for other systems and for a parent that died
  before the prctl call (a re-parented process has another parent pid).

The parent watched is supervisord's pid from <run dir>/supervisord.pid when the service runs
under supervisord (SUPERVISOR_ENABLED), so that a service whose supervisord died before the
watch was set up stops as well; else the parent pid at start. PR_SET_PDEATHSIG fires when
the parent *thread* that forked us exits (supervisord has one thread) and is cleared by
exec, which is why it is set here, in the Python process, not in scripts/service.

After supervisord is gone, the pipe that carried the service's output has no reader: the
output is re-attached to the service's own log file so that the shutdown is still logged.
"""

import ctypes
import ctypes.util
import logging
import os
import sys
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

PARENT_POLL_S: Final = 0.5
_PR_SET_PDEATHSIG: Final = 1


def arm_parent_death_signal(signum: int) -> bool:
    """Ask the kernel for `signum` when our parent dies (Linux only); True if armed."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed errno=%d", ctypes.get_errno())
        return False
    return True


def parent_to_watch() -> int | None:
    """supervisord's pid (from its pid file) under supervisord, else the parent pid; None
    for a process started by init (nothing to watch)."""
    run_dir = os.environ.get("TRADING_RUN_DIR")
    if os.environ.get("SUPERVISOR_ENABLED") and run_dir:
        try:
            return int((Path(run_dir) / "supervisord.pid").read_text().strip())
        except (OSError, ValueError):
            log.warning("no readable supervisord.pid in %s: watching the parent pid", run_dir)
    parent = os.getppid()
    return parent if parent > 1 else None


def parent_gone(parent_pid: int) -> bool:
    """True once this process has been re-parented (its parent `parent_pid` died)."""
    return os.getppid() != parent_pid


def reattach_output(service: str) -> Path | None:
    """Point stdout and stderr at <run dir>/logs/<service>.log (supervisord's file for it).

    Returns the file, or None outside a run (no TRADING_RUN_DIR or no such log folder).
    """
    run_dir = os.environ.get("TRADING_RUN_DIR")
    if not run_dir:
        return None
    logs = Path(run_dir) / "logs"
    if not logs.is_dir():
        return None
    path = logs / f"{service}.log"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        for stream, target in ((sys.stdout, 1), (sys.stderr, 2)):
            try:
                stream.flush()
            except OSError:  # the old pipe has no reader any more; its buffer is lost
                log.debug("unflushed output lost fd=%d", target)
            os.dup2(fd, target)
    finally:
        os.close(fd)
    return path
