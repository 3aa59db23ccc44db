"""End-to-end benchmark: tick-to-order in the running system, next to the bare pyzmq floor.

The whole system runs under supervisord as scripts/run starts it (paper mode, private run
dir and ports, a strategy tuned to trade often). tick_to_order of an entry order = the moment
the executor hands the create request to its HTTP client (journal: ts_request_sent_ns)
minus the feed's receive time of the market data that triggered it (the command's
ts_trigger_recv_ns). Three hops: feed -> strategy (PUB/SUB), strategy -> executor
(PUSH/PULL), the executor's checks, journal commit and signing.
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
from typing import Any

import zmq

from scripts.control import QUICK_STRATEGY, free_port, settings_text
from shared.settings import REPO_ROOT

Result = dict[str, Any]
_PAYLOAD = b"x" * 300  # about a Quote frame set


def _settings(directory: Path) -> Path:
    """deploy/settings.toml on free ports, with the system test's quick strategy."""
    path = directory / "settings.toml"
    path.write_text(settings_text(free_port(), {"strategy": QUICK_STRATEGY}))
    return path


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


def _tick_to_order(run_dir: Path) -> list[int]:
    """Entries only: each is decided on a market-data message. An exit may be decided by the
    strategy's timer (maximum holding time), long after the last message it carries."""
    with sqlite3.connect(run_dir / "executor-journal.sqlite") as db:
        rows = db.execute("SELECT command, ts_request_sent_ns FROM intents").fetchall()
    samples = []
    for text, sent_ns in rows:
        command = json.loads(text)
        trigger = command["ts_trigger_recv_ns"]
        if trigger and sent_ns and not command["reduce_only"]:
            samples.append(sent_ns - trigger)
    return samples


def _pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] / 1000


def run(quick: bool) -> Iterator[Result]:
    seconds = 40 if quick else 120
    directory = Path(tempfile.mkdtemp(prefix="e2e-sys-", dir="/tmp"))
    env = {
        **os.environ,
        "TRADING_SETTINGS": str(_settings(directory)),
        "TRADING_RUN_DIR": str(directory / "run"),
    }
    print(f"bench: e2e: the system runs for {seconds} s ...", file=sys.stderr)
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
        floor = _floor(500 if quick else 2_000)
        if system.wait(seconds + 60) != 0:
            raise RuntimeError(f"the system did not stop cleanly: logs in {directory}")
    finally:
        if system.poll() is None:
            os.killpg(system.pid, signal.SIGTERM)
            system.wait(60)
    samples = _tick_to_order(directory / "run")
    if not samples:
        raise RuntimeError(f"no orders in {seconds} s: logs in {directory}/run/logs")
    shutil.rmtree(directory, ignore_errors=True)
    p50, floor_p50 = statistics.median(samples) / 1000, statistics.median(floor) / 1000
    note = "journal synchronous=FULL (deploy/settings.toml)"
    yield {
        "name": "e2e.tick_to_order_p50_us",
        "value": round(p50, 1),
        "unit": "us",
        "samples": len(samples),
        "note": note,
    }
    yield {"name": "e2e.tick_to_order_p99_us", "value": round(_pct(samples, 0.99), 1), "unit": "us"}
    yield {"name": "e2e.floor_p50_us", "value": round(floor_p50, 1), "unit": "us"}
    yield {"name": "e2e.floor_p99_us", "value": round(_pct(floor, 0.99), 1), "unit": "us"}
    yield {"name": "e2e.ratio_p50", "value": round(p50 / floor_p50, 2), "unit": "x"}
