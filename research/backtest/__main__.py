"""python -m research.backtest: the command line of scripts/backtest."""

import sys

from research.backtest.cli import main

sys.exit(main())
