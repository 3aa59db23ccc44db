"""Random interleavings against a simple executor model: never an entry outside Idle,
never two working entry orders, never an entry beside a venue position in its symbol, no
transition outside the table (it would raise), and after a lost event the strategy's view
comes back to the executor's (a Resync is answered with a snapshot, as the service does).
An executor restart loses what the venue did meanwhile; the strategy rejoins the new
executor's snapshot and, if it shows a position, manages it at once (not EntryPending)."""

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.strategy.api import Output, Resync
from services.strategy.machine import MomentumScalper
from shared.schema import (
    BusMessage,
    CancelOrder,
    OrderSide,
    SubmitOrder,
    Symbol,
    TradingState,
)
from tests.unit.services.strategy.support import (
    BTC,
    ETH,
    MS,
    T0,
    accepted,
    canceled,
    denied,
    feed_ready,
    fill,
    make_rules,
    make_settings,
    open_order,
    position,
    position_changed,
    quote,
    rejected,
    snapshot,
    trade,
    trading_state,
    universe,
)

D = Decimal
STEP = D("0.001")
ROLL = st.integers(0, 6)  # lifecycle rules act on 0 only, so trading gets most steps
SETTINGS = make_settings(
    momentum_threshold=0.0002,
    vwap_trades=3,
    cooldown_s=0.5,
    max_entries_per_hour=10_000,
    post_only_timeout_s=0.5,
    max_hold_s=2.0,
    exit_retry_s=0.2,
    order_quiet_s=3.0,
    feed_patience_s=2.0,
)


