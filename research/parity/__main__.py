"""python -m research.parity: the command line of scripts/parity."""

import sys

from research.parity.cli import main

sys.exit(main())
