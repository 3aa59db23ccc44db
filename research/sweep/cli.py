"""scripts/sweep: sweep [strategy] settings (the market maker's too, as `market-maker.KEY`)
over backtests; a table, the best as a fragment."""

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from research.backtest.cli import add_data_arguments, data_symbols
from research.backtest.engine import BacktestError
from research.backtest.settings import NS_PER_MS, parse_overrides
from research.report.files import default_report_path
from research.sweep import fragment, runner
from research.sweep.data import Recording
from research.sweep.objective import (
    DEFAULT_OBJECTIVE,
    BacktestJob,
    metric_objectives,
    objectives,
    run_trial,
    score_result,
)
from research.sweep.report import report_document, table_text
from research.sweep.space import SpaceError, grid_size, known_keys, parse_params
from research.sweep.walk_forward import WalkForwardError, Window, span_ns, windows
from shared.recordings import RecordingError
from shared.settings import DEFAULT_SETTINGS_PATH, SettingsError

DEFAULT_TRIALS = 50
FIXTURE = "tests/fixtures/replay/ETHUSDT-2024-08-08-10s.frames.gz"
EXAMPLES = f"""examples:
  # the 10 x 10 grid over the entry threshold and the VWAP window, every core:
  scripts/sweep {FIXTURE} --grid \\
      --param momentum-threshold=0.00001:0.0001:0.00001 --param vwap-trades=5:50:5 \\
      --set max-hold-s=1 --set cooldown-s=1 --best-out best.toml
  # TPE, 200 trials, fitted on the first 70 % of the day, reported on the last 30 %:
  scripts/sweep --recordings run/recordings --day 2024-08-08 --symbol ETHUSDT \\
      --sampler tpe --trials 200 --train-fraction 0.7 \\
      --param momentum-threshold=0.00001:0.001 --param max-hold-s=1:60 \\
      --param take-profit-pct=0.05,0.1,0.3
  # several hosts, one study: the same command on each (each with its own --seed)
  scripts/sweep {FIXTURE} --storage postgresql://user:pw@db-host/sweeps \\
      --study mom-aug --trials 100 --seed 2 --param momentum-threshold=0.00001:0.001
  # the market maker: its [strategy.market-maker] keys, dotted (--set takes them too):
  scripts/sweep {FIXTURE} --set kind=market-maker \\
      --param market-maker.min-spread-bps=0.5:3:0.5 \\
      --param market-maker.vol-sensitivity-ratio=0.1,0.5,1.0 \\
      --set market-maker.max-spread-bps=4 --best-out best.toml
  # the best settings into a settings file (checked strictly first; a .bak is kept):
  scripts/sweep --apply best.toml deploy/settings.toml

A --param is KEY=LO:HI (a range), KEY=LO:HI:STEP (a stepped range) or KEY=A,B,C (choices),
KEY being a [strategy] key of deploy/settings.toml, or market-maker.KEY for a key of its
[strategy.market-maker] table (--set market-maker.KEY=VALUE sets one key of that table, the
file's others kept; --set 'market-maker={{...}}' replaces the table). --best-out writes the
plain keys under [strategy] and the dotted ones under [strategy.market-maker]; --apply merges
both. --trials counts the trials this command runs (over its --workers); the study's total
is the sum over every command that joined it.
"""


