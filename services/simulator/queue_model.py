"""Queue position of our resting orders in a recorded market: the recorded lots ahead of us.

One model for the backtest, replay and the live market maker: this module re-exports
`shared.queue_position` (its `front` is the `ahead` below; `ahead_after` = `front_after`).

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

from shared.queue_position import (
    QUEUE_MODELS,
    QueueModel,
    QueueModelName,
    probabilistic,
    risk_averse,
)

__all__ = ["QUEUE_MODELS", "QueueModel", "QueueModelName", "probabilistic", "risk_averse"]
