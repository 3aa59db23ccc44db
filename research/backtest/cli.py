"""scripts/backtest: run the strategy of `[strategy] kind` (the momentum scalper or the
market maker) over a recording; print a summary and the report's metrics, write the result
with its metrics as JSON and the HTML report."""

import argparse
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from research.backtest.columnar import CacheError, ColumnarRecording
from research.backtest.engine import BacktestError, Engine, Progress
from research.backtest.market import recording_lines, symbols_day_lines
from research.backtest.settings import NS_PER_MS, BacktestSettings, Latency, load_settings
from research.backtest.summary import summary_text
from research.report.files import default_report_path
from research.report.html import render
from research.report.metrics import compute, result_with_metrics_json
from research.report.text import metrics_text
from shared.recordings import RecordingError
from shared.settings import DEFAULT_SETTINGS_PATH, SettingsError

EXAMPLES = """examples:
  scripts/backtest tests/fixtures/replay/ETHUSDT-2024-08-08-10s.frames.gz \\
      --set momentum-threshold=0.00002 --set max-hold-s=1 --entry-latency-ms 2
  scripts/backtest --recordings run/recordings --day 2024-08-08 --symbol ETHUSDT --seed 3 \\
      --entry-latency-samples order_to_ack_ms.txt --out day.json
  scripts/backtest tests/fixtures/replay/ETHUSDT-2024-08-08-10s.frames.gz \\
      --set kind=market-maker --set strategy-id=mm1 \\
      --set 'market-maker={min-spread-bps=0.01, feed-stale-ms=60000.0}'
      (the market maker; its order rate needs [executor] max-orders-per-minute raised)
  scripts/backtest ETHUSDT-2024-08-08.frames.gz SOLUSDT-2024-08-08.frames.gz \
      --set kind=market-maker --set 'market-maker={follow="market-making"}'
      (a market maker quoting two symbols, each its own feed session; the same with
      --recordings run/recordings --day 2024-08-08 --symbol ETHUSDT --symbol SOLUSDT)
"""


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """`--recordings DIR --day DAY --symbol SYMBOL ...`, as backtests and sweeps take them."""
    p.add_argument("--recordings", type=Path, metavar="DIR", help="a recordings directory ...")
    p.add_argument("--day", metavar="YYYY-MM-DD", help="... its day (UTC) ...")
    p.add_argument(
        "--symbol",
        action="append",
        metavar="SYMBOL",
        help="... and symbol; repeatable: several symbols, the first named first (default"
        " for FILEs: from the file names, in their order). Several symbols need a market"
        ' maker that quotes them: [strategy.market-maker] symbols, or follow = "market-making"',
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/backtest",
        description="Backtest the strategy of a settings file on recorded market data: the"
        " simulator's venue core matches the recording, the live strategy class trades it."
        " Prints a summary and writes the result as JSON (the same inputs and seed give the"
        " same bytes).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="recordings (.frames.gz), of one symbol or several (merged by receive time)",
    )
    add_data_arguments(p)
    p.add_argument(
        "--settings",
        type=Path,
        default=DEFAULT_SETTINGS_PATH,
        metavar="FILE",
        help="settings.toml: [strategy], [executor], [feed]; fees, balance and"
        " queue model from [simulator] (default: deploy/settings.toml)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a [strategy] key (repeatable), e.g. --set max-hold-s=5",
    )
    p.add_argument("--maker-fee", type=_decimal, metavar="RATE", help="e.g. 0.0002")
    p.add_argument("--taker-fee", type=_decimal, metavar="RATE", help="e.g. 0.00055")
    p.add_argument("--balance", type=_decimal, metavar="USDT", help="starting wallet")
    p.add_argument("--queue-model", choices=("risk-averse", "probabilistic"))
    p.add_argument("--queue-power", type=float, metavar="N", help="probabilistic f(x) = x^N")
    p.add_argument(
        "--feed-latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="venue time of a frame = receive time - this (default 0)",
    )
    for channel, what in (("entry", "strategy -> venue"), ("response", "venue -> strategy")):
        p.add_argument(
            f"--{channel}-latency-ms",
            type=float,
            default=0.0,
            metavar="MS",
            help=f"{what}, constant (default 0)",
        )
        p.add_argument(
            f"--{channel}-latency-samples",
            type=Path,
            metavar="FILE",
            help=f"{what}, drawn from these samples (one ms value a line)",
        )
    p.add_argument(
        "--latency-from-run",
        type=Path,
        metavar="RUN_DIR",
        help="entry and response latencies drawn from what a recorded run measured (its"
        " journal and recordings: scripts/run's run dir), instead of the flags above",
    )
    p.add_argument(
        "--timer-ms",
        type=float,
        default=20.0,
        metavar="MS",
        help="the strategy's timer period (default 20, as live)",
    )
    p.add_argument("--seed", type=int, default=1, help="latency draws and venue ids (default 1)")
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help='the JSON result, with the report\'s metrics under "metrics" (default'
        " reports/backtest-<SYMBOL>-<UTC time>.json under the checkout: the dashboard's"
        " Research tab lists that folder)",
    )
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="the HTML report, readable offline (default: --out with .html)",
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="run one FILE from its columnar cache (FILE.cache.npz beside it, built at the"
        " first run: about 4 us an event; later runs of the file decode no JSON for the"
        " venue, about a third faster)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


