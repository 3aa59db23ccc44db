"""The momentum scalper (implements `api.Strategy`): its parts, composed, and the routing.

`MomentumScalper` holds its parts (core.py lists them and how they fit) and inherits from
none: each message type goes to one handler, market data to the market view and then, by
state, to the entries or the exit check; execution events to `ExecutionReactions`; the
trading state, the universe and the feed to the market view and the state machine.

Market data only moves the signal; in Idle it may enter, in PositionOpen it may exit, in
EntryPending it times out a PostOnly entry. Execution events move the book, then
`ScalperCore.settle` moves the state. Data for any symbol or epoch but the current one is
counted and ignored; events that do not fit (unknown order, stale FeedReady) raise an Alert.
"""

from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from services.strategy.api import Output
from services.strategy.book import Book
from services.strategy.core import ScalperCore, State
from services.strategy.desk import OrderDesk
from services.strategy.entries import Entries
from services.strategy.execution import ExecutionReactions
from services.strategy.exits import ExitLevels, Holding
from services.strategy.market import Facts, MarketView
from services.strategy.orders import OrderFactory
from services.strategy.settings import StrategySettings
from services.strategy.signals import EntryGate
from shared.schema import (
    BusMessage,
    ExecutionSnapshot,
    FeedReady,
    FeedStatus,
    InstrumentRules,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
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


class MomentumScalper:
    """Enters on |momentum| above a threshold, exits on stop, target or holding time."""

    def __init__(self, settings: StrategySettings, *, last_seq: int = 0) -> None:
        self.settings = settings
        self.counters: Counter[str] = Counter()
        self.book = Book()
        self.market = MarketView(settings, self.counters)
        facts = Facts(self.book, self.market, self.counters)
        self.holding = Holding(settings)
        self.gate = EntryGate(settings)
        self.desk = OrderDesk(settings, facts=facts, holding=self.holding, last_seq=last_seq)
        self.core = ScalperCore(
            settings, facts=facts, holding=self.holding, gate=self.gate, desk=self.desk
        )
        self.execution = ExecutionReactions(
            settings, facts=facts, core=self.core, holding=self.holding
        )
        self.entries = Entries(
            settings, facts=facts, core=self.core, gate=self.gate, desk=self.desk
        )
        self._handlers = self._route()

    def _route(self) -> dict[type, Handler]:
        execution = self.execution
        return {
            Quote: self._on_quote,
            Trade: self._on_trade,
            OrderAccepted: execution.on_accepted,
            OrderPartiallyFilled: execution.on_fill,
            OrderFilled: execution.on_fill,
            OrderCanceled: execution.on_canceled,
            OrderRejected: execution.on_rejected,
            OrderDenied: execution.on_denied,
            PositionChanged: execution.on_position,
            ExecutionSnapshot: execution.on_snapshot,
            TradingStateChanged: self._on_trading_state,
            UniverseChanged: self._on_universe,
            FeedReady: self._on_feed_ready,
            FeedStatus: self._on_feed_status,
        }

    # -- views of the parts (for the tests and the benchmarks) ----------------------------

    @property
    def state(self) -> State:
        return self.core.state

    @property
    def reason(self) -> str:
        return self.core.reason

    @property
    def levels(self) -> ExitLevels | None:
        return self.holding.levels

    @property
    def orders(self) -> OrderFactory:
        return self.desk.factory

    @property
    def early_feed_ready(self) -> tuple[str, int] | None:
        return self.market.early_feed_ready

    @property
    def rules(self) -> Mapping[str, InstrumentRules]:
        """The instrument rules given so far (`set_rules`), by symbol: read-only."""
        return MappingProxyType(self.market.rules)

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
        core = self.core
        if core.check_quiet(now_ns, out):
            return out
        state = core.state
        if state is S.ENTRY_PENDING:
            self.entries.check_timeout(now_ns, out)
        elif state is S.POSITION_OPEN:
            core.check_exit(now_ns, out)
        elif state in (S.SWITCHING, S.HALTED):
            core.flatten(now_ns, out)
        return out

    def executor_silent(self, now_ns: int) -> list[Output]:
        out: list[Output] = []
        self.core.go(S.SYNCING, "executor silent", now_ns, out)
        return out

    def set_rules(self, rules: InstrumentRules) -> None:
        self.market.rules[rules.symbol] = rules

    def status(self, now_ns: int) -> StrategyStatus:
        market, book = self.market, self.book
        listing = market.listing
        return StrategyStatus(
            strategy_id=self.settings.strategy_id,
            state=self.core.state.value,
            symbol=listing.symbol if listing is not None and market.feed_ready else book.symbol,
            epoch=listing.epoch if listing is not None else 0,
            position_qty=book.qty,
            entry_price=book.entry_price,
            realised_pnl_usdt=book.realised_pnl,
            reason=self.core.reason,
            ts_event_ns=now_ns,
        )

    # -- market data (the hot path) -------------------------------------------------------

    def _on_quote(self, quote: Quote, now_ns: int, out: list[Output]) -> None:
        if not self.market.current(quote.symbol, quote.epoch, now_ns):
            return
        self.market.take_quote(quote)
        state = self.core.state
        if state is S.IDLE:
            self.entries.try_entry(now_ns, out)
        elif state is S.POSITION_OPEN:
            self.core.check_exit(now_ns, out)
        elif state is S.ENTRY_PENDING:
            self.entries.check_timeout(now_ns, out)

    def _on_trade(self, trade: Trade, now_ns: int, out: list[Output]) -> None:
        if not self.market.current(trade.symbol, trade.epoch, now_ns):
            return
        idle = self.core.state is S.IDLE
        self.market.take_trade(trade, decides=idle)
        if idle:
            self.entries.try_entry(now_ns, out)

    # -- lifecycle: trading state, universe, feed -----------------------------------------

    def _on_trading_state(self, event: TradingStateChanged, now_ns: int, out: list[Output]) -> None:
        self.market.trading_state = event.state
        core = self.core
        if core.state is S.SYNCING:
            return
        if event.state is TradingState.HALTED:
            core.go(S.HALTED, f"halted: {event.reason}", now_ns, out)
            core.flatten(now_ns, out)
        elif core.state is S.HALTED:
            core.enter_rest_state(f"trading {event.state.value}: {event.reason}", now_ns, out)

    def _on_universe(self, event: UniverseChanged, now_ns: int, out: list[Output]) -> None:
        previous = self.market.listing
        if not self.market.adopt_universe(event, now_ns):
            return
        core = self.core
        if core.state in (S.SYNCING, S.HALTED):
            return
        first = previous is None and self.book.symbol in (None, event.symbol)
        if first and core.state is not S.SWITCHING:
            return  # learning the universe, not a switch: keep what we hold
        reason = f"universe {event.symbol} epoch {event.epoch}: {event.reason}"
        core.go(S.SWITCHING, reason, now_ns, out)
        core.flatten(now_ns, out)

    def _on_feed_ready(self, event: FeedReady, now_ns: int, out: list[Output]) -> None:
        if self.market.adopt_feed_ready(event, now_ns, out):
            self.core.leave_switching_if_done(now_ns, out)

    def _on_feed_status(self, event: FeedStatus, now_ns: int, out: list[Output]) -> None:
        self.market.adopt_feed_status(event)
