"""Fast-cancel: pull a quote the market is about to trade through, at once, outside the cycle.

Checked on every book update and every trade, never waiting for the requote cycle. A quote
is pulled when (units in brackets):
- the mid moved toward it since it was sent, repriced or last kept by the cycle by at least
  `mid_move_ticks` [ticks] or `mid_move_bps` [bps of the mid it was sent at]: a bid when the
  mid falls, an ask when the mid rises; either threshold is off when None;
- a trade prints at or through its price (a sell at or below our bid, a buy at or above our
  ask): the level is being taken and what follows is adverse (`on_trade_at_price=False`
  pulls only on trades strictly through it).
A quote already pending cancel is not pulled again. Pure: the caller sends the cancels.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.strategy.mm.quote_book import QuoteStatus, WorkingQuote
from shared.schema import OrderSide, Trade

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class FastCancelKnobs:
    mid_move_ticks: int | None = 2  # toward the quote since the cycle set it; None: off
    mid_move_bps: Decimal | None = Decimal(2)  # the same in bps of the mid at sending
    on_trade_at_price: bool = True  # a trade at our price pulls too (not only through it)


def mid_move_toward(quote: WorkingQuote, mid: Decimal) -> Decimal:
    """Return how far the mid moved toward the quote since `ref_mid` [price units, >= 0]."""
    moved = quote.ref_mid - mid if quote.side is OrderSide.BUY else mid - quote.ref_mid
    return max(moved, Decimal(0))


def threatened_by_mid(
    quote: WorkingQuote, mid: Decimal, tick_size: Decimal, knobs: FastCancelKnobs
) -> bool:
    """Whether the mid moved toward `quote` beyond either threshold (ticks or bps)."""
    moved = mid_move_toward(quote, mid)
    if moved <= 0:
        return False
    if knobs.mid_move_ticks is not None and moved >= knobs.mid_move_ticks * tick_size:
        return True
    return (
        knobs.mid_move_bps is not None
        and quote.ref_mid > 0
        and moved / quote.ref_mid * BPS >= knobs.mid_move_bps
    )


def threatened_by_trade(quote: WorkingQuote, trade: Trade, knobs: FastCancelKnobs) -> bool:
    """Whether `trade` printed at (if enabled) or through the quote's price, on its side."""
    if trade.symbol != quote.symbol:
        return False
    if quote.side is OrderSide.BUY:
        hits = trade.taker_side is OrderSide.SELL
        through, at = trade.price < quote.price, trade.price == quote.price
    else:
        hits = trade.taker_side is OrderSide.BUY
        through, at = trade.price > quote.price, trade.price == quote.price
    return hits and (through or (at and knobs.on_trade_at_price))


def pullable(quotes: Iterable[WorkingQuote]) -> list[WorkingQuote]:
    """Return the quotes a pull may still cancel (all but those pending cancel)."""
    return [q for q in quotes if q.status is not QuoteStatus.PENDING_CANCEL]
