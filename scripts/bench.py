"""Benchmarks: one JSON object per line on stdout, each with name, value and unit.

Run it as scripts/bench [GROUP ...] (which sets up .venv first). Progress goes to stderr.
Figures are medians and ratios measured in one run; the machine may be shared and noisy,
so compare ratios within a run rather than absolute values across runs.
"""

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

Result = dict[str, Any]
# group name -> module in scripts.benchmarks with `run(quick: bool) -> Iterator[Result]`
GROUPS: dict[str, str] = {
    "bus": "scripts.benchmarks.bus",
    "feed": "scripts.benchmarks.feed",
    "simulator": "scripts.benchmarks.simulator",
    "executor": "scripts.benchmarks.executor",
    "e2e": "scripts.benchmarks.e2e",
    "strategy": "scripts.benchmarks.strategy",
    "backtest": "scripts.benchmarks.backtest",
    "mm": "scripts.benchmarks.mm",
    "fuzz": "scripts.benchmarks.fuzz",
    "soak": "scripts.benchmarks.soak",
    "dashboard": "scripts.benchmarks.dashboard",
}
# long runs, named to run (mm: the 6-min file, a grid; dashboard: the system and a browser)
OPT_IN: tuple[str, ...] = ("soak", "mm", "dashboard")
ALL: tuple[str, ...] = tuple(g for g in GROUPS if g not in OPT_IN)  # the default


def _load(group: str, options: dict[str, Any]) -> Callable[[bool], Iterator[Result]]:
    """The group's run(); a group with `configure(**options)` gets the options first."""
    module = importlib.import_module(GROUPS[group])
    if hasattr(module, "configure"):
        module.configure(**options)
    run: Callable[[bool], Iterator[Result]] = module.run
    return run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Run benchmark groups and print one JSON object per result line.",
        epilog=f"groups: {', '.join(GROUPS)} (default: all but {', '.join(OPT_IN)})",
    )
    parser.add_argument("groups", nargs="*", metavar="GROUP", help="groups to run")
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument(
        "--minutes",
        type=float,
        metavar="N",
        help="soak: how long it runs the system (default 2; with --quick 1); mm: only the"
        " recording's first N minutes",
    )
    args = parser.parse_args(argv)
    if args.minutes is not None and args.minutes <= 0:
        parser.error("--minutes must be positive")
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {unknown[0]!r}; known: {', '.join(GROUPS)}")
    for group in args.groups or list(ALL):
        started = time.monotonic()
        print(f"bench: {group} ...", file=sys.stderr, flush=True)
        for result in _load(group, {"minutes": args.minutes})(args.quick):
            print(json.dumps(result), flush=True)
        print(f"bench: {group} done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