class ScalperAgainstExecutor(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.symbol, self.epoch = BTC, 1
        self.machine = self._new_machine(last_seq=0)
        self.working: dict[str, SubmitOrder] = {}  # at the executor, not yet terminal
        self.cum: dict[str, Decimal] = {}
        self.venue_qty: dict[Symbol, Decimal] = {BTC: D(0), ETH: D(0)}
        self.last_event: BusMessage | None = None
        self.halted = False
        self.sent: set[str] = set()
        self.rejoined_holding = False  # the last rule: a rejoin whose snapshot showed a position
        self._deliver_snapshot()

    def _new_machine(self, last_seq: int) -> MomentumScalper:
        machine = MomentumScalper(SETTINGS, last_seq=last_seq)
        machine.set_rules(make_rules("BTCUSDT"))
        machine.set_rules(make_rules("ETHUSDT"))
        machine.on_message(universe(self.symbol, self.epoch), self.now)
        machine.on_message(feed_ready(self.symbol, self.epoch), self.now)
        return machine

    def _deliver_snapshot(self) -> None:
        positions = tuple(position(s, str(q), "50000") for s, q in self.venue_qty.items() if q != 0)
        orders = tuple(open_order(c, str(self.cum[i])) for i, c in self.working.items())
        state = TradingState.HALTED if self.halted else TradingState.ACTIVE
        self._send(snapshot(positions, orders, state=state))

    # -- driving the machine and checking every output --------------------------------------

    def _check(self, state_before: str, outputs: list[Output]) -> None:
        peers: set[str] = set()
        for output in outputs:
            if isinstance(output, SubmitOrder):
                if not output.reduce_only:
                    assert state_before == "Idle", f"entry sent from {state_before}"
                    entries = [c for c in self.working.values() if not c.reduce_only]
                    assert entries == [], "a second working entry order"
                    held = self.venue_qty[output.symbol]
                    assert held == 0, f"an entry beside a venue position of {held}"
                self.working[output.client_order_id] = output
                self.sent.add(output.client_order_id)
                self.cum[output.client_order_id] = D(0)
            elif isinstance(output, CancelOrder):
                assert output.client_order_id in self.sent, "cancel of an order never sent"
            elif isinstance(output, Resync):
                peers.update(output.peers)
        if "scanner" in peers:  # what the scanner's snapshot holds
            self._send(universe(self.symbol, self.epoch, self.now))
        if "executor" in peers:
            self._deliver_snapshot()

    def _send(self, message: BusMessage) -> None:
        before = self.machine.state.value
        self._check(before, self.machine.on_message(message, self.now))

    def _tick(self, ms: int) -> None:
        self.now += ms * MS

    # -- market data ------------------------------------------------------------------------

    @rule(price=st.integers(49_900, 50_100), ms=st.integers(0, 60), with_quote=st.booleans())
    def market_trade(self, price: int, ms: int, with_quote: bool) -> None:
        self._tick(ms)
        if with_quote:
            bid = str(price - 1)
            self._send(quote(bid, str(price), self.now, symbol=self.symbol, epoch=self.epoch))
        self._send(trade(str(price), self.now, symbol=self.symbol, epoch=self.epoch))

    @rule(
        bid=st.integers(49_900, 50_100),
        spread=st.sampled_from([D("0.1"), D("30")]),
        ms=st.integers(0, 60),
        other_symbol=st.booleans(),
    )
    def market_quote(self, bid: int, spread: Decimal, ms: int, other_symbol: bool) -> None:
        self._tick(ms)
        symbol = ETH if other_symbol and self.symbol == BTC else self.symbol
        q = quote(str(bid), str(bid + spread), self.now, symbol=symbol, epoch=self.epoch)
        self._send(q)

    @rule(ms=st.sampled_from([10, 300, 600, 2_500]))
    def timer(self, ms: int) -> None:
        self._tick(ms)
        before = self.machine.state.value
        self._check(before, self.machine.on_timer(self.now))

    # -- the executor's answers -------------------------------------------------------------

    def _pick(self, data: st.DataObject) -> SubmitOrder:
        order_id = data.draw(st.sampled_from(sorted(self.working)))
        return self.working[order_id]

    def _venue_fill(self, command: SubmitOrder, qty: Decimal) -> Decimal:
        held = self.venue_qty[command.symbol]
        signed = qty if command.side is OrderSide.BUY else -qty
        if command.reduce_only:
            signed = max(signed, -held) if held > 0 else min(signed, -held) if held < 0 else D(0)
            qty = abs(signed)
        self.venue_qty[command.symbol] = held + signed
        return qty

    @precondition(lambda self: self.working)
    @rule(data=st.data(), final=st.booleans())
    def executor_fills(self, data: st.DataObject, final: bool) -> None:
        command = self._pick(data)
        order_id = command.client_order_id
        left = command.qty - self.cum[order_id]
        qty = left if final or left <= STEP else STEP
        self._venue_fill(command, qty)
        self.cum[order_id] += qty
        done = self.cum[order_id] >= command.qty
        event = fill(command, str(qty), "50000", cum=str(self.cum[order_id]), final=done)
        if done:
            del self.working[order_id]
        self.last_event = event
        self._send(event)

    @precondition(lambda self: self.working)
    @rule(
        data=st.data(), how=st.sampled_from(["accept", "cancel", "reject", "deny", "deny_cancel"])
    )
    def executor_answers(self, data: st.DataObject, how: str) -> None:
        command = self._pick(data)
        order_id = command.client_order_id
        unfilled = self.cum[order_id] == 0
        terminal = how == "cancel" or (how in ("reject", "deny") and unfilled)
        if how == "deny_cancel":
            event: BusMessage = denied(command, kind="CancelOrder")
        elif how == "cancel":
            event = canceled(command, cum=str(self.cum[order_id]))
        elif terminal:
            event = rejected(command) if how == "reject" else denied(command)
        else:  # accepted, or a partly filled order the venue cannot reject any more
            event = accepted(command)
        if terminal:
            del self.working[order_id]
        self.last_event = event
        self._send(event)

    @precondition(lambda self: self.working)
    @rule(data=st.data(), cancel_first=st.booleans(), fill_arrives=st.booleans())
    def executor_event_lost(
        self, data: st.DataObject, cancel_first: bool, fill_arrives: bool
    ) -> None:
        """The order ends at the venue, but its report is lost on the bus or overtaken:
        a cancel reported ahead of the fill it carries, whose report comes late or never."""
        command = self._pick(data)
        order_id = command.client_order_id
        qty = self._venue_fill(command, STEP)
        self.cum[order_id] += qty
        del self.working[order_id]
        late = fill(command, str(qty), "50000", cum=str(self.cum[order_id]), final=False)
        if cancel_first:
            self._send(canceled(command, cum=str(self.cum[order_id])))
        if fill_arrives:
            self._send(late)

    @rule()
    def long_quiet(self) -> None:
        """Nothing arrives for longer than order-quiet-s: every working order in doubt."""
        self._tick(int(SETTINGS.order_quiet_s * 1000) + 10)
        before = self.machine.state.value
        self._check(before, self.machine.on_timer(self.now))
        if self.machine.state.value != "Syncing":
            assert set(self.machine.book.orders) == set(self.working), "views apart"

    @precondition(lambda self: self.last_event is not None)
    @rule()
    def duplicate_last_event(self) -> None:
        assert self.last_event is not None
        self._send(self.last_event)

    @rule(symbol=st.sampled_from([BTC, ETH]))
    def venue_position(self, symbol: Symbol) -> None:
        self._send(position_changed(symbol, str(self.venue_qty[symbol]), "50000", self.now))

    # -- lifecycle --------------------------------------------------------------------------

    @rule(ready_first=st.booleans(), stale_ready=st.booleans(), roll=ROLL)
    def universe_switch(self, ready_first: bool, stale_ready: bool, roll: int) -> None:
        if roll:
            return
        self.symbol = ETH if self.symbol == BTC else BTC
        self.epoch += 1
        self._send(universe(self.symbol, self.epoch, self.now))
        if stale_ready:
            self._send(feed_ready(self.symbol, self.epoch - 1, self.now))
        if ready_first:
            self._send(feed_ready(self.symbol, self.epoch, self.now))

    @rule()
    def feed_becomes_ready(self) -> None:
        self._send(feed_ready(self.symbol, self.epoch, self.now))

    @rule(state=st.sampled_from(list(TradingState)), roll=ROLL)
    def trading_state_changes(self, state: TradingState, roll: int) -> None:
        if roll and state is not TradingState.ACTIVE:
            return
        self.halted = state is TradingState.HALTED
        self._send(trading_state(state))

    @rule(roll=ROLL)
    def executor_silent_then_snapshot(self, roll: int) -> None:
        if roll:
            return
        before = self.machine.state.value
        self._check(before, self.machine.executor_silent(self.now))
        self._tick(5)
        self._deliver_snapshot()

    @rule(data=st.data(), venue=st.sampled_from(["quiet", "fill", "partial", "cancel_all"]))
    def executor_restarts(self, data: st.DataObject, venue: str) -> None:
        """The executor restarts: what the venue did meanwhile (a fill of a working order,
        the old executor's cancels at shutdown) is never reported on the stream. The loop
        sees the new incarnation and the strategy rejoins its snapshot, in whatever state."""
        if venue in ("fill", "partial") and self.working:
            command = self._pick(data)
            order_id = command.client_order_id
            left = command.qty - self.cum[order_id]
            self.cum[order_id] += self._venue_fill(command, left if venue == "fill" else STEP)
            if venue == "fill" or self.cum[order_id] >= command.qty:
                del self.working[order_id]
        elif venue == "cancel_all":
            self.working.clear()
        restart_ms = data.draw(st.sampled_from([5, 1_500]))  # within a command's TTL, or past
        self._tick(restart_ms)
        self._deliver_snapshot()
        symbol = self.machine.book.symbol
        entry_listed = any(not c.reduce_only for c in self.working.values())
        self.rejoined_holding = (
            symbol is not None and self.venue_qty.get(symbol, D(0)) != 0 and not entry_listed
        )

    @rule(roll=ROLL)
    def restart_from_snapshot(self, roll: int) -> None:
        if roll:
            return
        self._tick(5)
        self.machine = self._new_machine(last_seq=self.machine.orders.last_seq)
        self._deliver_snapshot()

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def at_most_one_working_entry(self) -> None:
        assert len([c for c in self.working.values() if not c.reduce_only]) <= 1
        book_entries = [o for o in self.machine.book.orders.values() if not o.reduce_only]
        assert len(book_entries) <= 1

    @invariant()
    def a_rejoin_that_shows_a_position_manages_it(self) -> None:
        """Not EntryPending (waiting for order-quiet-s) beside a position the snapshot showed;
        a partly filled entry the snapshot still lists as working stays EntryPending, as live."""
        if self.rejoined_holding:
            self.rejoined_holding = False
            assert self.machine.state.value != "EntryPending", "a shown position left waiting"

    @invariant()
    def idle_has_no_working_entry(self) -> None:
        if self.machine.state.value == "Idle":
            assert self.machine.book.entry_order() is None


ScalperAgainstExecutor.TestCase.settings = settings(
    max_examples=200, stateful_step_count=80, deadline=None
)
TestScalperAgainstExecutor = ScalperAgainstExecutor.TestCase