def _keys_text() -> str:
    """The sweepable keys, wrapped for the help's epilog."""
    return textwrap.fill(f"sweepable KEYs: {known_keys()}", width=92, break_on_hyphens=False)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/sweep",
        description="Sweep [strategy] settings: each trial is one backtest (scripts/backtest's"
        " engine) scored on a summary field; optuna's grid, TPE or random sampler proposes the"
        " values, worker processes on every core (and on other hosts, with a shared"
        " PostgreSQL --storage) run them. Prints the best trials; --best-out writes the"
        " best as a [strategy] (and [strategy.market-maker]) fragment.",
        epilog=f"{EXAMPLES}\n{_keys_text()}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="recordings (.frames.gz)")
    add_data_arguments(p)
    p.add_argument(
        "--settings",
        type=Path,
        default=DEFAULT_SETTINGS_PATH,
        metavar="FILE",
        help="the settings every trial starts from (default: deploy/settings.toml)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="SPEC",
        help="a swept [strategy] key (or market-maker.KEY): KEY=LO:HI, KEY=LO:HI:STEP or"
        " KEY=A,B,C (repeatable; the keys are listed below)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [strategy] key fixed for every trial (repeatable), e.g. --set max-hold-s=1"
        " or --set market-maker.min-spread-bps=1.0",
    )
    p.add_argument(
        "--sampler", choices=runner.SAMPLERS, default="tpe", help="optuna's sampler (default tpe)"
    )
    p.add_argument("--grid", action="store_true", help="same as --sampler grid")
    p.add_argument(
        "--trials",
        type=int,
        metavar="N",
        help=f"trials this command runs (default: the whole grid, else {DEFAULT_TRIALS})",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: every core, %(default)s here)",
    )
    p.add_argument("--study", default="sweep", metavar="NAME", help="the study's name")
    p.add_argument(
        "--storage",
        metavar="URL|FILE",
        help="postgresql://... (several hosts), sqlite:///..., or a journal FILE (resumable);"
        " default: a temporary journal file",
    )
    p.add_argument("--seed", type=int, default=1, help="the sampler's seed (worker k: + k)")
    p.add_argument(
        "--objective",
        default=DEFAULT_OBJECTIVE,
        choices=(*objectives(), *metric_objectives()),
        metavar="FIELD",
        help=f"what to optimise (default {DEFAULT_OBJECTIVE}): a summary field"
        f" ({', '.join(objectives())}) or a report metric ({', '.join(metric_objectives())});"
        " a trial where the metric is unknown (no fills ...) is pruned, not ranked",
    )
    p.add_argument("--direction", choices=("maximize", "minimize"), default="maximize")
    p.add_argument(
        "--train-fraction",
        type=float,
        metavar="F",
        help="walk-forward: fit on the first F of the recording (by receive time), report the"
        " best on the rest",
    )
    p.add_argument(
        "--backtest-seed", type=int, default=1, metavar="N", help="the backtest's seed (default 1)"
    )
    p.add_argument("--entry-latency-ms", type=float, default=0.0, metavar="MS")
    p.add_argument("--response-latency-ms", type=float, default=0.0, metavar="MS")
    p.add_argument(
        "--cache",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read one FILE through its columnar cache (FILE.cache.npz beside it, built once"
        " before the trials: about 4 us an event; each trial then decodes no JSON for the"
        " venue). Default: on for one FILE, off otherwise; --no-cache reads the JSON lines",
    )
    p.add_argument("--top", type=int, default=10, metavar="N", help="rows of the table (10)")
    p.add_argument("--best-out", type=Path, metavar="FILE", help="write the best as a fragment")
    p.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="the sweep as JSON: what was swept, every completed trial ranked, the best"
        " (default reports/sweep-<study>-<UTC time>.json under the checkout: the dashboard's"
        " Research tab lists that folder)",
    )
    p.add_argument(
        "--apply",
        nargs=2,
        type=Path,
        metavar=("FRAGMENT", "SETTINGS"),
        help="merge a fragment into a settings file, and do nothing else",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _recording(args: argparse.Namespace) -> Recording:
    if args.recordings is not None:
        if args.files or not (args.day and args.symbol):
            raise ValueError("--recordings needs --day and --symbol, and no FILEs")
        if args.cache:
            raise ValueError("--cache takes one recording FILE, not --recordings")
        return Recording(root=args.recordings, day=args.day, symbols=data_symbols(args))
    if not args.files:
        raise ValueError("give recording FILEs, or --recordings DIR --day DAY --symbol SYMBOL")
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise ValueError(f"no such recording file: {', '.join(missing)}")
    if args.cache and len(args.files) != 1:
        raise ValueError("--cache takes exactly one recording FILE (or give --no-cache)")
    columnar = len(args.files) == 1 if args.cache is None else bool(args.cache)
    return Recording(files=tuple(args.files), columnar=columnar)


def _symbol(args: argparse.Namespace) -> str | tuple[str, ...]:
    """What the job takes: one symbol, or several."""
    symbols = data_symbols(args)
    return symbols[0] if len(symbols) == 1 else symbols


def _knobs(args: argparse.Namespace) -> dict[str, Any]:
    from research.backtest.settings import Latency

    def latency(ms: float) -> Latency:
        if ms < 0:
            raise ValueError(f"a latency cannot be negative: {ms} ms")
        return Latency(constant_ns=round(ms * NS_PER_MS))

    return {
        "seed": args.backtest_seed,
        "entry_latency": latency(args.entry_latency_ms),
        "response_latency": latency(args.response_latency_ms),
    }


def _plan(args: argparse.Namespace, scratch: Path) -> tuple[runner.Sweep, Window | None]:
    params = parse_params(args.param)
    if not params:
        raise SpaceError("give at least one --param KEY=LO:HI[:STEP] or KEY=A,B,C")
    recording = _recording(args)
    train = test = None
    if args.train_fraction is not None:
        first, last, _ = span_ns(recording.lines())
        train, test = windows(first, last, args.train_fraction)
    sweep = runner.Sweep(
        job=BacktestJob(args.settings, _symbol(args), tuple(args.set), _knobs(args)),
        recording=recording,
        params=params,
        study=args.study,
        storage=args.storage or runner.journal_path(scratch, args.study),
        sampler="grid" if args.grid else args.sampler,
        seed=args.seed,
        objective=args.objective,
        direction=args.direction,
        train=train,
    )
    return sweep, test


def _trials(args: argparse.Namespace, sweep: runner.Sweep) -> int:
    if args.trials is not None:
        return int(args.trials)
    return grid_size(sweep.params) if sweep.sampler == "grid" else DEFAULT_TRIALS


def _bar(total: int, quiet: bool) -> tuple[Callable[[int], None], Callable[[], None]]:
    bar = tqdm(total=total, unit="trial", file=sys.stderr, disable=quiet or not sys.stderr.isatty())

    def update(done: int) -> None:
        bar.update(max(0, min(done, total) - bar.n))

    return update, bar.close


def sweep_main(args: argparse.Namespace, scratch: Path) -> int:
    """Run the sweep as the arguments say; print the table and the best."""
    started = time.monotonic()
    sweep, test = _plan(args, scratch)
    trials = _trials(args, sweep)
    update, close = _bar(trials, args.quiet)
    try:
        runner.run(sweep, trials, args.workers, update)
    finally:
        close()
    study = runner.load(sweep)
    ranked = runner.ranked(study)
    all_trials = study.get_trials(deepcopy=False)
    failed = [t for t in all_trials if t.state.name == "FAIL"]
    pruned = sum(1 for t in all_trials if t.state.name == "PRUNED")
    keys = [p.key for p in sweep.params]
    print(table_text(ranked[: args.top], keys, sweep.objective))
    print(
        f"study     {sweep.study}: {len(all_trials)} trials ({len(ranked)} complete,"
        f" {len(failed)} failed, {pruned} with {sweep.objective} unknown),"
        f" sampler {sweep.sampler}, {args.workers} workers here,"
        f" {time.monotonic() - started:.1f} s"
    )
    if failed:
        print(f"failed    trial {failed[0].number}: {failed[0].user_attrs.get('error', '?')}")
    if not ranked:
        print("error: no trial completed: nothing to report", file=sys.stderr)
        return 1
    best = ranked[0]
    lines = _best_lines(sweep, best, test, args)
    print("\n".join(lines))
    counts = {"trials_total": len(all_trials), "failed": len(failed), "pruned": pruned}
    document = report_document(ranked, keys, sweep.identity(), counts, lines)
    report = args.report or default_report_path("sweep", sweep.study)
    report.write_bytes(json.dumps(document, indent=2, default=str).encode() + b"\n")
    print(f"wrote     {report}")
    if args.best_out is not None:
        values = {**parse_overrides(sweep.job.fixed), **best.params}
        how = f"scripts/sweep --apply {args.best_out} deploy/settings.toml merges these keys"
        args.best_out.write_text(fragment.fragment_text(values, [*lines, how]))
        print(f"wrote     {args.best_out}")
    return 0


def _best_lines(
    sweep: runner.Sweep, best: Any, test: Window | None, args: argparse.Namespace
) -> list[str]:
    where = "in sample" if test is not None else "on all the data"
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(best.params.items()))
    lines = [
        f"best      trial {best.number} of study {sweep.study}: {params}",
        f"objective {sweep.objective} ({sweep.direction}) = {best.value:.6g} {where}",
    ]
    if test is not None:
        result = run_trial(sweep.job, sweep.recording.source(test), best.params)
        oos = score_result(result, sweep.objective)
        shown = "n/a (unknown on that part)" if oos is None else f"{oos:.6g}"
        lines.append(
            f"walk-fwd  out of sample (the last {1 - args.train_fraction:.0%} by receive time):"
            f" {sweep.objective} = {shown}, fills {result.summary.fills}"
        )
    fixed = " ".join(f"--set {s}" for s in sweep.job.fixed) or "none"
    lines.append(f"data      {sweep.recording.describe()}; settings {sweep.job.settings_path}")
    lines.append(f"fixed     {fixed}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.apply is not None:
            backup = fragment.apply(*args.apply)
            print(f"merged    {args.apply[0]} into {args.apply[1]} (was kept as {backup})")
            return 0
        with tempfile.TemporaryDirectory(prefix="sweep-") as scratch:
            return sweep_main(args, Path(scratch))
    except (
        SettingsError,
        RecordingError,
        BacktestError,
        runner.SweepError,
        WalkForwardError,
        ValueError,
        OSError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
