"""A run's result as plain data: orders, fills, an equity series, a summary, the counters.

`Ledger` follows what the strategy is told (the executor's events, the feed's quotes) and
what it sends, and books every fill with `shared.pnl` (the average entry price method the
venue uses): realised PnL, fees, the position, and an equity point at each fill and every
`equity_interval` (marked at the last quote's mid). `BacktestResult` is msgspec Structs
with Decimal money: `to_json` gives the same bytes for the same run (no wall-clock time
in it), ready for the report, sweeps and parity checks that will read it.

For the report (research/report) it also keeps:
- each order's arrival mid: the mid of the last Quote when the SubmitOrder was sent (None
  before the first Quote);
- each fill's symbol, the position after it, the mid when the strategy was told of it and
  the mid `MARKOUT_HORIZONS_NS` (1 s, 5 s) after that. A markout is resolved by the first
  market message (Quote or Trade) later than its horizon, or by the end of the data
  (`data_ended`): the mid then in force is the last Quote's, as the feed publishes a Quote
  whenever the top of the book changes. One whose horizon lies past the last recorded
  frame stays None (unknown, never 0);
- `marks`: the mid, position, fees and equity on a regular time grid, one `MarkPoint` a
  bucket (the mid's low, high and last in it; the rest as of the bucket's last update;
  a bucket without a Quote or a fill is left out: nothing changed in it). Buckets start at
  `MARK_BUCKET_NS` (100 ms) wide from the first Quote and double in width whenever the
  run would need more than `MARK_POINTS_MAX` (20,000) of them, neighbours merged: a
  10-second run keeps 100 ms buckets, a full day 6.4 s ones. `mark_bucket_ns` says which.
"""

from collections import deque
from decimal import Decimal
from typing import Any, Final

import msgspec

from services.strategy.api import Command
from shared.pnl import Holding, apply_fill
from shared.schema import (
    BusMessage,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    Quote,
    SubmitOrder,
    SubmitOrders,
    Trade,
)

ZERO = Decimal(0)
TWO = Decimal(2)
PNL_QUANTUM = Decimal("1E-10")  # PnL is shown to this (the venue books to 28 digits)
NS_PER_S: Final = 1_000_000_000
MARKOUT_HORIZONS_NS: Final = (1 * NS_PER_S, 5 * NS_PER_S)  # mid_1s_after, mid_5s_after
MARK_BUCKET_NS: Final = 100_000_000  # the marks' first bucket width (doubles, see above)
MARK_POINTS_MAX: Final = 20_000
_MARKOUT_FIELDS: Final = ("mid_1s_after", "mid_5s_after")
_NEVER: Final = 1 << 62
_SUBMITS: Final = ("SubmitOrder", "SubmitOrders")


class FillRow(msgspec.Struct, frozen=True, kw_only=True):
    ts_ns: int  # when the strategy was told (the venue's fill + the response latency)
    client_order_id: str
    exec_id: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    is_maker: bool
    symbol: str = ""
    position_after: Decimal = ZERO  # the symbol's signed position after this fill
    mid_at_fill: Decimal | None = None  # the mid when the strategy was told (None: no quote)
    mid_1s_after: Decimal | None = None  # None: unknown (the data ended first)
    mid_5s_after: Decimal | None = None


class OrderRow(msgspec.Struct, kw_only=True):
    client_order_id: str
    submitted_ns: int
    side: str
    order_type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    reduce_only: bool
    symbol: str = ""
    arrival_mid: Decimal | None = None  # the last Quote's mid when sent (None: no quote yet)
    status: str = "Submitted"
    filled_qty: Decimal = ZERO
    reason: str = ""
    ended_ns: int = 0


class EquityPoint(msgspec.Struct, frozen=True, array_like=True):
    """[ts_ns, position qty, mid, realised PnL, fees, unrealised PnL, equity]"""

    ts_ns: int
    position_qty: Decimal
    mid: Decimal
    realised_pnl: Decimal
    fees: Decimal
    unrealised_pnl: Decimal
    equity: Decimal


