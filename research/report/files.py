"""Where reports go by default: `reports/` under the checkout, the folder the dashboard's
Research tab lists (`[dashboard] reports-dir`, default "reports")."""

import re
import time
from pathlib import Path
from typing import Final

from shared.settings import REPO_ROOT

REPORTS_DIR: Final = REPO_ROOT / "reports"


def default_report_path(kind: str, label: str, now_s: float | None = None) -> Path:
    """`reports/<kind>-<label>-<UTC time>.json`, e.g. backtest-ETHUSDT-20261207T023000Z.json;
    the folder is created."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now_s is None else now_s))
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", label) or "unnamed"
    return REPORTS_DIR / f"{kind}-{safe}-{stamp}.json"
