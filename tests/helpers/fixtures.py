"""Where the captured Bybit frames and responses the tests read are kept (in this checkout)."""

from pathlib import Path
from typing import Final

BYBIT_FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures" / "bybit"
DATA_FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures" / "data"  # SOURCES.md
