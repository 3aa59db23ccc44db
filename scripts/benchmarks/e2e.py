"""End-to-end benchmark: tick-to-order in the running system, next to the bare pyzmq floor.

The whole system runs under supervisord as scripts/run starts it (paper mode, private run
dir and ports, a strategy tuned to trade often). tick_to_order of an entry order = the moment
the create request's last bytes are written to the venue connection (journal:
ts_request_sent_ns, as the ACK records it) minus the feed's receive time of the market data
that triggered it (the command's ts_trigger_recv_ns): feed -> strategy (PUB/SUB), strategy ->
executor (PUSH/PULL), the executor's checks, journal commit, signing and HTTP write. Its
stages are printed too (e2e.<stage>_p50_us, see `_Stages`).
The floor: the same two ZeroMQ hops with bare pyzmq between three processes (a publisher,
a relay that forwards each message on PUSH, a sink), messages of the same size, one every
20 ms (the paper market's pace: between two messages every process sleeps, and waking a
process and ZeroMQ's I/O threads from idle costs about 0.2 ms per hop on this machine,
several times a hop between busy processes), measured while the system runs, so both see
the same machine load.
"""

import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import zmq

from scripts.control import QUICK_STRATEGY, free_port, settings_text
from shared.settings import REPO_ROOT

Result = dict[str, Any]
_PAYLOAD = b"x" * 300  # about a Quote frame set


def _relay(directory: str, count: int) -> None:
    ctx = zmq.Context()
    sub, push = ctx.socket(zmq.SUB), ctx.socket(zmq.PUSH)
    sub.connect(f"ipc://{directory}/floor.pub")
    sub.subscribe(b"")
    push.connect(f"ipc://{directory}/floor.pull")
    for _ in range(count):
        push.send(sub.recv())
    ctx.destroy(linger=0)


def _sink(directory: str, count: int, pipe: Connection) -> None:
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind(f"ipc://{directory}/floor.pull")
    pipe.send("ready")
    samples = []
    for _ in range(count):
        data = pull.recv()
        samples.append(time.time_ns() - int(data[:19]))
    pipe.send(samples)
    ctx.destroy(linger=0)


def _floor(count: int) -> list[int]:
    directory = tempfile.mkdtemp(prefix="e2e-", dir="/tmp")
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.bind(f"ipc://{directory}/floor.pub")
    parent, child = multiprocessing.Pipe()
    sink = multiprocessing.Process(target=_sink, args=(directory, count, child))
    sink.start()
    parent.recv()
    relay = multiprocessing.Process(target=_relay, args=(directory, count))
    relay.start()
    time.sleep(0.5)  # the slow joiner: let the SUB connect before publishing
    for _ in range(count):
        pub.send(str(time.time_ns()).encode() + _PAYLOAD)
        time.sleep(0.02)  # the market-data pace of the paper system, not a flood
    samples: list[int] = parent.recv()
    relay.join(10)
    sink.join(10)
    ctx.destroy(linger=0)
    shutil.rmtree(directory, ignore_errors=True)
    return samples


class _Stages(NamedTuple):
    """One entry order's path in ns: the whole, and the three stages it is made of."""

    tick_to_order: int
    feed_to_strategy: int  # the feed's work, hop 1, the strategy's receive (ts_created_ns)
    strategy_to_checked: int  # the decision, hop 2, the executor's checks (ts_recorded_ns)
    checked_to_sent: int  # the journal commit, signing, the HTTP write (ts_request_sent_ns)


def _entries(run_dir: Path) -> list[_Stages]:
    """Acknowledged entries only: their sent time is when the request's bytes left (written
    with the ACK). An exit may be decided by the strategy's timer (maximum holding time),
    long after the last message it carries."""
    with sqlite3.connect(run_dir / "executor-journal.sqlite") as db:
        rows = db.execute(
            "SELECT command, ts_recorded_ns, ts_request_sent_ns FROM intents WHERE ts_ack_ns > 0"
        ).fetchall()
    entries = []
    for text, checked_ns, sent_ns in rows:
        command = json.loads(text)
        trigger, created = command["ts_trigger_recv_ns"], command["ts_created_ns"]
        if trigger and not command["reduce_only"]:
            entries.append(
                _Stages(
                    sent_ns - trigger, created - trigger, checked_ns - created, sent_ns - checked_ns
                )
            )
    return entries


def _pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] / 1000


def run(quick: bool) -> Iterator[Result]:
    """The system as deployed (journal synchronous=NORMAL, the default), then with FULL."""
    seconds = 40 if quick else 120
    for synchronous, suffix in (("NORMAL", ""), ("FULL", "_full")):
        entries, floor = _system_run(seconds, synchronous, 500 if quick else 2_000)
        yield from _report(entries, floor, suffix, f"journal synchronous={synchronous}")


def _system_run(
    seconds: int, synchronous: str, floor_count: int
) -> tuple[list[_Stages], list[int]]:
    """Entries of one system run of `seconds`, and the floor measured meanwhile."""
    directory = Path(tempfile.mkdtemp(prefix="e2e-sys-", dir="/tmp"))
    settings = directory / "settings.toml"
    overrides = {
        "strategy": QUICK_STRATEGY,
        "executor": {"journal-synchronous": f'"{synchronous}"'},
    }
    settings.write_text(settings_text(free_port(), overrides))
    env = {
        **os.environ,
        "TRADING_SETTINGS": str(settings),
        "TRADING_RUN_DIR": str(directory / "run"),
    }
    print(
        f"bench: e2e: the system runs for {seconds} s, journal {synchronous} ...", file=sys.stderr
    )
    system = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "run"), "--quiet", "--duration", str(seconds)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(seconds / 2)  # the system trades meanwhile; the floor runs under that load
        floor = _floor(floor_count)
        if system.wait(seconds + 60) != 0:
            raise RuntimeError(f"the system did not stop cleanly: logs in {directory}")
    finally:
        if system.poll() is None:
            os.killpg(system.pid, signal.SIGTERM)
            system.wait(60)
    entries = _entries(directory / "run")
    if not entries:
        raise RuntimeError(f"no orders in {seconds} s: logs in {directory}/run/logs")
    shutil.rmtree(directory, ignore_errors=True)
    return entries, floor


def _report(entries: list[_Stages], floor: list[int], suffix: str, note: str) -> Iterator[Result]:
    samples = [e.tick_to_order for e in entries]
    p50, floor_p50 = statistics.median(samples) / 1000, statistics.median(floor) / 1000
    yield {
        "name": f"e2e.tick_to_order_p50_us{suffix}",
        "value": round(p50, 1),
        "unit": "us",
        "samples": len(samples),
        "note": note,
    }
    p99 = round(_pct(samples, 0.99), 1)
    yield {"name": f"e2e.tick_to_order_p99_us{suffix}", "value": p99, "unit": "us"}
    yield {"name": f"e2e.floor_p50_us{suffix}", "value": round(floor_p50, 1), "unit": "us"}
    floor_p99 = round(_pct(floor, 0.99), 1)
    yield {"name": f"e2e.floor_p99_us{suffix}", "value": floor_p99, "unit": "us"}
    yield {"name": f"e2e.ratio_p50{suffix}", "value": round(p50 / floor_p50, 2), "unit": "x"}
    for stage in _Stages._fields[1:]:
        median = statistics.median(getattr(e, stage) for e in entries) / 1000
        yield {"name": f"e2e.{stage}_p50_us{suffix}", "value": round(median, 1), "unit": "us"}
