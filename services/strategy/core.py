"""The scalper's states, the one table of allowed transitions, and the shared moves.

Syncing is the start state, the state after the executor fell silent, and the state when
our view came into doubt (an order unheard of for `order-quiet-s`: its outcome may be lost
on the bus; an exit the venue rejected): the view of orders and position is unknown, so it
sends nothing until a reconciled ExecutionSnapshot rebuilds it (a Resync output asks the
service for one). An entry is only ever sent from Idle. The wait for the feed and the
universe to agree on a symbol is bounded the same way (`feed-patience-s`).

`ScalperCore` owns the state, the book and the market view. `_settle` derives the next
state from the book's facts after every execution event, so Idle is entered only on a
confirmed fill/cancel/reject/deny, and `_rest_state` places a rebuilt view (reconciled
snapshot, end of a halt). `machine.MomentumScalper` adds the message handlers.
"""

from collections import Counter
from decimal import Decimal
from enum import StrEnum
from typing import Final

from services.strategy.api import Output, Resync, Transition, make_alert
from services.strategy.book import Book, WorkingOrder
from services.strategy.exits import ExitLevels, exit_levels
from services.strategy.orders import EntryKnobs, Listing, OrderFactory, Trigger
from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S, EntryGate, TopOfBook, TradeWindow
from shared.schema import InstrumentRules, OrderSide, Quote, TradingState


class State(StrEnum):
    SYNCING = "Syncing"  # view unknown: send nothing, wait for a reconciled snapshot
    IDLE = "Idle"  # flat, no working order: the only state that enters
    ENTRY_PENDING = "EntryPending"  # one entry order working
    POSITION_OPEN = "PositionOpen"  # holding; exits checked on every quote and timer
    EXIT_PENDING = "ExitPending"  # a reduce-only exit working
    SWITCHING = "Switching"  # flattening and waiting for FeedReady of the new symbol
    HALTED = "Halted"  # trading halted: flatten, cancel, wait for Active


S = State
_ANY_OF_THE_BOOK: Final = frozenset(
    {S.IDLE, S.ENTRY_PENDING, S.POSITION_OPEN, S.EXIT_PENDING, S.SWITCHING, S.HALTED}
)
_LEAVE: Final = frozenset({S.SWITCHING, S.HALTED, S.SYNCING})

ALLOWED: Final[dict[State, frozenset[State]]] = {
    S.SYNCING: _ANY_OF_THE_BOOK,  # a reconciled snapshot says where we are
    S.IDLE: frozenset({S.ENTRY_PENDING, S.POSITION_OPEN}) | _LEAVE,
    S.ENTRY_PENDING: frozenset({S.POSITION_OPEN, S.IDLE}) | _LEAVE,
    S.POSITION_OPEN: frozenset({S.EXIT_PENDING, S.IDLE}) | _LEAVE,
    S.EXIT_PENDING: frozenset({S.IDLE, S.POSITION_OPEN}) | _LEAVE,
    S.SWITCHING: frozenset({S.IDLE, S.HALTED, S.SYNCING}),
    S.HALTED: (_ANY_OF_THE_BOOK - {S.HALTED}) | {S.SYNCING},
}


class InvalidTransition(Exception):
    """A transition outside ALLOWED: a bug. The process exits and restarts from a snapshot."""


def check_transition(from_state: State, to_state: State) -> None:
    if to_state not in ALLOWED[from_state]:
        raise InvalidTransition(f"{from_state} -> {to_state} is not allowed")


