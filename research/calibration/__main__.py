"""Print A, k and sigma of a recording: python -m research.calibration FILE --tick 0.01."""

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import orjson

from research.calibration.intensity import calibrate_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m research.calibration", description=__doc__)
    parser.add_argument("recording", type=Path, help="a <SYMBOL>.frames.gz recording")
    parser.add_argument("--tick", type=float, required=True, help="the symbol's price tick")
    parser.add_argument("--step-s", type=float, default=0.1, help="counting step, s")
    parser.add_argument("--levels", type=int, default=70, help="depth grid, in ticks")
    args = parser.parse_args(argv)
    result = calibrate_file(args.recording, args.tick, args.step_s, args.levels)
    sys.stdout.write(orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if result.refusal is None else 1


if __name__ == "__main__":
    sys.exit(main())
