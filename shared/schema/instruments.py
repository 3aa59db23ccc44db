"""An instrument's trading rules, and the feed's message carrying them to the strategy.

The rules come from the venue's instruments-info (public: no keys); the feed reads them
and publishes one `InstrumentRulesChanged` per symbol it serves, before that symbol's
FeedReady, on `md.rules.<SYMBOL>.` (kept in its snapshot for a late joiner).
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from shared.schema.base import Message, NanosSinceEpoch, Record, Symbol
from shared.schema.enums import OrderSide


class InstrumentRules(Record, frozen=True, kw_only=True):
    """What an order on one symbol must respect: tick, step, size and notional limits."""

    symbol: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal  # Limit and PostOnly orders
    max_mkt_qty: Decimal  # Market orders
    min_notional: Decimal

    def round_price(self, price: Decimal, side: OrderSide) -> Decimal:
        """Return `price` on the tick grid: down for a buy, up for a sell (never worse)."""
        rounding = ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING
        return (price / self.tick_size).to_integral_value(rounding=rounding) * self.tick_size

    def floor_qty(self, qty: Decimal) -> Decimal:
        """Return `qty` rounded down to the quantity step."""
        return (qty / self.qty_step).to_integral_value(rounding=ROUND_FLOOR) * self.qty_step

    def check(self, qty: Decimal, price: Decimal, *, market: bool = False) -> str | None:
        """Return why the venue would refuse `qty` at `price`, or None if it fits the rules.

        For a market order pass the expected fill price: it is used for min_notional.
        """
        reason = self.check_qty(qty, market=market)
        if reason is None and price <= 0:
            reason = f"price {price} not positive"
        if reason is None and not market and price % self.tick_size != 0:
            reason = f"price {price} not a multiple of tick_size {self.tick_size}"
        if reason is None and qty * price < self.min_notional:
            reason = f"notional {qty * price} below min_notional {self.min_notional}"
        return reason

    def check_qty(self, qty: Decimal, *, market: bool) -> str | None:
        """Why the venue would refuse `qty` (min, max, step), or None."""
        max_qty = self.max_mkt_qty if market else self.max_qty
        if qty < self.min_qty:
            return f"qty {qty} below min_qty {self.min_qty}"
        if qty > max_qty:
            return f"qty {qty} above max_qty {max_qty}"
        if qty % self.qty_step != 0:
            return f"qty {qty} not a multiple of qty_step {self.qty_step}"
        return None


class InstrumentRulesChanged(Message, frozen=True, kw_only=True):
    """The trading rules of a symbol the feed serves, as the venue states them now.

    Sent when the feed starts serving the symbol (before its FeedReady) and whenever it
    reads rules that differ; the last one of each symbol is in the feed's snapshot.
    """

    symbol: Symbol
    rules: InstrumentRules
    ts_event_ns: NanosSinceEpoch  # when the feed read them