class MarkPoint(msgspec.Struct, frozen=True, array_like=True):
    """[bucket start ns, mid low, mid high, mid last, position qty, fees, equity]: one
    bucket of the marks grid; position, fees (cumulative) and equity as of its last update."""

    ts_ns: int
    mid_low: Decimal
    mid_high: Decimal
    mid_last: Decimal
    position_qty: Decimal
    fees: Decimal
    equity: Decimal


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    first_ns: int
    last_ns: int
    frames: int
    orders: int
    entries: int
    round_trips: int
    fills: int
    maker_fills: int
    taker_fills: int
    maker_share: str  # of fills, by count ("" when none)
    position_qty: Decimal
    realised_pnl: Decimal  # before fees
    unrealised_pnl: Decimal  # the position at the last mid
    pnl_gross: Decimal  # realised + unrealised
    fees: Decimal  # paid (a maker rebate is negative)
    pnl_net: Decimal  # gross - fees
    venue_wallet_change: Decimal  # the venue's wallet balance, end - start
    ledger_matches_venue: bool  # |realised - fees - venue_wallet_change| < 1e-8 (its grid)


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    settings: dict[str, Any]
    summary: Summary
    counters: dict[str, dict[str, int]]
    orders: list[OrderRow]
    fills: list[FillRow]
    equity: list[EquityPoint]
    marks: list[MarkPoint] = []
    mark_bucket_ns: int = MARK_BUCKET_NS  # the width of the marks' buckets
    starting_balance: Decimal = ZERO

    def to_json(self) -> bytes:
        """The result as JSON: the same run gives the same bytes."""
        return msgspec.json.encode(self, order="deterministic")


