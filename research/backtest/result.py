"""A run's result as plain data: orders, fills, an equity series, a summary, the counters.

`Ledger` follows what the strategy is told (the executor's events, the feed's quotes) and
what it sends, and books every fill with `shared.pnl` (the average entry price method the
venue uses): realised PnL, fees, the position, and an equity point at each fill and every
`equity_interval` (marked at the last quote's mid). `BacktestResult` is msgspec Structs
with Decimal money: `to_json` gives the same bytes for the same run (no wall-clock time
in it), ready for the report, sweeps and parity checks that will read it.
"""

from decimal import Decimal
from typing import Any

import msgspec

from shared.pnl import Holding, apply_fill
from shared.schema import (
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    Quote,
    SubmitOrder,
)

ZERO = Decimal(0)
TWO = Decimal(2)
PNL_QUANTUM = Decimal("1E-10")  # PnL is shown to this (the venue books to 28 digits)


class FillRow(msgspec.Struct, frozen=True, kw_only=True):
    ts_ns: int  # when the strategy was told (the venue's fill + the response latency)
    client_order_id: str
    exec_id: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    is_maker: bool


class OrderRow(msgspec.Struct, kw_only=True):
    client_order_id: str
    submitted_ns: int
    side: str
    order_type: str
    time_in_force: str
    qty: Decimal
    limit_price: Decimal | None
    reduce_only: bool
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

    def on_command(self, command: SubmitOrder | CancelOrder | CancelAllOrders, now_ns: int) -> None:
        if isinstance(command, SubmitOrder):
            self.orders[command.client_order_id] = OrderRow(
                client_order_id=command.client_order_id,
                submitted_ns=now_ns,
                side=str(command.side),
                order_type=str(command.order_type),
                time_in_force=str(command.time_in_force),
                qty=command.qty,
                limit_price=command.limit_price,
                reduce_only=command.reduce_only,
            )

    def on_event(self, message: BusMessage, now_ns: int) -> None:
        """One message the strategy is told, at `now_ns`."""
        if isinstance(message, Quote):
            self.quote = message
        elif isinstance(message, OrderFilled | OrderPartiallyFilled):
            self._fill(message, now_ns)
        elif isinstance(message, OrderAccepted):
            self._status(message.client_order_id, "Accepted", "", 0)
        elif isinstance(message, OrderCanceled):
            self._status(message.client_order_id, "Canceled", message.reason, now_ns)
        elif isinstance(message, OrderRejected):
            self._status(message.client_order_id, "Rejected", message.reason, now_ns)
        elif isinstance(message, OrderDenied) and message.command_kind == "SubmitOrder":
            self._status(message.client_order_id, "Denied", message.reason, now_ns)

    def _status(self, order_id: str, status: str, reason: str, now_ns: int) -> None:
        row = self.orders.get(order_id)
        if row is not None and row.status not in ("Filled", "Canceled", "Rejected", "Denied"):
            row.status, row.reason, row.ended_ns = status, reason, now_ns

    def _fill(self, fill: OrderFilled | OrderPartiallyFilled, now_ns: int) -> None:
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
            )
        )
        signed = fill.fill_qty if fill.side is OrderSide.BUY else -fill.fill_qty
        before = self.holding.qty
        self.holding, realised = apply_fill(self.holding, signed, fill.fill_price)
        self.realised += realised
        self.fees += fill.fee
        if before and (not self.holding.qty or (before > 0) != (self.holding.qty > 0)):
            self.round_trips += 1
        row = self.orders.get(fill.client_order_id)
        if row is not None:
            row.filled_qty = fill.cum_filled_qty
            if isinstance(fill, OrderFilled):
                self._status(fill.client_order_id, "Filled", "", now_ns)
        self.sample(now_ns)

    def mid(self) -> Decimal:
        quote = self.quote
        return ZERO if quote is None else (quote.bid_price + quote.ask_price) / TWO

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
