"""The momentum scalper: message handlers over `ScalperCore` (implements `api.Strategy`).

Market data only moves the signal; in Idle it may enter, in PositionOpen it may exit, in
EntryPending it times out a PostOnly entry. Execution events move the book, then
`_settle` moves the state. Data for any symbol or epoch but the current one is counted
and ignored; events that do not fit (unknown order, stale FeedReady) raise an Alert.
"""

from collections.abc import Callable
from typing import Any

from services.strategy.api import EntrySkipped, Output, make_alert
from services.strategy.core import State
from services.strategy.execution import ExecutionReactions
from services.strategy.exits import exit_reason
from services.strategy.orders import Listing, NoTrade, Trigger, plan_entry
from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S, TopOfBook
from shared.schema import (
    BusMessage,
    ExecutionSnapshot,
    FeedReady,
    FeedState,
    FeedStatus,
    InstrumentRules,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    PositionChanged,
    Quote,
    StrategyStatus,
    Trade,
    TradingState,
    TradingStateChanged,
    UniverseChanged,
)

S = State
Handler = Callable[[Any, int, list[Output]], None]


class MomentumScalper(ExecutionReactions):
    """Enters on |momentum| above a threshold, exits on stop, target or holding time."""

    def __init__(self, settings: StrategySettings, *, last_seq: int = 0) -> None:
        super().__init__(settings, last_seq=last_seq)
        self._threshold = settings.momentum_threshold
        self._timeout_ns = int(settings.post_only_timeout_s * NS_PER_S)
        self._last_skip = ""
        self._handlers: dict[type, Handler] = {
            Quote: self._on_quote,
            Trade: self._on_trade,
            OrderAccepted: self._on_accepted,
            OrderPartiallyFilled: self._on_fill,
            OrderFilled: self._on_fill,
            OrderCanceled: self._on_canceled,
            OrderRejected: self._on_rejected,
            OrderDenied: self._on_denied,
            PositionChanged: self._on_position,
            ExecutionSnapshot: self._on_snapshot,
            TradingStateChanged: self._on_trading_state,
            UniverseChanged: self._on_universe,
            FeedReady: self._on_feed_ready,
            FeedStatus: self._on_feed_status,
        }

    # -- the Strategy interface -----------------------------------------------------------

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        out: list[Output] = []
        handler = self._handlers.get(type(message))
        if handler is None:
            self.counters["unhandled_message"] += 1
        else:
            handler(message, now_ns, out)
        return out

    def on_timer(self, now_ns: int) -> list[Output]:
        out: list[Output] = []
        if self._check_quiet(now_ns, out):
            return out
        state = self.state
        if state is S.ENTRY_PENDING:
            self._check_entry_timeout(now_ns, out)
        elif state is S.POSITION_OPEN:
            self._check_exit(now_ns, out)
        elif state in (S.SWITCHING, S.HALTED):
            self._flatten(now_ns, out)
        return out

    def executor_silent(self, now_ns: int) -> list[Output]:
        out: list[Output] = []
        self._go(S.SYNCING, "executor silent", now_ns, out)
        return out

    def set_rules(self, rules: InstrumentRules) -> None:
        self.rules[rules.symbol] = rules

    def status(self, now_ns: int) -> StrategyStatus:
        listing, book = self.listing, self.book
        return StrategyStatus(
            strategy_id=self.settings.strategy_id,
            state=self.state.value,
            symbol=listing.symbol if listing is not None and self.feed_ready else book.symbol,
            epoch=listing.epoch if listing is not None else 0,
            position_qty=book.qty,
            entry_price=book.entry_price,
            realised_pnl_usdt=book.realised_pnl,
            reason=self.reason,
            ts_event_ns=now_ns,
        )

    # -- market data (the hot path) -------------------------------------------------------

    def _current(self, symbol: str, epoch: int, now_ns: int) -> bool:
        listing = self.listing
        if listing is not None and symbol == listing.symbol and epoch == listing.epoch:
            return True
        if listing is None or symbol != listing.symbol:
            self.counters["other_symbol_md"] += 1
        else:
            self.counters["other_epoch_md"] += 1
        if listing is not None and epoch > listing.epoch:  # its announcement is not here yet
            self._note_feed_wait(now_ns, newer_epoch_seen=True)
        return False

    def _on_quote(self, quote: Quote, now_ns: int, out: list[Output]) -> None:
        if not self._current(quote.symbol, quote.epoch, now_ns):
            return
        self.quote = quote
        self.top = TopOfBook(
            float(quote.bid_price),
            float(quote.bid_qty),
            float(quote.ask_price),
            float(quote.ask_qty),
            quote.ts_recv_ns,
        )
        self.trigger = Trigger(quote.ts_recv_ns, quote.ts_event_ns, quote.trace_id)
        state = self.state
        if state is S.IDLE:
            self._try_entry(now_ns, out)
        elif state is S.POSITION_OPEN:
            self._check_exit(now_ns, out)
        elif state is S.ENTRY_PENDING:
            self._check_entry_timeout(now_ns, out)

    def _on_trade(self, trade: Trade, now_ns: int, out: list[Output]) -> None:
        if not self._current(trade.symbol, trade.epoch, now_ns):
            return
        self.window.push(float(trade.price), float(trade.qty), trade.ts_recv_ns)
        if self.state is S.IDLE:
            self.trigger = Trigger(trade.ts_recv_ns, trade.ts_event_ns, trade.trace_id)
            self._try_entry(now_ns, out)

    def _entry_block(self, now_ns: int) -> str | None:
        """Return the counter name of what forbids an entry now (signal aside), or None."""
        if self.top is None or self.quote is None or self.listing is None:
            return "entry_blocked_no_quote"
        if not (self.feed_ready and self.feed_live):
            return "entry_blocked_feed"
        if self.trading_state is not TradingState.ACTIVE:
            return "entry_blocked_trading_state"
        if self.listing.symbol not in self.rules:
            return "entry_blocked_no_rules"
        return self.gate.block_reason(self.top, self.window.last_recv_ns, now_ns)

    def _try_entry(self, now_ns: int, out: list[Output]) -> None:
        window = self.window
        momentum = window.momentum
        if not window.full or -self._threshold <= momentum <= self._threshold:
            return
        blocked = self._entry_block(now_ns)
        if blocked is not None:
            self.counters[blocked] += 1
            return
        assert self.quote is not None
        assert self.top is not None
        assert self.listing is not None
        side = OrderSide.BUY if momentum > 0 else OrderSide.SELL
        rules = self.rules[self.listing.symbol]
        plan = plan_entry(side, self.quote, self.top, rules, self.knobs)
        if isinstance(plan, NoTrade):
            self.counters["entry_not_sized"] += 1
            if plan.reason != self._last_skip:
                self._last_skip = plan.reason
                out.append(EntrySkipped(plan.reason, now_ns, self.trigger.trace_id))
            return
        command = self.orders.entry(plan, self.listing, self.trigger, now_ns)
        self.book.add(command)
        self.gate.record_entry(now_ns)
        self._last_skip = ""
        reason = f"entry {side.value} {plan.route.value} momentum {momentum:.5f}"
        self._go(S.ENTRY_PENDING, reason, now_ns, out)
        out.append(command)

    def _check_entry_timeout(self, now_ns: int, out: list[Output]) -> None:
        order = self.book.entry_order()
        if order is None or not order.post_only or order.cancel_sent:
            return
        if now_ns - order.placed_ns >= self._timeout_ns:
            self.counters["post_only_timeout"] += 1
            self._cancel(order, now_ns, out)

    def _check_exit(self, now_ns: int, out: list[Output]) -> None:
        if self.levels is None:
            self._arm_levels(now_ns, keep_deadline=False)
        assert self.levels is not None
        reason = exit_reason(self.levels, self.top, now_ns)
        if reason is not None and self._send_exit(reason, now_ns, out):
            self._go(S.EXIT_PENDING, f"exit {reason}", now_ns, out)

    # -- lifecycle: trading state, universe, feed -----------------------------------------

    def _on_trading_state(self, event: TradingStateChanged, now_ns: int, out: list[Output]) -> None:
        self.trading_state = event.state
        if self.state is S.SYNCING:
            return
        if event.state is TradingState.HALTED:
            self._go(S.HALTED, f"halted: {event.reason}", now_ns, out)
            self._flatten(now_ns, out)
        elif self.state is S.HALTED:
            self._enter_rest_state(f"trading {event.state.value}: {event.reason}", now_ns, out)

    def _on_universe(self, event: UniverseChanged, now_ns: int, out: list[Output]) -> None:
        previous = self.listing
        if previous is not None and event.epoch <= previous.epoch:
            self.counters["stale_universe"] += 1
            return
        self.listing = Listing(event.symbol, event.epoch)
        early = self.early_feed_ready
        self.feed_ready = early == (event.symbol, event.epoch)
        if early is not None and early[1] <= event.epoch:
            self.early_feed_ready = None
        self.feed_live = True
        self._note_feed_wait(now_ns)
        self.window.reset()
        self.quote = None
        self.top = None
        if self.state in (S.SYNCING, S.HALTED):
            return
        first = previous is None and self.book.symbol in (None, event.symbol)
        if first and self.state is not S.SWITCHING:
            return  # learning the universe, not a switch: keep what we hold
        reason = f"universe {event.symbol} epoch {event.epoch}: {event.reason}"
        self._go(S.SWITCHING, reason, now_ns, out)
        self._flatten(now_ns, out)

    def _on_feed_ready(self, event: FeedReady, now_ns: int, out: list[Output]) -> None:
        listing = self.listing
        if listing is None or event.epoch > listing.epoch:
            # The feed was quicker than the scanner's UniverseChanged reached us: two
            # publishers, no order between them. Kept until that epoch is announced.
            self.counters["early_feed_ready"] += 1
            self.early_feed_ready = (event.symbol, event.epoch)
            self._note_feed_wait(now_ns)
            return
        if (event.symbol, event.epoch) != (listing.symbol, listing.epoch):
            self.counters["stale_feed_ready"] += 1
            detail = f"FeedReady {event.symbol} epoch {event.epoch}, trading {listing}"
            out.append(make_alert("stale_feed_ready", detail, now_ns))
            return
        self.feed_ready = True
        self.feed_live = True
        self._note_feed_wait(now_ns)
        self._leave_switching_if_done(now_ns, out)

    def _on_feed_status(self, event: FeedStatus, now_ns: int, out: list[Output]) -> None:
        listing = self.listing
        if listing is None or (event.symbol, event.epoch) != (listing.symbol, listing.epoch):
            self.counters["other_symbol_feed_status"] += 1
            return
        self.feed_live = event.state is FeedState.LIVE
