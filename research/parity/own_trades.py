"""The live session's own trades, kept away from the backtest venue's recorded liquidity.

A recorded paper (or live) session's `publicTrade` frames hold the live orders' own fills:
the venue prints each one (same venue time `T`, side, size and price as the journal's fill;
on a paper session the print reached the recorder about 45 ms after the fill). Replayed at
the venue as they are, those prints take the recorded book's liquidity a second time: the
backtest's own orders already took it. A print before the next order could leave no ask for
a market buy that the live run filled; the backtest then decided differently (a parity
failure seen in CI: "Canceled EC_NoImmediateQtyToFill", then an extra order).

The feed still gets every print: the live strategy saw its own trades in the public stream
(the momentum scalper's VWAP reads them), so only the venue skips them. `OwnPrints` is the
engine's `venue_skip`: for each of the session's fills it skips one recorded trade with its
venue time (ms), taker side (the fill's side when it took, the other when it made), price
ticks and lots.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from research.parity.records import Fill
from services.simulator.venue import Grid, RecordedTrade

PrintKey = tuple[str, int, bool, int, int]  # symbol, venue ms, taker buys, ticks, lots
_OTHER = {"Buy": "Sell", "Sell": "Buy"}


@dataclass(slots=True)
class OwnPrints:
    """The prints still to skip, and how many were (see the module docstring)."""

    fills: int
    wanted: Counter[PrintKey] = field(default_factory=Counter)
    skipped: int = 0

    def __call__(self, trade: RecordedTrade) -> bool:
        """Whether the venue skips this recorded trade (one of ours, not skipped yet)."""
        key = (trade.symbol, trade.match_ms, trade.taker_is_buy, trade.price, trade.lots)
        if self.wanted[key] <= 0:
            return False
        self.wanted[key] -= 1
        self.skipped += 1
        return True

    def describe(self) -> str:
        return (
            f"{self.skipped} of the session's {self.fills} fills' public prints kept from the"
            " backtest venue's liquidity (the live orders' own trades; the feed still sees them)"
        )


def own_prints(fills: Sequence[Fill], symbol: str, grids: Mapping[str, Grid]) -> OwnPrints:
    """The prints `fills` (of `symbol`) made, on the venue's grid of `symbol`."""
    own = OwnPrints(fills=len(fills))
    tick, step = grids[symbol]
    for fill in fills:
        taker_side = fill.side if not fill.is_maker else _OTHER.get(fill.side)
        ticks, lots = fill.price / tick, fill.qty / step
        if taker_side not in _OTHER or not _whole(ticks) or not _whole(lots):
            continue  # an unknown side, or off the grid: never a print of ours
        key = (symbol, fill.ts_ns // 1_000_000, taker_side == "Buy", int(ticks), int(lots))
        own.wanted[key] += 1
    return own


def _whole(value: Decimal) -> bool:
    return value == value.to_integral_value()
