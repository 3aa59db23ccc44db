"""python -m research.sweep: the command line of scripts/sweep."""

import sys

from research.sweep.cli import main

sys.exit(main())