def _ns(ms: float) -> int:
    if ms < 0:
        raise ValueError(f"a latency cannot be negative: {ms} ms")
    return round(ms * NS_PER_MS)


def _latency(ms: float, samples: Path | None) -> Latency:
    if samples is None:
        return Latency(constant_ns=_ns(ms))
    try:
        lines = [ln.strip() for ln in samples.read_text().splitlines() if ln.strip()]
        values = tuple(_ns(float(v)) for v in lines)
    except (OSError, ValueError) as e:
        raise ValueError(f"{samples}: latency samples unreadable ({e})") from None
    if not values:
        raise ValueError(f"{samples}: no latency samples")
    return Latency(samples_ns=values)


def _latency_from_run(args: argparse.Namespace, settings: BacktestSettings) -> BacktestSettings:
    """`settings` with the entry and response latencies a recorded run measured."""
    given = [
        flag
        for flag, value in (
            ("--entry-latency-ms", args.entry_latency_ms),
            ("--response-latency-ms", args.response_latency_ms),
            ("--entry-latency-samples", args.entry_latency_samples),
            ("--response-latency-samples", args.response_latency_samples),
        )
        if value
    ]
    if given:
        raise ValueError(f"--latency-from-run and {', '.join(given)} cannot go together")
    from research.parity.latency import run_latencies
    from research.parity.live import SessionUnreadable
    from shared.journal_read import JOURNAL_FILE

    run_dir: Path = args.latency_from_run
    try:
        found = run_latencies(
            run_dir / JOURNAL_FILE, run_dir / "recordings", settings.strategy.strategy_id
        )
    except SessionUnreadable as e:
        raise ValueError(f"--latency-from-run {run_dir}: {e}") from None
    print(f"latency   from {run_dir}: {found.describe()}", file=sys.stderr)
    return replace(settings, entry_latency=found.entry, response_latency=found.response)


def _inputs(args: argparse.Namespace) -> tuple[list[str], Iterator[tuple[int, bytes]]]:
    """The run's symbols, in order, and its lines merged by receive time."""
    given: list[str] = list(dict.fromkeys(args.symbol or ()))  # a repeat named once
    if args.recordings is not None:
        if args.files or not (args.day and given):
            raise ValueError("--recordings needs --day and --symbol, and no FILEs")
        return given, symbols_day_lines(args.recordings, args.day, given)
    if not args.files:
        raise ValueError("give recording FILEs, or --recordings DIR --day DAY --symbol SYMBOL")
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise ValueError(f"no such recording file: {', '.join(missing)}")
    return list(data_symbols(args)), recording_lines(args.files)


def data_symbols(args: argparse.Namespace) -> tuple[str, ...]:
    """The run's symbols in order: `--symbol` as given (a repeat named once), else from the
    FILEs' names."""
    if args.symbol:
        return tuple(dict.fromkeys(args.symbol))
    named = (re.match(r"^[A-Z0-9]+USDT", f.name) for f in args.files)
    found = tuple(dict.fromkeys(m.group(0) for m in named if m))
    if not found:
        raise ValueError("cannot tell the symbol from the file names: give --symbol")
    return found


def _progress(started: float) -> Callable[[Progress], None]:
    def show(p: Progress) -> None:
        rate = p.frames / max(time.monotonic() - started, 1e-9)
        hours = p.covered_ns / 3.6e12
        print(
            f"\r{p.frames:,} frames, {hours:.2f} h recorded, {rate:,.0f} frames/s ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    return show


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.monotonic()
    progress = None if args.quiet or not sys.stderr.isatty() else _progress(started)
    try:
        symbols, lines = _inputs(args)
        settings = load_settings(
            args.settings,
            symbols,
            args.set,
            maker_fee=args.maker_fee,
            taker_fee=args.taker_fee,
            starting_balance=args.balance,
            queue_model=args.queue_model,
            queue_power=args.queue_power,
            seed=args.seed,
            feed_latency_ns=_ns(args.feed_latency_ms),
            timer_interval_ns=_ns(args.timer_ms),
            entry_latency=_latency(args.entry_latency_ms, args.entry_latency_samples),
            response_latency=_latency(args.response_latency_ms, args.response_latency_samples),
        )
        if args.latency_from_run is not None:
            settings = _latency_from_run(args, settings)
        if args.out is None:
            args.out = default_report_path("backtest", "-".join(settings.symbols))
        html_path = args.html or args.out.with_suffix(".html")
        if html_path == args.out:
            raise ValueError(f"--out and --html name the same file: {html_path}")
        source: Iterator[tuple[int, bytes]] | ColumnarRecording = lines
        if args.cache:
            if len(args.files) != 1:
                raise ValueError("--cache takes exactly one recording FILE")
            source = ColumnarRecording(args.files[0])
        result = Engine(settings, source, progress=progress).run()
        metrics = compute(result)
        args.out.write_bytes(result_with_metrics_json(result, metrics))
        html_path.write_text(render(result, metrics), encoding="utf-8")
    except (SettingsError, RecordingError, BacktestError, CacheError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started
    print(("\n" if progress else "") + summary_text(result))
    print(metrics_text(metrics))
    frames = result.summary.frames
    print(
        f"run       {elapsed:.1f} s, {frames / max(elapsed, 1e-9):,.0f} frames/s;"
        f" wrote {args.out} and {html_path}"
    )
    return 0
