"""An account's money history: transaction-log rows per fill and closed-PnL rows per order.

Pure bookkeeping fed once per fill, after the fill is booked (`record_fill`):

* a transaction row (type TRADE): qty, the signed position size after the fill, the fee,
  the cash flow (the realised PnL of the closed part) and the wallet balance after it, so
  the rows' `change` (cash flow - fee) add up to the wallet's change;
* a closed-PnL row per order that reduced a position (Bybit keeps one per closing order):
  entry and exit values of the closed size, its share of the fees paid opening the position
  (`openFee`) and of this order's fees (`closeFee`); closedPnl = exit - entry (the side's
  sign) - openFee - closeFee, the net the wallet got.

The fees paid opening are tracked per symbol and handed to the closing orders in
proportion to the size they close.
"""

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """What `record_fill` needs of one booked fill."""

    symbol: str
    order_id: str
    order_link_id: str
    exec_id: str
    is_buy: bool
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_rate: str
    closed_size: Decimal
    closed_pnl: Decimal  # gross, before fees
    size_after: Decimal  # signed position size after the fill
    wallet_after: Decimal
    time_ms: int
    leverage: Decimal = Decimal(10)  # the position's, at the fill


@dataclass(slots=True, eq=False)
class ClosedPnlRow:
    """The closed-PnL record of one closing order (grows with its fills)."""

    symbol: str
    order_id: str
    is_buy: bool
    created_ms: int
    updated_ms: int
    leverage: Decimal
    closed_size: Decimal = ZERO
    entry_value: Decimal = ZERO
    exit_value: Decimal = ZERO
    gross_pnl: Decimal = ZERO
    open_fee: Decimal = ZERO
    close_fee: Decimal = ZERO
    fills: int = 0

    @property
    def closed_pnl(self) -> Decimal:
        """The net realised PnL: gross - the open fee share - the close fee share."""
        return self.gross_pnl - self.open_fee - self.close_fee


@dataclass(slots=True, eq=False)
class Ledger:
    """One account's fills (transaction log) and closing orders (closed PnL), oldest first."""

    fills: deque[FillRecord] = field(default_factory=deque)  # the last ones (Account's cap)
    fills_dropped: int = 0  # let go of by the cap: the row numbers go on from them
    closed: dict[str, ClosedPnlRow] = field(default_factory=dict)  # by orderId
    open_fees: dict[str, Decimal] = field(default_factory=dict)  # per symbol, open size's fees

    def record_fill(self, fill: FillRecord) -> None:
        """Book one fill (after the account booked it)."""
        if len(self.fills) == self.fills.maxlen:
            self.fills_dropped += 1
        self.fills.append(fill)
        signed = fill.qty if fill.is_buy else -fill.qty
        held_before = abs(fill.size_after - signed)
        open_fee = self.open_fees.get(fill.symbol, ZERO)
        if fill.closed_size:
            share = open_fee * fill.closed_size / held_before if held_before else ZERO
            open_fee -= share
            close_fee = fill.fee * fill.closed_size / fill.qty
            self._close(fill, share, close_fee)
        opened = fill.qty - fill.closed_size
        if opened:
            open_fee += fill.fee * opened / fill.qty
        self.open_fees[fill.symbol] = open_fee if fill.size_after else ZERO

    def _close(self, fill: FillRecord, open_fee: Decimal, close_fee: Decimal) -> None:
        row = self.closed.get(fill.order_id)
        if row is None:
            row = self.closed[fill.order_id] = ClosedPnlRow(
                symbol=fill.symbol,
                order_id=fill.order_id,
                is_buy=fill.is_buy,
                created_ms=fill.time_ms,
                updated_ms=fill.time_ms,
                leverage=fill.leverage,
            )
        exit_value = fill.price * fill.closed_size
        # a buy closes a short: pnl = entry - exit; a sell closes a long: pnl = exit - entry
        entry_value = exit_value + fill.closed_pnl if fill.is_buy else exit_value - fill.closed_pnl
        row.closed_size += fill.closed_size
        row.entry_value += entry_value
        row.exit_value += exit_value
        row.gross_pnl += fill.closed_pnl
        row.open_fee += open_fee
        row.close_fee += close_fee
        row.fills += 1
        row.updated_ms = fill.time_ms


def time_window(
    start_ms: int | None, end_ms: int | None, now_ms: int, span_ms: int
) -> tuple[int, int]:
    """Bybit's history window: neither -> the last `span_ms`; one -> `span_ms` from it.

    Both given: [start, end], refused (ValueError) when end < start or it is longer than
    `span_ms`.
    """
    if start_ms is None and end_ms is None:
        return now_ms - span_ms, now_ms
    if end_ms is None:
        assert start_ms is not None
        return start_ms, start_ms + span_ms
    if start_ms is None:
        return end_ms - span_ms, end_ms
    if end_ms < start_ms or end_ms - start_ms > span_ms:
        raise ValueError("the time range between startTime and endTime is invalid or too long")
    return start_ms, end_ms
