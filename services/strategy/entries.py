"""The scalper's entries: |momentum| above the threshold in Idle becomes one entry order.

`Entries` is one part of `machine.MomentumScalper` (see core.py for how the parts fit). It
reads the momentum from the market view's trade window, asks the market view and the
`EntryGate` what blocks an entry, sizes and routes it (`orders.plan_entry`), sends it through
the `OrderDesk` and moves the state machine to EntryPending. A signal that cannot be sized
is an `EntrySkipped` when its reason changes. It also times out a PostOnly entry.
"""

from decimal import Decimal

from services.strategy.api import EntrySkipped, Output
from services.strategy.core import ScalperCore, State
from services.strategy.desk import OrderDesk
from services.strategy.market import Facts
from services.strategy.orders import EntryKnobs, NoTrade, plan_entry
from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S, EntryGate
from shared.schema import OrderSide


class Entries:
    """Enters on the momentum signal when nothing blocks it; cancels a stale PostOnly entry."""

    def __init__(
        self,
        settings: StrategySettings,
        *,
        core: ScalperCore,
        facts: Facts,
        gate: EntryGate,
        desk: OrderDesk,
    ) -> None:
        self._threshold = settings.momentum_threshold
        self._timeout_ns = int(settings.post_only_timeout_s * NS_PER_S)
        self._knobs = EntryKnobs(
            notional_usdt=Decimal(str(settings.order_notional_usdt)),
            market_max_spread_bps=settings.market_max_spread_bps,
            liquidity_multiple=settings.liquidity_multiple,
        )
        self._last_skip = ""
        self._core = core
        self._book = facts.book
        self._market = facts.market
        self._gate = gate
        self._desk = desk
        self._counters = facts.counters

    def _block(self, now_ns: int) -> str | None:
        """Return the counter name of what forbids an entry now (signal aside), or None."""
        market = self._market
        blocked = market.entry_block()
        if blocked is not None or market.top is None:
            return blocked
        return self._gate.block_reason(market.top, market.window.last_recv_ns, now_ns)

    def try_entry(self, now_ns: int, out: list[Output]) -> None:
        """In Idle: send an entry when |momentum| is above the threshold and nothing blocks."""
        market = self._market
        momentum = market.window.momentum
        if not market.window.full or -self._threshold <= momentum <= self._threshold:
            return
        blocked = self._block(now_ns)
        if blocked is not None:
            self._counters[blocked] += 1
            return
        quote, top, listing = market.quote, market.top, market.listing
        assert quote is not None
        assert top is not None
        assert listing is not None
        side = OrderSide.BUY if momentum > 0 else OrderSide.SELL
        plan = plan_entry(side, quote, top, market.rules[listing.symbol], self._knobs)
        if isinstance(plan, NoTrade):
            self._counters["entry_not_sized"] += 1
            if plan.reason != self._last_skip:
                self._last_skip = plan.reason
                out.append(EntrySkipped(plan.reason, now_ns, market.trigger.trace_id))
            return
        command = self._desk.enter(plan, listing, now_ns)
        self._gate.record_entry(now_ns)
        self._last_skip = ""
        reason = f"entry {side.value} {plan.route.value} momentum {momentum:.5f}"
        self._core.go(State.ENTRY_PENDING, reason, now_ns, out)
        out.append(command)

    def check_timeout(self, now_ns: int, out: list[Output]) -> None:
        """In EntryPending: cancel a PostOnly entry that rested past its timeout."""
        order = self._book.entry_order()
        if order is None or not order.post_only or order.cancel_sent:
            return
        if now_ns - order.placed_ns >= self._timeout_ns:
            self._counters["post_only_timeout"] += 1
            self._desk.cancel(order, now_ns, out)
