"""Queue position of a resting order: the lots ahead of it at its price (one model, two users).

The backtest's venue and the market maker's live estimate move a resting order's place with
these same functions, so the backtest fills what the live estimate expects. State per
resting order: `front`, the market's lots queued ahead of it at its price (integer lots; our
own lots never count). The rules (market-making.md section 5, after hftbacktest's
`RiskAdverseQueueModel` and `ProbQueueModel`):

- joining a level: `front` = the market's lots shown there now (`front_on_join`);
- a trade of q lots at our price: `front -= q`; the excess `q - front` fills us, at our
  price, as maker; front never goes below 0 (`trade_at_price`). A trade through our price
  fills us whole (the caller's rule: no queue is left to wait in);
- an update of our level from `before` to `after` market lots, `traded` lots having printed
  there since the level's previous update (`QueueModel.front_after`):
  * risk-averse (the default): `front = min(front, after)`: every cancellation is assumed to
    come from behind us; we move up only by trades (and a level shrinking below us);
  * probabilistic: the cancelled lots are `chg = before - after - traded` (a trade also shows
    as a decrease in the level's next update; it already moved us up when it printed, so it
    is taken out first: the double-counting rule). With `back = before - traded - front`
    and `p = f(back) / (f(back) + f(front))`, f(x) = x^n, the chance that a cancelled lot was
    behind us: `front' = front - (1 - p) * chg + min(back - p * chg, 0)`, then
    `front = min(ceil(front'), after)`, at least 0. Floats inside the probability only; the
    result is rounded up, toward keeping us behind (conservative). A growing level (chg <= 0)
    queues behind us: `front = min(front, after)`.

Neither model ever fills an order by itself: fills come only from trades and crossings.
Pure: no clock, no I/O; lots are integers (qty / the instrument's qty step).
"""

import math
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

QueueModelName = Literal["risk-averse", "probabilistic"]
QUEUE_MODELS: Final[tuple[QueueModelName, ...]] = ("risk-averse", "probabilistic")
_ROUNDING_SLACK: Final = 1e-9  # a float that is an integer but for rounding is not rounded up


class TradeOutcome(NamedTuple):
    """A trade at our price: the lots still ahead of us, and the lots that reached us."""

    front: int
    reached_lots: int  # > 0 only when the trade passed the front (fills up to our leaves)


def front_on_join(level_lots: int) -> int:
    """Return the front of an order joining a level that shows `level_lots` market lots."""
    return max(0, level_lots)


def trade_at_price(front: int, traded_lots: int) -> TradeOutcome:
    """Return the front after `traded_lots` printed at our price, and the excess that reached us.

    The excess is `traded_lots - front` when positive: the trade passed the front and the
    rest of it traded with us (the caller caps it at our leaves).
    """
    if traded_lots <= 0:
        return TradeOutcome(front, 0)
    if traded_lots <= front:
        return TradeOutcome(front - traded_lots, 0)
    return TradeOutcome(0, traded_lots - front)


def risk_averse(front: int, after: int) -> int:
    """The lots ahead once the level holds `after`: cancellations all came from behind."""
    return front if front <= after else max(0, after)


def probabilistic(front: int, before: int, after: int, traded: int, power: float) -> int:
    """The lots ahead once the level went from `before` to `after` with `traded` lots printed
    there in between: cancellations ahead of us in proportion f(front) / (f(back) + f(front))."""
    cancelled = before - after - traded
    if cancelled <= 0:
        return risk_averse(front, after)
    back = max(0, before - traded - front)
    f_back = float(back) ** power
    f_front = float(front) ** power
    total = f_back + f_front
    p_behind = f_back / total if total > 0 else 1.0
    estimate = front - (1.0 - p_behind) * cancelled + min(back - p_behind * cancelled, 0.0)
    return max(0, min(after, math.ceil(estimate - _ROUNDING_SLACK)))


@dataclass(frozen=True, slots=True)
class QueueModel:
    """The model that moves `front` on a level update; `power` is n of f(x) = x^n."""

    name: QueueModelName = "risk-averse"
    power: float = 2.0

    def __post_init__(self) -> None:
        if self.name not in QUEUE_MODELS:
            raise ValueError(f"queue model {self.name!r}: one of {', '.join(QUEUE_MODELS)}")
        if not 0 < self.power <= 10:
            raise ValueError(f"queue power {self.power}: 0 < n <= 10")

    def front_after(self, front: int, before: int, after: int, traded: int) -> int:
        """`front` once the level went from `before` to `after` lots (`traded` printed)."""
        if self.name == "risk-averse":
            return risk_averse(front, after)
        return probabilistic(front, before, after, traded, self.power)

    # The backtest venue's name for the same rule (its orders call the front `ahead`).
    ahead_after = front_after
