"""Queue position of our resting orders in a recorded market: the recorded lots ahead of us.

State per resting order: `ahead` (`book.RestingOrder.ahead`), the recorded lots queued in
front of it at its price, in integer lots. The rules (market-making.md section 5, after
hftbacktest's `RiskAdverseQueueModel` and `ProbQueueModel`):

- joining a level: `ahead` = the lots the recording shows there now (`book.Book.add`);
- a recorded trade of q lots at our price: `ahead -= q`, and the excess fills us, at our
  price, as maker; a recorded trade through our price (better for its taker than our price)
  fills us whole (`matching.Matcher.recorded_trade`);
- a recorded update of our level from `before` to `after` lots, `traded` lots of recorded
  trades having printed at the level since its previous update (`ahead_after` here):
  * risk-averse (the default): `ahead = min(ahead, after)`: every cancellation is assumed
    to come from behind us; we move up only by trades (and a level shrinking below us);
  * probabilistic: the cancelled lots are `chg = before - after - traded`. A trade at our
    level also shows as a decrease in the level's next update; it already moved us up when
    it printed, so it is taken out of the decrease before cancellations are attributed (the
    double-counting rule). With `back = before - traded - ahead` (what was behind us just
    before the cancellations) and `p = f(back) / (f(back) + f(ahead))`, f(x) = x^n, the
    chance that a cancelled lot was behind us:
    `ahead' = ahead - (1 - p) * chg + min(back - p * chg, 0)`, then
    `ahead = min(ceil(ahead'), after)`, at least 0. Floats inside the probability only;
    the result is rounded up, toward keeping us behind (conservative). An increase of the
    level (chg <= 0) queues behind us: `ahead = min(ahead, after)`.

hftbacktest takes `back = before - ahead` after the trades moved `ahead` up, which counts
the traded lots behind us as well; here they are taken off, as they left the front.
Neither model ever fills an order by itself: fills come only from trades and crossings.
"""

import math
from dataclasses import dataclass
from typing import Final, Literal

QueueModelName = Literal["risk-averse", "probabilistic"]
QUEUE_MODELS: Final[tuple[QueueModelName, ...]] = ("risk-averse", "probabilistic")
_ROUNDING_SLACK: Final = 1e-9  # a float that is an integer but for rounding is not rounded up


def risk_averse(ahead: int, after: int) -> int:
    """The lots ahead once the level holds `after`: cancellations all came from behind."""
    return ahead if ahead <= after else after


def probabilistic(ahead: int, before: int, after: int, traded: int, power: float) -> int:
    """The lots ahead once the level went from `before` to `after` with `traded` lots printed
    there in between: cancellations ahead of us in proportion f(ahead) / (f(back) + f(ahead))."""
    cancelled = before - after - traded
    if cancelled <= 0:
        return risk_averse(ahead, after)
    back = max(0, before - traded - ahead)
    f_back = float(back) ** power
    f_front = float(ahead) ** power
    total = f_back + f_front
    p_behind = f_back / total if total > 0 else 1.0
    estimate = ahead - (1.0 - p_behind) * cancelled + min(back - p_behind * cancelled, 0.0)
    return max(0, min(after, math.ceil(estimate - _ROUNDING_SLACK)))


@dataclass(frozen=True, slots=True)
class QueueModel:
    """The model that moves `ahead` on a recorded level update; `power` is n of f(x) = x^n."""

    name: QueueModelName = "risk-averse"
    power: float = 2.0

    def __post_init__(self) -> None:
        if self.name not in QUEUE_MODELS:
            raise ValueError(f"queue model {self.name!r}: one of {', '.join(QUEUE_MODELS)}")
        if not 0 < self.power <= 10:
            raise ValueError(f"queue power {self.power}: 0 < n <= 10")

    def ahead_after(self, ahead: int, before: int, after: int, traded: int) -> int:
        """`ahead` once the level went from `before` to `after` lots (`traded` printed)."""
        if self.name == "risk-averse":
            return risk_averse(ahead, after)
        return probabilistic(ahead, before, after, traded, self.power)
