"""The scalper's states, the one table of allowed transitions, and the state machine.

Syncing is the start state, the state after the executor fell silent, and the state when
our view came into doubt (an order unheard of for `order-quiet-s`: its outcome may be lost
on the bus; an exit the venue rejected): the view of orders and position is unknown, so it
sends nothing until a reconciled ExecutionSnapshot rebuilds it (a Resync output asks the
service for one). An entry is only ever sent from Idle. The wait for the feed and the
universe to agree on a symbol is bounded the same way (`feed-patience-s`).

`machine.MomentumScalper` is composed of parts, each with a narrow interface, none
inheriting another; it builds them in this order and routes each message to one of them:

- `book.Book`: the position and working orders, from execution events (facts only);
- `market.MarketView`: the listing, its feed, trading state, rules, latest quote and trades;
- `exits.Holding`: the exit levels of the position held and the exit retry time;
- `signals.EntryGate`: the entry filters besides the signal (freshness, book, pacing);
- `desk.OrderDesk`: sends entries, exits and cancels, each booked as it goes out;
- `ScalperCore` (here): the state and its moves, over the parts above;
- `execution.ExecutionReactions`: the executor's events, applied to the book, then settled;
- `entries.Entries`: the momentum signal to an entry in Idle, and the PostOnly timeout.

`ScalperCore.settle` derives the next state from the book's facts after every execution
event, so Idle is entered only on a confirmed fill/cancel/reject/deny, and `rest_state`
places a rebuilt view (reconciled snapshot, end of a halt).
"""

from enum import StrEnum
from typing import Final

