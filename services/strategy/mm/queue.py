"""Live queue estimate of each working quote, and what its place in the queue is worth.

The model is the backtest venue's (shared.queue_position), in integer lots (qty / qty step):
a quote joins behind the market's displayed qty at its price; a trade at its price moves it
up (`trade_at_price`); a trade through its price means the whole queue traded (front 0);
an update of its level moves it by the chosen QueueModel (risk-averse or probabilistic),
with the lots printed there since the level's previous update as `traded`. The live book
shows our own order once it rests, so our own lots are taken off the level's displayed qty.

Queue value, the rule queue-aware placement compares (units in brackets):
    p_fill = exp(-ahead_qty / (rate_qty_per_s * horizon_s))           [probability, 0..1]
the chance that the qty traded against our side within `horizon_s` [s], taken as
exponentially distributed with mean `rate_qty_per_s * horizon_s` [qty], exceeds the qty
ahead of us [qty] (our level's front plus every better level's qty);
    edge_bps = (fair - price) / fair * 1e4 for a bid, (price - fair) / fair * 1e4 for an ask
    value_bps = p_fill * edge_bps                                      [bps per quote]
the expected edge the quote earns within the horizon. No flow (rate 0) is worth nothing.
"""

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from shared.queue_position import QueueModel, front_on_join, trade_at_price
from shared.schema import BookLevel, BookLevels, ClientOrderId, OrderSide, Symbol, Trade

NS_PER_S = 1_000_000_000
BPS = 10_000.0
Flow = tuple[int, float]  # (now_ns, horizon_s) for a queue value


def to_lots(qty: Decimal, qty_step: Decimal) -> int:
    """Return `qty` in whole lots of `qty_step` (floored)."""
    return int((qty / qty_step).to_integral_value(rounding=ROUND_FLOOR))


def fill_probability(ahead_qty: float, rate_qty_per_s: float, horizon_s: float) -> float:
    """Return exp(-ahead / (rate * horizon)): the chance the flow reaches past `ahead_qty`."""
    expected_qty = rate_qty_per_s * horizon_s
    if expected_qty <= 0:
        return 0.0
    return math.exp(-max(ahead_qty, 0.0) / expected_qty)


def edge_bps(price: Decimal, fair: Decimal, side: OrderSide) -> float:
    """Return what a fill at `price` earns against `fair`, in bps of fair (negative: loses)."""
    if fair <= 0:
        return 0.0
    signed = fair - price if side is OrderSide.BUY else price - fair
    return float(signed / fair) * BPS


def queue_value_bps(
    ahead_qty: float, price: Decimal, fair: Decimal, side: OrderSide, flow: tuple[float, float]
) -> float:
    """Return p_fill * edge_bps for a quote at `price`; `flow` is (rate_qty_per_s, horizon_s)."""
    rate_qty_per_s, horizon_s = flow
    return fill_probability(ahead_qty, rate_qty_per_s, horizon_s) * edge_bps(price, fair, side)


def qty_ahead_of_new(levels: Iterable[BookLevel], price: Decimal, side: OrderSide) -> Decimal:
    """Return the displayed qty a new order at `price` queues behind: its level and better."""
    is_bid = side is OrderSide.BUY
    return sum(
        (lvl.qty for lvl in levels if (lvl.price >= price if is_bid else lvl.price <= price)),
        Decimal(0),
    )


def qty_better_than(levels: Iterable[BookLevel], price: Decimal, side: OrderSide) -> Decimal:
    """Return the displayed qty at prices strictly better than `price` on `side`."""
    is_bid = side is OrderSide.BUY
    return sum(
        (lvl.qty for lvl in levels if (lvl.price > price if is_bid else lvl.price < price)),
        Decimal(0),
    )


@dataclass(slots=True)
class FlowRate:
    """Traded qty per second against one side, an exponentially decayed sum over `tau_ns`.

    rate = S / tau, S decays by exp(-dt / tau) and grows by each trade's qty [qty / s].
    """

    tau_ns: int
    _sum_qty: float = 0.0
    _last_ns: int = 0

    def observe(self, qty: Decimal, now_ns: int) -> None:
        self._decay(now_ns)
        self._sum_qty += float(qty)

    def rate_qty_per_s(self, now_ns: int) -> float:
        self._decay(now_ns)
        return self._sum_qty / (self.tau_ns / NS_PER_S)

    def _decay(self, now_ns: int) -> None:
        if now_ns > self._last_ns:
            self._sum_qty *= math.exp(-(now_ns - self._last_ns) / self.tau_ns)
            self._last_ns = now_ns


@dataclass(slots=True)
class QueueSpot:
    """One working quote's place: lots ahead of it (`front`) and its level's market lots."""

    symbol: Symbol
    side: OrderSide
    price: Decimal
    qty_step: Decimal
    own_lots: int
    front: int
    level_lots: int  # the market's lots at our price at the level's last update
    traded_lots: int = 0  # printed at our price since that update

    @property
    def front_qty(self) -> Decimal:
        return self.front * self.qty_step


