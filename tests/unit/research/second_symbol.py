"""A second symbol's recording, derived from the real ETHUSDT fixture at test time.

The only real data is 10 s of ETHUSDT (tests/fixtures/replay). `derive` writes a copy of
it as another symbol, in the recorder's format (`shared.recordings.format_line`, gzip):

- every frame's topic and `s` renamed ETHUSDT -> `symbol` (book and trade frames alike);
- every size (book levels' and trades' `v`) multiplied by `qty_scale` (10 for SOLUSDT:
  the simulator lists ETHUSDT with a qty step of 0.01 and SOLUSDT with 0.1, so a size sits
  on SOLUSDT's lot grid exactly as the original sat on ETHUSDT's). Prices are kept: the
  fixture's (2,681.xx on a 0.01 tick) lie on SOLUSDT's 0.010 tick and under its maximum
  price, so the venue and the feed take them as they take ETHUSDT's;
- every receive time shifted by `shift_ns` (a few ms: the two streams interleave, and
  no line of one has the receive time of a line of the other).

Venue times (`ts`, `T`) are left: the feed's lag check compares them with the receive time
as for the original, within a few ms.
"""

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.recordings import format_line, read_file

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
SOURCE_SYMBOL = "ETHUSDT"


def _scaled(qty: str, scale: int) -> str:
    return f"{Decimal(qty) * scale:f}"


def derived_frame(raw: bytes, symbol: str, qty_scale: int) -> bytes:
    """One recorded frame of ETHUSDT as `symbol`'s (see the module docstring)."""
    frame: dict[str, Any] = json.loads(raw)
    frame["topic"] = frame["topic"].replace(SOURCE_SYMBOL, symbol)
    data = frame["data"]
    if isinstance(data, list):  # trades
        for trade in data:
            trade["s"], trade["v"] = symbol, _scaled(trade["v"], qty_scale)
    else:
        data["s"] = symbol
        for side in ("b", "a"):
            data[side] = [[price, _scaled(qty, qty_scale)] for price, qty in data[side]]
    return json.dumps(frame, separators=(",", ":")).encode()


def derive(
    target: Path,
    symbol: str = "SOLUSDT",
    *,
    shift_ns: int = 3_000_000,
    qty_scale: int = 10,
    source: Path = REPLAY,
) -> Path:
    """Write `source` as `symbol`'s recording to `target` (see the module docstring)."""
    with gzip.open(target, "wb") as out:
        for recv_ns, raw in read_file(source):
            out.write(format_line(recv_ns + shift_ns, derived_frame(raw, symbol, qty_scale)))
    return target