from services.strategy.api import Output, Resync, Transition, make_alert
from services.strategy.desk import OrderDesk
from services.strategy.exits import Holding, exit_reason
from services.strategy.market import Facts
from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S, EntryGate
from shared.schema import TradingState


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
    """The scalper's state and its moves: transitions, settling, flattening, resyncs."""

    def __init__(
        self,
        settings: StrategySettings,
        *,
        facts: Facts,
        holding: Holding,
        gate: EntryGate,
        desk: OrderDesk,
    ) -> None:
        self.state = S.SYNCING
        self.reason = "start"
        self._book = facts.book
        self._market = facts.market
        self._holding = holding
        self._gate = gate
        self._desk = desk
        self._counters = facts.counters
        self._quiet_s = settings.order_quiet_s
        self._quiet_ns = int(settings.order_quiet_s * NS_PER_S)

    # -- transitions --------------------------------------------------------------------

    def go(self, to_state: State, reason: str, now_ns: int, out: list[Output]) -> None:
        """Move to `to_state` (an allowed transition, or InvalidTransition) and log why."""
        if to_state is self.state:
            return
        from_state = self.state
        check_transition(from_state, to_state)
        trace_id = self._market.trigger.trace_id  # the decision's frame, or a timer's last
        out.append(Transition(from_state.value, to_state.value, reason, now_ns, trace_id))
        self.state = to_state
        self.reason = reason
        if to_state is S.POSITION_OPEN:  # a retried exit or a resync keeps the holding deadline
            keep = from_state in (S.EXIT_PENDING, S.SYNCING)
            book = self._book
            self._holding.arm(book.qty, book.entry_price, now_ns, keep_deadline=keep)
        elif to_state is S.IDLE:  # flat: the next position's holding time is its own
            self._holding.clear()

    def settle(self, reason: str, now_ns: int, out: list[Output]) -> None:
        """Move to the state the book's facts call for after an execution event."""
        state, book = self.state, self._book
        if state is S.SYNCING:
            return
        if state in (S.SWITCHING, S.HALTED):
            self.flatten(now_ns, out)
        elif state is S.ENTRY_PENDING and book.entry_order() is None:
            self.go(S.POSITION_OPEN if book.qty else S.IDLE, reason, now_ns, out)
        elif state is S.EXIT_PENDING and book.exit_order() is None:
            if book.qty:
                self._holding.hold_off(now_ns)
                self.go(S.POSITION_OPEN, reason, now_ns, out)
            elif (entry := book.entry_order()) is not None:
                # Flat, but an entry still works (e.g. one cancelled at a halt): not Idle
                # until it is gone, or it could fill beside a new entry.
                self._desk.cancel(entry, now_ns, out)
            else:
                self._closed(reason, now_ns, out)
        elif state is S.POSITION_OPEN and book.empty:
            self._closed(reason, now_ns, out)
        elif state is S.IDLE and book.qty:
            out.append(make_alert("unexpected_position", f"{book.qty} while idle", now_ns))
            self.go(S.POSITION_OPEN, reason, now_ns, out)

    def _closed(self, reason: str, now_ns: int, out: list[Output]) -> None:
        self._gate.start_cooldown(now_ns)
        self.go(S.IDLE, reason, now_ns, out)

    def resync_executor(self, reason: str, now_ns: int, out: list[Output]) -> None:
        """Our view of an order or the position is in doubt: stop, rebuild from the executor's
        reconciled snapshot (Syncing takes it)."""
        self._counters["resync_executor"] += 1
        detail = f"{reason}: rebuilding from the executor's snapshot"
        out.append(make_alert("execution_view_in_doubt", detail, now_ns))
        self.go(S.SYNCING, reason, now_ns, out)
        out.append(Resync(("executor",), reason, now_ns))

    def check_quiet(self, now_ns: int, out: list[Output]) -> bool:
        """Resync when a working order's outcome (or the FeedReady we wait for) is overdue."""
        if self.state is not S.SYNCING:
            order = self._book.quiet_order(now_ns, self._quiet_ns)
            if order is not None:
                reason = f"{order.client_order_id} unheard of for {self._quiet_s} s"
                self.resync_executor(reason, now_ns, out)
                return True
        resync = self._market.feed_overdue(now_ns)
        if resync is not None:
            out.append(resync)
        return False

    def rest_state(self) -> State:
        """Where a freshly rebuilt view belongs (after a snapshot or the end of a halt)."""
        book, listing = self._book, self._market.listing
        if self._market.trading_state is TradingState.HALTED:
            return S.HALTED
        if book.empty:
            return S.IDLE if listing is not None and self._market.feed_ready else S.SWITCHING
        if listing is not None and book.symbol != listing.symbol:
            return S.SWITCHING  # leftovers of an older symbol: flatten them
        if book.exit_order() is not None:
            return S.EXIT_PENDING
        if book.entry_order() is not None:
            return S.ENTRY_PENDING
        return S.POSITION_OPEN

    def enter_rest_state(self, reason: str, now_ns: int, out: list[Output]) -> None:
        target = self.rest_state()
        listing = self._market.listing
        if self._book.empty and listing is not None:
            self._book.symbol = listing.symbol
        self.go(target, reason, now_ns, out)
        if target in (S.SWITCHING, S.HALTED):
            self.flatten(now_ns, out)

    # -- exits and leaving a symbol -----------------------------------------------------

    def check_exit(self, now_ns: int, out: list[Output]) -> None:
        """In PositionOpen: exit on stop, target or holding time (levels armed if none)."""
        holding, book = self._holding, self._book
        if holding.levels is None:
            holding.arm(book.qty, book.entry_price, now_ns, keep_deadline=False)
        assert holding.levels is not None
        reason = exit_reason(holding.levels, self._market.top, now_ns)
        if reason is not None and self._desk.send_exit(reason, now_ns, out):
            self.go(S.EXIT_PENDING, f"exit {reason}", now_ns, out)

    def flatten(self, now_ns: int, out: list[Output]) -> None:
        """Switching or Halted: cancel every working entry, exit the position, then leave."""
        self._desk.cancel_entries(now_ns, out)
        self._desk.send_exit(self.state.value.lower(), now_ns, out)
        self.leave_switching_if_done(now_ns, out)

    def leave_switching_if_done(self, now_ns: int, out: list[Output]) -> None:
        listing = self._market.listing
        if self.state is not S.SWITCHING or listing is None or not self._market.feed_ready:
            return
        if self._book.empty:
            self._book.symbol = listing.symbol
            self.go(S.IDLE, f"switched to {listing.symbol} epoch {listing.epoch}", now_ns, out)
