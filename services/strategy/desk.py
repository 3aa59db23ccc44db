"""The scalper's order desk: the commands it sends, each booked as it goes out.

`OrderDesk` is one part of `machine.MomentumScalper` (see core.py for how the parts fit). It
makes entries, reduce-only Market IOC exits and cancels with the `OrderFactory` (ids,
time to live, the trigger's times and trace id), adds every order sent to the `Book`, and
holds an exit back until `Holding`'s retry time. It decides no state: the caller does.
"""

from services.strategy.api import Output
from services.strategy.book import WorkingOrder
from services.strategy.exits import Holding
from services.strategy.market import Facts
from services.strategy.orders import EntryPlan, Listing, OrderFactory
from services.strategy.settings import StrategySettings
from shared.schema import OrderSide, SubmitOrder


class OrderDesk:
    """Sends entries, exits and cancels for the book, at the market view's trigger."""

    def __init__(
        self,
        settings: StrategySettings,
        *,
        facts: Facts,
        holding: Holding,
        last_seq: int = 0,
    ) -> None:
        self.factory = OrderFactory(settings.strategy_id, settings.command_ttl_ms)
        self.factory.last_seq = last_seq
        self._book = facts.book
        self._market = facts.market
        self._holding = holding
        self._counters = facts.counters

    def enter(self, plan: EntryPlan, listing: Listing, now_ns: int) -> SubmitOrder:
        """The entry order of `plan`, booked as working."""
        command = self.factory.entry(plan, listing, self._market.trigger, now_ns)
        self._book.add(command)
        return command

    def send_exit(self, reason: str, now_ns: int, out: list[Output]) -> bool:
        """Send a reduce-only Market IOC for the position, unless one works or must wait."""
        book, market = self._book, self._market
        if not book.qty or book.symbol is None or book.exit_order() is not None:
            return False
        if self._holding.must_wait(now_ns):
            self._counters["exit_retry_wait"] += 1
            return False
        qty = abs(book.qty)
        rules = market.rules.get(book.symbol)
        if rules is not None:
            qty = min(qty, rules.floor_qty(rules.max_mkt_qty))
        side = OrderSide.SELL if book.qty > 0 else OrderSide.BUY
        epoch = market.listing.epoch if market.listing is not None else 0
        listing = Listing(book.symbol, epoch)
        command = self.factory.exit(listing, side, qty, market.trigger, now_ns)
        book.add(command)
        self._counters[f"exit_{reason}"] += 1
        out.append(command)
        return True

    def cancel(self, order: WorkingOrder, now_ns: int, out: list[Output]) -> None:
        """Cancel `order` once (again only after a refused cancel's retry time)."""
        if order.cancel_sent or now_ns < order.next_cancel_ns:
            return
        order.cancel_sent = True
        # On a timer no frame decides: the latest frame seen for the symbol stands in.
        trace_id = self._market.trigger.trace_id
        out.append(self.factory.cancel(order.symbol, order.client_order_id, now_ns, trace_id))

    def cancel_entries(self, now_ns: int, out: list[Output]) -> None:
        """Cancel every working entry (exits are left to run)."""
        for order in list(self._book.orders.values()):
            if not order.reduce_only:
                self.cancel(order, now_ns, out)
