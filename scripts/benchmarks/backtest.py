"""Backtest benchmarks: the whole engine with the momentum scalper, on a long stream.

The replay fixture (10 s of real ETHUSDT, 2,344 frames; benches read only the project) is
looped into one recording of at least a million frames, written once to a temporary
`.frames.gz` (not timed): each pass is shifted by the slice's length, receive times and the
frames' venue times alike, so the feed sees fresh frames throughout. A child process then
runs `research.backtest` on it as `scripts/backtest` does (streamed from the file, decoded
once, venue + feed session + MomentumScalper with settings that make it trade + the
executor's decisions, 1 ms entry and response latency): its frames per second, and its
peak RSS (the child's own, so the file's writing is not counted).
"""

import gzip
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shared.recordings import read_file
from shared.settings import REPO_ROOT

Result = dict[str, Any]
RECORDING = REPO_ROOT / "tests" / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
TARGET_FRAMES = 1_000_000
_TIMES = re.compile(rb'"(ts|T|cts)":(\d+)')


def _looped(path: Path, frames: int) -> None:
    """Write the fixture looped to at least `frames` frames into `path`."""
    lines = list(read_file(RECORDING))
    span_ns = lines[-1][0] - lines[0][0] + 100_000_000  # the slice, then a 100 ms pause
    passes = -(-frames // len(lines))
    with gzip.open(path, "wb", compresslevel=1) as out:
        for k in range(passes):
            shift_ns = k * span_ns
            moved = _shifter(shift_ns // 1_000_000)
            out.writelines(b"%d %s\n" % (t + shift_ns, _TIMES.sub(moved, raw)) for t, raw in lines)


def _shifter(shift_ms: int) -> Callable[[re.Match[bytes]], bytes]:
    def moved(match: re.Match[bytes]) -> bytes:
        return b'"%s":%d' % (match.group(1), int(match.group(2)) + shift_ms)

    return moved


def child(path: str) -> None:
    """Run the engine on `path`; print frames, seconds and peak RSS as JSON."""
    from research.backtest.engine import Engine
    from research.backtest.market import recording_lines
    from research.backtest.settings import BacktestSettings, Latency
    from services.executor.settings import ExecutorSettings
    from services.feed.settings import FeedSettings
    from services.strategy.settings import StrategySettings

    strategy = StrategySettings(
        metrics_port=1, momentum_threshold=0.00002, max_hold_s=1.0, cooldown_s=0.5
    )
    settings = BacktestSettings(
        symbol="ETHUSDT",
        strategy=strategy,
        executor=ExecutorSettings(metrics_port=1),
        feed=FeedSettings(metrics_port=1),
        entry_latency=Latency(constant_ns=1_000_000),
        response_latency=Latency(constant_ns=1_000_000),
    )
    started = time.perf_counter()
    result = Engine(settings, recording_lines([Path(path)])).run()
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = result.summary
    print(
        json.dumps(
            {
                "frames": summary.frames,
                "seconds": elapsed,
                "peak_rss_mb": peak_kb / 1024,
                "orders": summary.orders,
                "fills": summary.fills,
            }
        )
    )


def run(quick: bool) -> Iterator[Result]:
    frames = 100_000 if quick else TARGET_FRAMES
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        path = Path(tmp) / "ETHUSDT.frames.gz"
        _looped(path, frames)
        code = f"from scripts.benchmarks.backtest import child; child({str(path)!r})"
        answer = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=3600,
        )
    figures = json.loads(answer.stdout)
    yield {
        "name": "backtest.scalper_events_per_s",
        "value": round(figures["frames"] / figures["seconds"]),
        "unit": "events/s",
        "target": ">= 400000",
        "events": figures["frames"],
        "seconds": round(figures["seconds"], 1),
        "orders": figures["orders"],
        "fills": figures["fills"],
        "note": "an event is one recorded frame (line) through venue, feed session, strategy",
    }
    yield {
        "name": "backtest.peak_rss_mb",
        "value": round(figures["peak_rss_mb"], 1),
        "unit": "MB",
        "events": figures["frames"],
    }