@dataclass(slots=True)
class QueueBoard:
    """The queue estimates of all working quotes, fed by book levels and trades."""

    model: QueueModel
    flow_tau_ns: int
    spots: dict[ClientOrderId, QueueSpot] = field(default_factory=dict)
    books: dict[Symbol, BookLevels] = field(default_factory=dict)
    flows: dict[tuple[Symbol, OrderSide], FlowRate] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)

    def place(
        self,
        order_id: ClientOrderId,
        symbol: Symbol,
        side: OrderSide,
        price: Decimal,
        leaves: tuple[Decimal, Decimal],
    ) -> QueueSpot:
        """Join (or rejoin) the back of the level at `price`; `leaves` is (qty, qty_step)."""
        qty, step = leaves
        shown = _level_qty(self.books.get(symbol), side, price) or Decimal(0)
        market = front_on_join(to_lots(shown, step))
        spot = QueueSpot(symbol, side, price, step, to_lots(qty, step), market, market)
        self.spots[order_id] = spot
        return spot

    def resize(self, order_id: ClientOrderId, price: Decimal, leaves_qty: Decimal) -> None:
        """Apply an amend or a fill: a new price or more lots rejoin; fewer lots keep the place."""
        spot = self.spots.get(order_id)
        if spot is None:
            self.counters["resize_without_spot"] += 1  # amended or filled before its ack
            return
        lots = to_lots(leaves_qty, spot.qty_step)
        if price != spot.price or lots > spot.own_lots:
            self.place(order_id, spot.symbol, spot.side, price, (leaves_qty, spot.qty_step))
        else:
            spot.own_lots = lots

    def remove(self, order_id: ClientOrderId) -> None:
        self.spots.pop(order_id, None)

    def on_book(self, levels: BookLevels) -> None:
        """Move every spot of the symbol by its level's new displayed qty."""
        self.books[levels.symbol] = levels
        for spot in self.spots.values():
            if spot.symbol != levels.symbol:
                continue
            shown = _level_qty(levels, spot.side, spot.price)
            if shown is None:
                continue  # deeper than the levels shown: unknown, unchanged
            after = max(0, to_lots(shown, spot.qty_step) - spot.own_lots)
            spot.front = self.model.front_after(
                spot.front, spot.level_lots, after, spot.traded_lots
            )
            spot.level_lots, spot.traded_lots = after, 0

    def on_trade(self, trade: Trade, now_ns: int) -> dict[ClientOrderId, int]:
        """Move the spots the trade reached; return the lots it should have filled, per quote."""
        maker = OrderSide.BUY if trade.taker_side is OrderSide.SELL else OrderSide.SELL
        flow = self.flows.setdefault((trade.symbol, maker), FlowRate(self.flow_tau_ns))
        flow.observe(trade.qty, now_ns)
        reached: dict[ClientOrderId, int] = {}
        for order_id, spot in self.spots.items():
            if spot.symbol != trade.symbol or spot.side is not maker:
                continue
            lots = to_lots(trade.qty, spot.qty_step)
            if trade.price == spot.price:
                spot.front, excess = trade_at_price(spot.front, lots)
                spot.traded_lots += lots
            elif (trade.price < spot.price) == (maker is OrderSide.BUY):
                spot.front, excess = 0, spot.own_lots  # through our price: the queue is gone
            else:
                continue
            if excess > 0:
                reached[order_id] = min(excess, spot.own_lots)
        return reached

    def keep_and_move_bps(
        self, order_id: ClientOrderId, target_price: Decimal, fair: Decimal, flow_horizon: Flow
    ) -> tuple[float, float]:
        """Return the queue values [bps] of the quote where it is and of a new one at
        `target_price`; (0, 0) when its place or the book is unknown. `flow_horizon` is
        (now_ns, horizon_s)."""
        spot = self.spots.get(order_id)
        levels = None if spot is None else self.books.get(spot.symbol)
        if spot is None or levels is None:
            return (0.0, 0.0)
        side, price = spot.side, spot.price
        book = levels.bids if side is OrderSide.BUY else levels.asks
        now_ns, horizon_s = flow_horizon
        flow = (self.rate_qty_per_s(spot.symbol, side, now_ns), horizon_s)
        keep_ahead = qty_better_than(book, price, side) + spot.front_qty
        move_ahead = qty_ahead_of_new(book, target_price, side)
        if (price >= target_price) == (side is OrderSide.BUY):  # our own order is counted there
            move_ahead = max(Decimal(0), move_ahead - spot.own_lots * spot.qty_step)
        keep = queue_value_bps(float(keep_ahead), price, fair, side, flow)
        return (keep, queue_value_bps(float(move_ahead), target_price, fair, side, flow))

    def decay_flow(self, order_id: ClientOrderId, now_ns: int) -> None:
        """Decay the flow rate `keep_and_move_bps` would read for `order_id` to `now_ns`, as
        that call does, without the values (the rate's float state moves the same steps)."""
        spot = self.spots.get(order_id)
        if spot is not None and spot.symbol in self.books:
            self.rate_qty_per_s(spot.symbol, spot.side, now_ns)

    def rate_qty_per_s(self, symbol: Symbol, side: OrderSide, now_ns: int) -> float:
        """Return the traded qty per second against `side` of `symbol` (0 before any trade)."""
        flow = self.flows.get((symbol, side))
        return 0.0 if flow is None else flow.rate_qty_per_s(now_ns)


def _level_qty(levels: BookLevels | None, side: OrderSide, price: Decimal) -> Decimal | None:
    """The displayed qty at `price`: 0 for an empty level inside the levels shown, None when
    `price` is deeper than the levels shown (or no book yet)."""
    if levels is None:
        return None
    book = levels.bids if side is OrderSide.BUY else levels.asks
    for level in book:
        if level.price == price:
            return level.qty
    if not book:
        return Decimal(0)
    deepest = book[-1].price
    inside = price > deepest if side is OrderSide.BUY else price < deepest
    return Decimal(0) if inside else None


def mid_price(levels: BookLevels) -> Decimal | None:
    """Return the mid of the best bid and ask, None when a side is empty."""
    if not levels.bids or not levels.asks:
        return None
    return (levels.bids[0].price + levels.asks[0].price) / 2