class ScalperCore:
    """State, book, market view and the shared moves of the momentum scalper."""

    def __init__(self, settings: StrategySettings, *, last_seq: int = 0) -> None:
        self.settings = settings
        self.state = S.SYNCING
        self.reason = "start"
        self.counters: Counter[str] = Counter()
        self.book = Book()
        self.window = TradeWindow(settings.vwap_trades)
        self.gate = EntryGate(settings)
        self.orders = OrderFactory(settings.strategy_id, settings.command_ttl_ms)
        self.orders.last_seq = last_seq
        self.knobs = EntryKnobs(
            notional_usdt=Decimal(str(settings.order_notional_usdt)),
            market_max_spread_bps=settings.market_max_spread_bps,
            liquidity_multiple=settings.liquidity_multiple,
        )
        self.rules: dict[str, InstrumentRules] = {}
        self.listing: Listing | None = None  # what the universe says to trade
        self.feed_ready = False  # FeedReady seen for `listing`
        self.early_feed_ready: tuple[str, int] | None = None  # (symbol, epoch) not announced yet
        self.feed_live = True  # the feed's last FeedStatus for `listing` was not bad
        self.trading_state = TradingState.ACTIVE
        self.quote: Quote | None = None
        self.top: TopOfBook | None = None
        self.trigger = Trigger(0, 0)  # the market data behind the next command
        self.levels: ExitLevels | None = None
        self.next_exit_ns = 0  # a failed exit is retried no sooner
        self.feed_wait_since_ns = 0  # waiting for a FeedReady or UniverseChanged since (0: not)
        self._retry_ns = int(settings.exit_retry_s * NS_PER_S)
        self._hold_ns = int(settings.max_hold_s * NS_PER_S)
        self._quiet_ns = int(settings.order_quiet_s * NS_PER_S)
        self._patience_ns = int(settings.feed_patience_s * NS_PER_S)

    # -- transitions --------------------------------------------------------------------

    def _go(self, to_state: State, reason: str, now_ns: int, out: list[Output]) -> None:
        if to_state is self.state:
            return
        from_state = self.state
        check_transition(from_state, to_state)
        trace_id = self.trigger.trace_id  # the latest frame: the decision's, or a timer's last
        out.append(Transition(from_state.value, to_state.value, reason, now_ns, trace_id))
        self.state = to_state
        self.reason = reason
        if to_state is S.POSITION_OPEN:  # a retried exit or a resync keeps the holding deadline
            keep = from_state in (S.EXIT_PENDING, S.SYNCING)
            self._arm_levels(now_ns, keep_deadline=keep)
        elif to_state is S.IDLE:  # flat: the next position's holding time is its own
            self.levels = None

    def _settle(self, reason: str, now_ns: int, out: list[Output]) -> None:
        """Move to the state the book's facts call for after an execution event."""
        state, book = self.state, self.book
        if state is S.SYNCING:
            return
        if state in (S.SWITCHING, S.HALTED):
            self._flatten(now_ns, out)
        elif state is S.ENTRY_PENDING and book.entry_order() is None:
            self._go(S.POSITION_OPEN if book.qty else S.IDLE, reason, now_ns, out)
        elif state is S.EXIT_PENDING and book.exit_order() is None:
            if book.qty:
                self.next_exit_ns = now_ns + self._retry_ns
                self._go(S.POSITION_OPEN, reason, now_ns, out)
            elif (entry := book.entry_order()) is not None:
                # Flat, but an entry still works (e.g. one cancelled at a halt): not Idle
                # until it is gone, or it could fill beside a new entry.
                self._cancel(entry, now_ns, out)
            else:
                self._closed(reason, now_ns, out)
        elif state is S.POSITION_OPEN and book.empty:
            self._closed(reason, now_ns, out)
        elif state is S.IDLE and book.qty:
            out.append(make_alert("unexpected_position", f"{book.qty} while idle", now_ns))
            self._go(S.POSITION_OPEN, reason, now_ns, out)

    def _closed(self, reason: str, now_ns: int, out: list[Output]) -> None:
        self.gate.start_cooldown(now_ns)
        self._go(S.IDLE, reason, now_ns, out)

    def _resync_executor(self, reason: str, now_ns: int, out: list[Output]) -> None:
        """Our view of an order or the position is in doubt: stop, rebuild from the executor's
        reconciled snapshot (Syncing takes it)."""
        self.counters["resync_executor"] += 1
        detail = f"{reason}: rebuilding from the executor's snapshot"
        out.append(make_alert("execution_view_in_doubt", detail, now_ns))
        self._go(S.SYNCING, reason, now_ns, out)
        out.append(Resync(("executor",), reason, now_ns))

    def _check_quiet(self, now_ns: int, out: list[Output]) -> bool:
        """Resync when a working order's outcome (or the FeedReady we wait for) is overdue."""
        if self.state is not S.SYNCING:
            order = self.book.quiet_order(now_ns, self._quiet_ns)
            if order is not None:
                quiet_s = self.settings.order_quiet_s
                self._resync_executor(
                    f"{order.client_order_id} unheard of for {quiet_s} s", now_ns, out
                )
                return True
        since = self.feed_wait_since_ns
        if since and now_ns - since >= self._patience_ns:
            self.counters["resync_feed"] += 1
            self.feed_wait_since_ns = now_ns  # ask again after another wait
            patience_s = self.settings.feed_patience_s
            reason = f"feed and universe not agreed on {self.listing} for {patience_s} s"
            out.append(Resync(("scanner", "feed"), reason, now_ns))
        return False

    def _note_feed_wait(self, now_ns: int, *, newer_epoch_seen: bool = False) -> None:
        """Start (or end) the wait for the feed and the universe to agree on the listing."""
        waiting = newer_epoch_seen or not self.feed_ready or self.early_feed_ready is not None
        if not waiting:
            self.feed_wait_since_ns = 0
        elif not self.feed_wait_since_ns:
            self.feed_wait_since_ns = now_ns

    def _rest_state(self) -> State:
        """Where a freshly rebuilt view belongs (after a snapshot or the end of a halt)."""
        book, listing = self.book, self.listing
        if self.trading_state is TradingState.HALTED:
            return S.HALTED
        if book.empty:
            return S.IDLE if listing is not None and self.feed_ready else S.SWITCHING
        if listing is not None and book.symbol != listing.symbol:
            return S.SWITCHING  # leftovers of an older symbol: flatten them
        if book.exit_order() is not None:
            return S.EXIT_PENDING
        if book.entry_order() is not None:
            return S.ENTRY_PENDING
        return S.POSITION_OPEN

    def _enter_rest_state(self, reason: str, now_ns: int, out: list[Output]) -> None:
        target = self._rest_state()
        if self.book.empty and self.listing is not None:
            self.book.symbol = self.listing.symbol
        self._go(target, reason, now_ns, out)
        if target in (S.SWITCHING, S.HALTED):
            self._flatten(now_ns, out)

    def _arm_levels(self, now_ns: int, *, keep_deadline: bool) -> None:
        book, s = self.book, self.settings
        entry = float(book.entry_price) if book.entry_price is not None else 0.0
        deadline = now_ns + self._hold_ns
        if keep_deadline and self.levels is not None:
            deadline = self.levels.deadline_ns
        is_long = book.qty > 0
        if entry <= 0:  # no price to measure from: only the holding time applies
            far = float("inf")
            self.levels = ExitLevels(
                is_long, -far if is_long else far, far if is_long else -far, deadline
            )
            return
        self.levels = exit_levels(is_long, entry, s.stop_loss_pct, s.take_profit_pct, deadline)

    # -- orders -------------------------------------------------------------------------

    def _send_exit(self, reason: str, now_ns: int, out: list[Output]) -> bool:
        """Send a reduce-only Market IOC for the position, unless one works or must wait."""
        book = self.book
        if not book.qty or book.symbol is None or book.exit_order() is not None:
            return False
        if now_ns < self.next_exit_ns:
            self.counters["exit_retry_wait"] += 1
            return False
        qty = abs(book.qty)
        rules = self.rules.get(book.symbol)
        if rules is not None:
            qty = min(qty, rules.floor_qty(rules.max_mkt_qty))
        side = OrderSide.SELL if book.qty > 0 else OrderSide.BUY
        epoch = self.listing.epoch if self.listing is not None else 0
        command = self.orders.exit(Listing(book.symbol, epoch), side, qty, self.trigger, now_ns)
        book.add(command)
        self.counters[f"exit_{reason}"] += 1
        out.append(command)
        return True

    def _cancel(self, order: WorkingOrder, now_ns: int, out: list[Output]) -> None:
        if order.cancel_sent or now_ns < order.next_cancel_ns:
            return
        order.cancel_sent = True
        # On a timer no frame decides: the latest frame seen for the symbol stands in.
        trace_id = self.trigger.trace_id
        out.append(self.orders.cancel(order.symbol, order.client_order_id, now_ns, trace_id))

    def _flatten(self, now_ns: int, out: list[Output]) -> None:
        """Switching or Halted: cancel every working entry, exit the position, then leave."""
        for order in list(self.book.orders.values()):
            if not order.reduce_only:
                self._cancel(order, now_ns, out)
        self._send_exit(self.state.value.lower(), now_ns, out)
        self._leave_switching_if_done(now_ns, out)

    def _leave_switching_if_done(self, now_ns: int, out: list[Output]) -> None:
        listing = self.listing
        if self.state is not S.SWITCHING or listing is None or not self.feed_ready:
            return
        if self.book.empty:
            self.book.symbol = listing.symbol
            self._go(S.IDLE, f"switched to {listing.symbol} epoch {listing.epoch}", now_ns, out)
