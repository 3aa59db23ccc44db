"""scripts/market-stats: the simulator's market profiles beside real data, side by side.

Given a file of recorded Bybit public frames (`<receive ns> <frame JSON>` lines, gzipped or
not, e.g. the six minutes of real ETHUSDT named in tests/fixtures/market/SOURCES.md),
computes its statistics; without one, shows the real data's statistics stored in
services/simulator/market_calibration.json. Then runs each profile's market generator
in-process (seeded, no network) for the same duration and computes the same statistics.
--json prints one object; --write-calibration stores the real data's and the profiles'
statistics as the calibration the tests and the running simulator use (scripts/status
shows them); --svg draws the mid paths and spread histograms.
"""

import argparse
import dataclasses
import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

from scripts.market_plot import market_svg
from services.simulator.market_profiles import (
    CALIBRATION_FILE,
    PROFILE_RUN_S,
    PROFILES,
    calibration,
    profile_tape,
)
from services.simulator.market_stats import Tape, statistics_of, table_lines, tape_of_frames


def _read_tape(path: Path, symbol: str, tick: float) -> Tape:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return tape_of_frames(lines, symbol=symbol, tick=tick)


def _json_safe(value: Any) -> Any:
    """NaN (a statistic without data, e.g. no whole minute) as null: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/market-stats", description=__doc__.split("\n")[0]
    )
    parser.add_argument("frames", nargs="?", type=Path, help="recorded public frames (.gz or not)")
    parser.add_argument("--symbol", default="ETHUSDT", help="symbol of the frames (ETHUSDT)")
    parser.add_argument("--tick", type=float, default=0.01, help="its price tick (0.01)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the profiles' runs (7)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=PROFILE_RUN_S,
        help=f"length of the runs ({PROFILE_RUN_S:.0f})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--write-calibration",
        type=Path,
        metavar="PATH",
        nargs="?",
        const=CALIBRATION_FILE,
        help=f"store the statistics ({CALIBRATION_FILE.name})",
    )
    parser.add_argument("--svg", type=Path, metavar="PATH", help="draw mid paths and spreads")
    args = parser.parse_args(argv)

    tapes: dict[str, Tape] = {}
    columns: dict[str, dict[str, Any]] = {}
    if args.frames is not None:
        try:
            tapes["real"] = _read_tape(args.frames, args.symbol, args.tick)
        except (OSError, ValueError, KeyError) as e:
            print(f"error: {args.frames}: {e}", file=sys.stderr)
            return 2
        columns["real"] = dataclasses.asdict(statistics_of(tapes["real"]))
        source = f"{args.frames.name} ({args.symbol})"
    else:
        stored = calibration()
        columns["real"] = stored["real"]
        source = stored["source"] + " (stored)"
    seconds = args.seconds
    for name, profile in PROFILES.items():
        tapes[name] = profile_tape(profile, seconds=seconds, seed=args.seed)
        columns[name] = dataclasses.asdict(statistics_of(tapes[name]))

    document = {
        "source": source,
        "symbol": "ETHUSDT",
        "seed": args.seed,
        "seconds": seconds,
        "real": columns["real"],
        "profiles": {name: columns[name] for name in PROFILES},
    }
    if args.write_calibration is not None:
        if args.frames is None:
            print("error: --write-calibration needs the real frames", file=sys.stderr)
            return 2
        document["source"] = source
        args.write_calibration.write_text(json.dumps(_json_safe(document), indent=1) + "\n")
    if args.svg is not None:
        args.svg.write_text(market_svg(tapes))
    if args.json:
        print(json.dumps(_json_safe(document)))
    else:
        print(f"real: {source}; profiles: ETHUSDT of the simulator, seed {args.seed}")
        print("\n".join(table_lines(columns)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
