"""Backtest benchmarks: the venue core alone and the whole engine, on a long stream.

What an event is, as the reference engines count it (NautilusTrader: one OrderBookDelta per
level change; hftbacktest: one row per level change or trade): one book level of a recorded
`orderbook.N` frame (snapshot or delta) or one trade of a `publicTrade` frame. The replay
fixture (10 s of real ETHUSDT; benches read only the project) has 2,344 frames holding
14,546 such events (3,696 `orderbook.1` levels, 10,542 `orderbook.500` level changes, 308
trades). Frames per second are reported beside the events.

The fixture is looped into one recording of at least 10 million events (`--quick`: 500 k),
written once to a temporary `.frames.gz` (not timed): each pass is shifted by the slice's
length, receive times and the frames' venue times alike, so the feed sees fresh frames
throughout. Child processes then run, each with its own peak RSS:

- `backtest.core_events_per_s`: the backtest's own data path (`research.backtest.market`:
  the file streamed and decoded as a backtest decodes it) into the venue core only (its
  recorded ladder and matching), with one resting PostOnly order a side at the best price,
  placed again as soon as it filled: no feed session, no strategy, no executor;
- `backtest.scalper_events_per_s`: `research.backtest` as `scripts/backtest` runs it (venue
  + feed session + MomentumScalper with settings that make it trade + the executor's
  decisions, 1 ms entry and response latency); `backtest.peak_rss_mb` is this child's;
- `backtest.sweep_speedup`: `scripts.benchmarks.sweep.run_sweep_speedup` (another module;
  reported as missing until it exists) on a short loop of the fixture.
"""

import gzip
import importlib
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.bybit import wire
from shared.bybit.ws_frames import FrameDrop, decode_public
from shared.recordings import read_file
from shared.settings import REPO_ROOT

if TYPE_CHECKING:
    from services.simulator.venue import Venue

Result = dict[str, Any]
_ACCOUNT = "bench"
RECORDING = REPO_ROOT / "tests" / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
TARGET_EVENTS = 10_000_000
QUICK_EVENTS = 500_000
SWEEP_PASSES = 20  # the sweep's loop of the fixture: ~47 k frames, ~0.3 M events
SWEEP_TRIALS, QUICK_SWEEP_TRIALS = 8, 4
_TIMES = re.compile(rb'"(ts|T|cts)":(\d+)')
_EVENT_NOTE = (
    "an event is one book level (snapshot level or delta level change) or one trade, as"
    " NautilusTrader (OrderBookDelta) and hftbacktest (one row) count them; frames/s beside"
)


def events_of(lines: Iterator[tuple[int, bytes]]) -> tuple[int, int]:
    """(frames, events) of recorded lines: public frames, and their levels plus trades."""
    frames = events = 0
    for _, raw in lines:
        frame = decode_public(raw)
        if isinstance(frame, FrameDrop):
            continue
        frames += 1
        if isinstance(frame, wire.OrderBookMessage):
            events += len(frame.data.b) + len(frame.data.a)
        else:
            events += len(frame.data)
    return frames, events