class Ledger:
    """Books what the strategy sends and is told (see the module docstring)."""

    def __init__(self, starting_balance: Decimal) -> None:
        self.starting_balance = starting_balance
        self.holding = Holding()
        self.realised = ZERO
        self.fees = ZERO
        self.round_trips = 0
        self.orders: dict[str, OrderRow] = {}
        self.fills: list[FillRow] = []
        self.equity: list[EquityPoint] = []
        self.quote: Quote | None = None
        self._mid: Decimal | None = None  # the last Quote's
        self.marks: list[MarkPoint] = []  # closed buckets (marks_now: with the open one)
        self.mark_bucket_ns = MARK_BUCKET_NS
        self._mark_origin_ns: int | None = None
        self._open_start: int | None = None
        self._open_low = self._open_high = ZERO
        # fills waiting for their markouts, per horizon: (due ns, index in self.fills)
        self._markouts: tuple[deque[tuple[int, int]], ...] = tuple(
            deque() for _ in MARKOUT_HORIZONS_NS
        )
        self._next_markout_ns = _NEVER  # the earliest due (a fast path for every Quote)

    def on_command(self, command: Command, now_ns: int) -> None:
        """Book each order a command places (alone or in a batch); amends and cancels are
        booked from their events."""
        if isinstance(command, SubmitOrders):
            for order in command.orders:
                self.on_command(order, now_ns)
        elif isinstance(command, SubmitOrder):
            self.orders[command.client_order_id] = OrderRow(
                client_order_id=command.client_order_id,
                submitted_ns=now_ns,
                side=str(command.side),
                order_type=str(command.order_type),
                time_in_force=str(command.time_in_force),
                qty=command.qty,
                limit_price=command.limit_price,
                reduce_only=command.reduce_only,
                symbol=str(command.symbol),
                arrival_mid=self.mid_of(command.symbol),
            )

    def on_event(self, message: BusMessage, now_ns: int) -> None:
        """One message the strategy is told, at `now_ns`."""
        if isinstance(message, Quote):
            self._roll(now_ns)
            if now_ns > self._next_markout_ns:
                self._resolve_markouts(now_ns, inclusive=False)
            self.quote = message
            mid = self._mid = (message.bid_price + message.ask_price) / TWO
            if now_ns >= self._next_markout_ns:
                self._resolve_markouts(now_ns, inclusive=True)
            self._touch(now_ns, mid)
        elif isinstance(message, Trade) and now_ns > self._next_markout_ns:
            self._resolve_markouts(now_ns, inclusive=False)
        elif isinstance(message, OrderFilled | OrderPartiallyFilled):
            self._fill(message, now_ns)
        else:
            self._order_news(message, now_ns)

    def _order_news(self, message: BusMessage, now_ns: int) -> None:
        """An order's answer: its row's status, or (an amend the venue took) qty and price."""
        if isinstance(message, OrderAccepted):
            self._status(message.client_order_id, "Accepted", "", 0)
        elif isinstance(message, OrderCanceled):
            self._status(message.client_order_id, "Canceled", message.reason, now_ns)
        elif isinstance(message, OrderRejected):
            self._status(message.client_order_id, "Rejected", message.reason, now_ns)
        elif isinstance(message, OrderDenied) and message.command_kind in _SUBMITS:
            self._status(message.client_order_id, "Denied", message.reason, now_ns)
        elif isinstance(message, OrderAmended):
            row = self.orders.get(message.client_order_id)
            if row is not None:
                row.qty, row.limit_price = message.qty, message.limit_price

    def _status(self, order_id: str, status: str, reason: str, now_ns: int) -> None:
        row = self.orders.get(order_id)
        if row is not None and row.status not in ("Filled", "Canceled", "Rejected", "Denied"):
            row.status, row.reason, row.ended_ns = status, reason, now_ns

    def _fill(self, fill: OrderFilled | OrderPartiallyFilled, now_ns: int) -> None:
        self._roll(now_ns)
        before = self.holding
        self.holding, realised = apply_fill(before, signed_qty(fill), fill.fill_price)
        self._book(
            fill,
            now_ns,
            realised=realised,
            before=before.qty,
            after=self.holding.qty,
            mid=self._mid,
            markouts=self._markouts,
        )
        self._next_markout_ns = min(self._next_markout_ns, now_ns + MARKOUT_HORIZONS_NS[0])

    def _book(  # noqa: PLR0913 -- a fill and what its symbol's book knows of it
        self,
        fill: OrderFilled | OrderPartiallyFilled,
        now_ns: int,
        *,
        realised: Decimal,
        before: Decimal,
        after: Decimal,
        mid: Decimal | None,
        markouts: tuple[deque[tuple[int, int]], ...],
    ) -> None:
        """Book a fill its symbol's position went `before` -> `after` with (`mid` its
        symbol's, `markouts` its symbol's waiting ones): the row, PnL, fees, round trips,
        the order's row, an equity point and the marks."""
        self.fills.append(
            FillRow(
                ts_ns=now_ns,
                client_order_id=fill.client_order_id,
                exec_id=fill.exec_id,
                side=str(fill.side),
                qty=fill.fill_qty,
                price=fill.fill_price,
                fee=fill.fee,
                is_maker=fill.is_maker,
                symbol=str(fill.symbol),
                position_after=after,
                mid_at_fill=mid,
            )
        )
        for horizon_ns, pending in zip(MARKOUT_HORIZONS_NS, markouts, strict=True):
            pending.append((now_ns + horizon_ns, len(self.fills) - 1))
        self.realised += realised
        self.fees += fill.fee
        if before and (not after or (before > 0) != (after > 0)):
            self.round_trips += 1
        row = self.orders.get(fill.client_order_id)
        if row is not None:
            row.filled_qty = fill.cum_filled_qty
            if isinstance(fill, OrderFilled):
                self._status(fill.client_order_id, "Filled", "", now_ns)
        self.sample(now_ns)
        if self._mid is not None:
            self._touch(now_ns, self._mid)

    def data_ended(self, last_recv_ns: int) -> None:
        """The recording ends at `last_recv_ns`: the market is known up to then, so the
        markouts due by then take the mid in force; later ones stay unknown."""
        self._resolve_markouts(last_recv_ns, inclusive=True)

    def _resolve_markouts(self, now_ns: int, *, inclusive: bool) -> None:
        """Markouts due before `now_ns` (or at it, `inclusive`) take the mid in force."""
        mid = self._mid
        if mid is None:
            return
        self._next_markout_ns = settle_markouts(
            self.fills, self._markouts, mid, now_ns, inclusive=inclusive
        )

    # -- the marks grid: the open bucket is kept as its start, low and high; it is closed
    # (a MarkPoint with the state then) when a change comes in a later bucket, so `_roll`
    # runs before the state changes and `_touch` after.

    def _roll(self, now_ns: int) -> None:
        """Before a change at `now_ns`: close the open bucket if `now_ns` is past it, and
        widen the grid if `now_ns` is past its last bucket."""
        origin = self._mark_origin_ns
        if origin is None:
            return
        if now_ns - origin >= self.mark_bucket_ns * MARK_POINTS_MAX:
            self._close()
            while now_ns - origin >= self.mark_bucket_ns * MARK_POINTS_MAX:
                self._widen_marks()
        elif self._open_start is not None and now_ns - self._open_start >= self.mark_bucket_ns:
            self._close()

    def _touch(self, now_ns: int, mid: Decimal) -> None:
        """After a change at `now_ns`: the open bucket takes the mid."""
        if self._open_start is None:
            origin = self._mark_origin_ns
            if origin is None:
                origin = self._mark_origin_ns = now_ns
            width = self.mark_bucket_ns
            self._open_start = origin + (now_ns - origin) // width * width
            self._open_low = self._open_high = mid
        elif mid < self._open_low:
            self._open_low = mid
        elif mid > self._open_high:
            self._open_high = mid

    def _open_point(self) -> MarkPoint | None:
        """The open bucket with the state now (None without one)."""
        start, mid = self._open_start, self._mid
        if start is None or mid is None:
            return None
        low, high = self._open_low, self._open_high
        return MarkPoint(start, low, high, mid, self.holding.qty, self.fees, self.equity_now())

    def _close(self) -> None:
        point = self._open_point()
        self._open_start = None
        if point is None:
            return
        marks = self.marks
        if marks and marks[-1].ts_ns == point.ts_ns:  # the grid widened under it
            prev = marks[-1]
            low, high = min(prev.mid_low, point.mid_low), max(prev.mid_high, point.mid_high)
            marks[-1] = msgspec.structs.replace(point, mid_low=low, mid_high=high)
        else:
            marks.append(point)

    def marks_now(self) -> list[MarkPoint]:
        """The marks so far, the open bucket included (as of the last change)."""
        point = self._open_point()
        if point is None:
            return list(self.marks)
        if self.marks and self.marks[-1].ts_ns == point.ts_ns:
            prev = self.marks[-1]
            low, high = min(prev.mid_low, point.mid_low), max(prev.mid_high, point.mid_high)
            return [*self.marks[:-1], msgspec.structs.replace(point, mid_low=low, mid_high=high)]
        return [*self.marks, point]

    def _widen_marks(self) -> None:
        """Double the marks' bucket width, merging neighbours (low, high; the later last)."""
        origin, width = self._mark_origin_ns or 0, self.mark_bucket_ns * 2
        merged: list[MarkPoint] = []
        for point in self.marks:
            start = origin + (point.ts_ns - origin) // width * width
            if merged and merged[-1].ts_ns == start:
                prev = merged[-1]
                merged[-1] = msgspec.structs.replace(
                    point,
                    ts_ns=start,
                    mid_low=min(prev.mid_low, point.mid_low),
                    mid_high=max(prev.mid_high, point.mid_high),
                )
            else:
                merged.append(msgspec.structs.replace(point, ts_ns=start))
        self.marks, self.mark_bucket_ns = merged, width

    def known_mid(self) -> Decimal | None:
        """The last Quote's mid; None before the first Quote."""
        return self._mid

    def mid_of(self, symbol: str) -> Decimal | None:
        """The last Quote's mid of `symbol` (one symbol: the run's); None before one."""
        return self._mid

    def equity_now(self) -> Decimal:
        """Starting balance + realised - fees + unrealised, to `PNL_QUANTUM`."""
        equity = self.starting_balance + self.realised - self.fees + self.unrealised()
        return equity.quantize(PNL_QUANTUM)

    def mid(self) -> Decimal:
        return ZERO if self._mid is None else self._mid

    def unrealised(self) -> Decimal:
        holding = self.holding
        if not holding.qty:
            return ZERO
        return (holding.qty * (self.mid() - holding.entry_price)).quantize(PNL_QUANTUM)

    def sample(self, now_ns: int) -> None:
        """An equity point now."""
        unrealised = self.unrealised()
        equity = self.starting_balance + self.realised - self.fees + unrealised
        self.equity.append(
            EquityPoint(
                now_ns,
                self.holding.qty,
                self.mid(),
                self.realised.quantize(PNL_QUANTUM),
                self.fees,
                unrealised,
                equity.quantize(PNL_QUANTUM),
            )
        )


def signed_qty(fill: OrderFilled | OrderPartiallyFilled) -> Decimal:
    """The fill's qty, negative for a sell."""
    return fill.fill_qty if fill.side is OrderSide.BUY else -fill.fill_qty


def settle_markouts(
    fills: list[FillRow],
    markouts: tuple[deque[tuple[int, int]], ...],
    mid: Decimal,
    now_ns: int,
    *,
    inclusive: bool,
) -> int:
    """The `markouts` (one queue a horizon of (due ns, index in `fills`)) due before
    `now_ns` (or at it, `inclusive`) take `mid`; returns the earliest due left."""
    for field, pending in zip(_MARKOUT_FIELDS, markouts, strict=True):
        while pending and (pending[0][0] < now_ns or (inclusive and pending[0][0] == now_ns)):
            _, index = pending.popleft()
            fills[index] = msgspec.structs.replace(fills[index], **{field: mid})
    return min((p[0][0] for p in markouts if p), default=_NEVER)
