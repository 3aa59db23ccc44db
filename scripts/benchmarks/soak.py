"""Soak: the whole paper system as scripts/run starts it, the memory of every service sampled.

scripts/bench soak [--minutes N] (default 2; with --quick 1). The system runs under
supervisord in paper mode on private ports and a private run dir (scripts/paper_system.py, as
the system tests and scripts/chaos start it), with a strategy that trades often. Every few
seconds each service's VmRSS (/proc/<pid>/status; the pids from supervisord, as scripts/status
reads them) is sampled; progress goes to stderr, the samples to <run dir>/soak-rss.csv (kept
after the run; its path is printed). No plot: the project has no plotting library.
Results: soak.rss_total_mb (the five services together, last sample), per service
soak.rss_slope_mb_per_h.<service> (least-squares slope of its RSS over the samples after the
warm-up; a restart, a new pid, is named in the note) and soak.minutes. The system is stopped as
scripts/run stops it (SIGTERM: services in reverse start order), also on Ctrl-C.
"""

import csv
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts.control import SERVICES, Supervisor
from scripts.paper_system import System, running_system

Result = dict[str, Any]
DEFAULT_MINUTES = 2.0
QUICK_MINUTES = 1.0
START_TIMEOUT_S = 120.0
PROGRESS_EVERY_S = 30.0
_minutes: float | None = None  # set by scripts/bench --minutes (configure)

Sample = tuple[float, dict[str, tuple[int, float]]]  # (seconds since start, name -> (pid, MB))


def configure(*, minutes: float | None = None) -> None:
    """Take scripts/bench's --minutes (None: the default, or QUICK_MINUTES with --quick)."""
    global _minutes
    _minutes = minutes


def rss_mb(pid: int) -> float | None:
    """VmRSS of `pid` in MB, or None if it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def slope_per_h(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points in MB per hour (None below 2 points)."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600


def _sample(supervisor: Supervisor) -> dict[str, tuple[int, float]]:
    found: dict[str, tuple[int, float]] = {}
    for process in supervisor.processes():
        if process.name in SERVICES and process.state == "RUNNING" and process.pid:
            mb = rss_mb(process.pid)
            if mb is not None:
                found[process.name] = (process.pid, mb)
    return found


def _say(line: str) -> None:
    print(f"bench: soak: {line}", file=sys.stderr, flush=True)


def _wait_until_up(system: System, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if system.process.poll() is not None:
            raise RuntimeError(
                f"scripts/run exited ({system.process.returncode}): {system.run_dir}"
            )
        if supervisor.answers() and len(_sample(supervisor)) == len(SERVICES):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every service RUNNING within {START_TIMEOUT_S:.0f} s")
        time.sleep(0.5)  # polling the start-up of another process tree


def _soak(system: System, seconds: float, every_s: float) -> list[Sample]:
    """Sample until `seconds` passed, scripts/run exited, or Ctrl-C or SIGTERM (then what
    was taken: the system is stopped either way)."""
    signal.signal(signal.SIGTERM, _interrupted)
    supervisor = Supervisor(system.run_dir)
    _wait_until_up(system, supervisor)
    samples: list[Sample] = []
    started = last_said = time.monotonic()
    try:
        while (now := time.monotonic()) - started < seconds:
            if system.process.poll() is not None:
                _say(f"scripts/run exited ({system.process.returncode}); sampling stops")
                break
            samples.append((now - started, _sample(supervisor)))
            if now - last_said >= PROGRESS_EVERY_S or len(samples) == 1:
                last_said = now
                _say(_progress(samples[-1], seconds))
            time.sleep(every_s)  # the sampling period
    except KeyboardInterrupt:
        _say("interrupted: stopping the system, then the results so far")
    return samples


def _interrupted(signum: int, frame: object) -> None:
    """SIGTERM (e.g. `kill` of a soak left in the background) as Ctrl-C."""
    raise KeyboardInterrupt


def _progress(sample: Sample, seconds: float) -> str:
    at, rss = sample
    each = ", ".join(f"{name} {mb:.0f}" for name, (_, mb) in rss.items())
    total = sum(mb for _, mb in rss.values())
    return f"{at / 60:.1f}/{seconds / 60:.1f} min: total {total:.0f} MB ({each})"


def _write_csv(path: Path, samples: list[Sample]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["seconds", *(f"{n}_pid" for n in SERVICES), *(f"{n}_mb" for n in SERVICES)]
        )
        for at, rss in samples:
            pids = [rss.get(n, (0, 0.0))[0] for n in SERVICES]
            mbs = [round(rss[n][1], 2) if n in rss else "" for n in SERVICES]
            writer.writerow([round(at, 1), *pids, *mbs])


def _stop(system: System) -> int:
    """SIGTERM to scripts/run, as Ctrl-C in its terminal: it stops the services in order."""
    _say("stopping the system (scripts/run: services in reverse start order)")
    if system.process.poll() is None:
        system.process.send_signal(signal.SIGTERM)
    while True:
        try:
            return system.process.wait(timeout=120)
        except KeyboardInterrupt:
            _say("still stopping: the executor cancels its orders first")


def _results(samples: list[Sample], warm_up_s: float) -> Iterator[Result]:
    last_at, last = samples[-1]
    yield {
        "name": "soak.rss_total_mb",
        "value": round(sum(mb for _, mb in last.values()), 1),
        "unit": "MB",
        "target": "< 400",
        "note": f"{len(last)} services, last sample at {last_at / 60:.1f} min",
    }
    for name in SERVICES:
        points = [(at, rss[name]) for at, rss in samples if at >= warm_up_s and name in rss]
        pids = sorted({pid for _, (pid, _) in points})
        slope = slope_per_h([(at, mb) for at, (_, mb) in points])
        restarted = f"; restarted: pids {pids}" if len(pids) > 1 else ""
        yield {
            "name": f"soak.rss_slope_mb_per_h.{name}",
            "value": None if slope is None else round(slope, 2),
            "unit": "MB/h",
            "target": "< 5",
            "samples": len(points),
            "note": f"after a {warm_up_s:.0f} s warm-up; the target is for 60 minutes{restarted}",
        }
    yield {"name": "soak.minutes", "value": round(last_at / 60, 2), "unit": "min"}


def run(quick: bool) -> Iterator[Result]:
    minutes = _minutes if _minutes is not None else QUICK_MINUTES if quick else DEFAULT_MINUTES
    seconds = minutes * 60
    every_s = 2.0 if minutes < 5 else 5.0
    warm_up_s = min(300.0, seconds / 3)  # imports, connections, caches and books filling up
    directory = Path(tempfile.mkdtemp(prefix="soak-", dir="/tmp"))  # ipc paths <= 107 bytes
    _say(f"{minutes:g} min, a sample every {every_s:g} s; run dir {directory / 'run'}")
    with running_system(directory) as system:
        samples = _soak(system, seconds, every_s)
        code = _stop(system)
    _say(
        f"scripts/run exited {code} ({'clean' if code == 0 else 'with errors'}; run.out in"
        f" {directory})"
    )
    if not samples:
        raise RuntimeError(f"no samples taken; logs in {directory / 'run' / 'logs'}")
    csv_path = system.run_dir / "soak-rss.csv"
    _write_csv(csv_path, samples)
    _say(f"samples: {csv_path}")
    yield from _results(samples, warm_up_s)
