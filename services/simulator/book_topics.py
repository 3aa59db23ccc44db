"""What the public orderbook topics send: snapshots and deltas of the top levels (pure)."""

from dataclasses import dataclass, field
from decimal import Decimal

Levels = list[tuple[Decimal, Decimal]]
ZERO = Decimal(0)


@dataclass
class BookTopic:
    """The last top-`depth` book sent on orderbook.<depth>.<symbol>, and its update id.

    Every change sent moves `u` and `seq` on by one (`u` by two when a gap is injected).
    """

    symbol: str
    depth: int
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    u: int = 0
    seq: int = 0

    def update(
        self, bids: Levels, asks: Levels, *, skip_u: bool = False
    ) -> tuple[Levels, Levels] | None:
        """Take the venue's current top levels; return the delta (size 0 deletes), or None."""
        new_bids, new_asks = dict(bids[: self.depth]), dict(asks[: self.depth])
        delta_bids = _diff(self.bids, new_bids, reverse=True)
        delta_asks = _diff(self.asks, new_asks, reverse=False)
        if not delta_bids and not delta_asks:
            return None
        self.bids, self.asks = new_bids, new_asks
        self.u += 2 if skip_u else 1
        self.seq += 1
        return delta_bids, delta_asks

    def cross(self, tick: Decimal) -> tuple[Levels, Levels] | None:
        """Inject a bid at the best ask (a crossed book); the next update removes it."""
        if not self.asks:
            return None
        price = min(self.asks) + tick
        self.bids[price] = Decimal(1)
        self.u += 1
        self.seq += 1
        return [(price, Decimal(1))], []

    def snapshot(self) -> tuple[Levels, Levels]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


def _diff(old: dict[Decimal, Decimal], new: dict[Decimal, Decimal], *, reverse: bool) -> Levels:
    changed = [(p, q) for p, q in new.items() if old.get(p) != q]
    removed = [(p, ZERO) for p in old if p not in new]
    return sorted(changed + removed, key=lambda level: level[0], reverse=reverse)