def looped(path: Path, events: int) -> tuple[int, int]:
    """Write the fixture looped to at least `events` events into `path`; (frames, events)."""
    lines = list(read_file(RECORDING))
    frames_per_pass, events_per_pass = events_of(iter(lines))
    span_ns = lines[-1][0] - lines[0][0] + 100_000_000  # the slice, then a 100 ms pause
    passes = -(-events // events_per_pass)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for k in range(passes):
            shift_ns = k * span_ns
            moved = _shifter(shift_ns // 1_000_000)
            out.writelines(b"%d %s\n" % (t + shift_ns, _TIMES.sub(moved, raw)) for t, raw in lines)
    return passes * frames_per_pass, passes * events_per_pass


def _shifter(shift_ms: int) -> Callable[[re.Match[bytes]], bytes]:
    def moved(match: re.Match[bytes]) -> bytes:
        return b'"%s":%d' % (match.group(1), int(match.group(2)) + shift_ms)

    return moved


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, source: str = "columns") -> None:
    """Run the engine on `path` (its columnar cache, or "lines": the JSON lines); print
    frames, seconds and peak RSS as JSON."""
    from research.backtest.columnar import ColumnarRecording
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
    data = ColumnarRecording(Path(path)) if source == "columns" else recording_lines([Path(path)])
    started, cpu = time.perf_counter(), time.process_time()
    result = Engine(settings, data).run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    summary = result.summary
    figures = {
        "frames": summary.frames,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "peak_rss_mb": _peak_rss_mb(),
        "orders": summary.orders,
        "fills": summary.fills,
    }
    print(json.dumps(figures))


def core_child(path: str, source: str = "columns") -> None:
    """The backtest's data path (the columnar cache, or "lines": the JSON lines) into the
    venue core alone; print the figures as JSON."""
    from research.backtest.columnar import ColumnarRecording
    from research.backtest.market import MarketFrames, recording_lines
    from services.simulator.venue import ExchangeConfig, Venue

    recording = ColumnarRecording(Path(path))
    config = ExchangeConfig(
        seed=7,
        symbols=("ETHUSDT",),
        market_source="recorded",
        history_minutes=60,
        max_buffered_events=1_000,
    )
    venue = Venue(config, (recording.first_recv_ns() or 0) // 1_000_000)
    grids = venue.grids()
    market = MarketFrames(grids, (), 0, venue.recorded_depth)
    placed = fills = 0
    quoted = 0  # sides with a resting order
    started, cpu = time.perf_counter(), time.process_time()
    frames = (
        recording.frames(market, grids)
        if source == "columns"
        else market.frames_of(recording_lines([Path(path)]))
    )
    for frame in frames:
        for event in frame.venue_events:
            venue.on_market(event)
        if venue.has_reports() or quoted < 2:
            reports = venue.drain_reports()
            fills += sum(1 for _, topic, _ in reports if topic == "execution")
            new, quoted = _requote(venue)
            placed += new
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = {
        "frames": market.frames,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "orders_placed": placed,
        "fills": fills,
        "peak_rss_mb": _peak_rss_mb(),
    }
    print(json.dumps(figures))


def cache_child(path: str) -> None:
    """Build the columnar cache of `path` (the one decoding); print its time and size."""
    from research.backtest.columnar import build
    from services.simulator.venue import ExchangeConfig, Venue

    venue = Venue(ExchangeConfig(symbols=("ETHUSDT",), market_source="recorded"), 0)
    started = time.perf_counter()
    cache = build(Path(path), venue.grids())
    figures = {
        "seconds": time.perf_counter() - started,
        "bytes": cache.stat().st_size,
        "peak_rss_mb": _peak_rss_mb(),
    }
    print(json.dumps(figures))


def _requote(venue: "Venue") -> tuple[int, int]:
    """Place again, at the best bid / ask, the resting order of each side that is gone;
    (orders placed, sides now quoted)."""
    open_sides = {o.side for o in venue.orders(_ACCOUNT, symbol="ETHUSDT")}
    bids, asks = venue.book_top("ETHUSDT", 1)
    placed = 0
    for side, levels in (("Buy", bids), ("Sell", asks)):
        if side not in open_sides and levels:
            request = wire.OrderCreateRequest(
                symbol="ETHUSDT",
                side=side,
                order_type="Limit",
                qty="0.05",
                price=str(levels[0][0]),
                time_in_force="PostOnly",
            )
            venue.submit(_ACCOUNT, request, venue.now_ms)
            placed += 1
    venue.drain_reports()
    return placed, len(open_sides) + placed


def _in_child(function: str, *args: str) -> Result:
    call = f"{function}({', '.join(repr(a) for a in args)})"
    code = f"from scripts.benchmarks.backtest import {function}; {call}"
    answer = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=3600,
    )
    figures: Result = json.loads(answer.stdout)
    return figures


def _sweep(path: Path, trials: int) -> Result:
    """`backtest.sweep_speedup` from scripts.benchmarks.sweep, or why it is not there."""
    try:
        sweep = importlib.import_module("scripts.benchmarks.sweep")
    except ModuleNotFoundError as e:
        if e.name != "scripts.benchmarks.sweep":
            raise
        return {
            "name": "backtest.sweep_speedup",
            "value": None,
            "unit": "x",
            "note": "not measured: scripts/benchmarks/sweep.py (run_sweep_speedup) is not"
            " there yet",
        }
    answer = sweep.run_sweep_speedup(path, trials)
    if isinstance(answer, dict):
        return {"name": "backtest.sweep_speedup", "unit": "x", **answer}
    return {"name": "backtest.sweep_speedup", "value": answer, "unit": "x", "trials": trials}


def run(quick: bool) -> Iterator[Result]:
    target = QUICK_EVENTS if quick else TARGET_EVENTS
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        path = Path(tmp) / "ETHUSDT.frames.gz"
        frames, events = looped(path, target)
        cache = _in_child("cache_child", str(path))
        yield {
            "name": "backtest.cache_build_s",
            "value": round(cache["seconds"], 1),
            "unit": "s",
            "events": events,
            "frames": frames,
            "cache_mb": round(cache["bytes"] / 1e6, 1),
            "peak_rss_mb": round(cache["peak_rss_mb"], 1),
            "note": "decoding the looped recording once into its columnar cache"
            " (research/backtest/columnar.py): JSON, Decimal levels to ticks and lots",
        }
        core = _in_child("core_child", str(path))
        if core["frames"] != frames:
            raise RuntimeError(f"the core saw {core['frames']} frames of {frames}")
        yield {
            "name": "backtest.core_events_per_s",
            "value": round(events / core["seconds"]),
            "unit": "events/s",
            "target": ">= 1000000",
            "events": events,
            "frames": frames,
            "frames_per_s": round(frames / core["seconds"]),
            "seconds": round(core["seconds"], 1),
            "cpu_seconds": round(core["cpu_seconds"], 1),
            "orders_placed": core["orders_placed"],
            "fills": core["fills"],
            "peak_rss_mb": round(core["peak_rss_mb"], 1),
            "note": "decode + the venue's recorded ladder and matching, one resting order a"
            " side placed again as it fills; no feed session, no strategy. " + _EVENT_NOTE,
        }
        scalper = _in_child("child", str(path))
        if scalper["frames"] != frames:
            raise RuntimeError(f"the engine saw {scalper['frames']} frames of {frames}")
        yield {
            "name": "backtest.scalper_events_per_s",
            "value": round(events / scalper["seconds"]),
            "unit": "events/s",
            "target": ">= 400000",
            "events": events,
            "frames": frames,
            "frames_per_s": round(frames / scalper["seconds"]),
            "seconds": round(scalper["seconds"], 1),
            "cpu_seconds": round(scalper["cpu_seconds"], 1),
            "orders": scalper["orders"],
            "fills": scalper["fills"],
            "note": "venue + feed session + MomentumScalper + the executor's decisions. "
            + _EVENT_NOTE,
        }
        yield {
            "name": "backtest.peak_rss_mb",
            "value": round(scalper["peak_rss_mb"], 1),
            "unit": "MB",
            "events": events,
            "note": "the scalper run's own peak RSS (the core run's is in its line)",
        }
        small = Path(tmp) / "sweep.frames.gz"
        looped(small, SWEEP_PASSES * 14_546)
        yield _sweep(small, QUICK_SWEEP_TRIALS if quick else SWEEP_TRIALS)
