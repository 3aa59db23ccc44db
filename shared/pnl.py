"""A position's realised PnL fill by fill, by the average entry price method Bybit uses.

A fill that adds to a position (or opens one) moves its average entry price; a fill that
reduces it leaves the entry where it is and realises `closed qty * (price - entry)` (the
opposite sign for a short); a fill that crosses zero closes the whole position and opens
the rest at its own price. Fees are the caller's: Bybit's realised PnL is this minus every
fill's fee (a maker rebate is a negative fee).

Pure: no I/O, no clock.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Holding:
    """A signed position (short < 0) and its average entry price (0 while flat)."""

    qty: Decimal = ZERO
    entry_price: Decimal = ZERO


def apply_fill(holding: Holding, signed_qty: Decimal, price: Decimal) -> tuple[Holding, Decimal]:
    """Return the holding after a fill of `signed_qty` (a buy > 0) at `price`, and the PnL
    the fill realised, before fees."""
    qty, entry = holding.qty, holding.entry_price
    if signed_qty == 0:
        return holding, ZERO
    if qty == 0 or (qty > 0) == (signed_qty > 0):  # opens or adds
        total = qty + signed_qty
        moved = (abs(qty) * entry + abs(signed_qty) * price) / abs(total)
        return Holding(total, moved), ZERO
    closed = min(abs(signed_qty), abs(qty))
    realised = closed * (price - entry) * (1 if qty > 0 else -1)
    rest = qty + signed_qty
    if rest == 0:
        return Holding(), realised
    if (rest > 0) == (qty > 0):  # reduced: the entry stays
        return Holding(rest, entry), realised
    return Holding(rest, price), realised  # flipped: the rest opened at the fill's price
