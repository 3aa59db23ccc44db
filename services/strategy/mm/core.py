"""The market maker (issue 16): `MarketMaker` implements `api.Strategy` over the stages.

Phases (base.py): Syncing (start, executor silent, an order unheard of for order-quiet-s:
nothing is sent until a reconciled ExecutionSnapshot; its open orders of ours are
cancelled as leftovers and quoting waits until they are gone; a rejoin's snapshot, the
executor restarted or its stream skipped, goes through Syncing at once, in any phase),
Quoting, Halted (trading state not Active: every quote is withdrawn), Stopped (HARD for
every symbol).

Each quoted symbol (`[strategy.market-maker] symbols`; when none, the universe's symbol, or
with `follow = "market-making"` every symbol of the scanner's MarketMakingUniverse) is
independent: its own book, estimators, taker cap, position and PnL (market.py); the
guards also see the total inventory. A book update (BookLevels, or a Quote standing in for
one at feed depth 1) or a trade first moves the queue estimates and pulls threatened
quotes at once (fast-cancel, outside the cycle), then runs the symbol's cycle
(pipeline.py) and requotes by difference (the quote manager, queue-aware). The timer runs
every symbol's cycle too. HARD cancels its scope's quotes, stops new ones there (until a
restart) and raises a critical Alert, except a HARD that passes by itself (a stale feed, a
crossed book, the reject rate, the ack latency, an open breaker: cycle.py `PASSING_HARD`),
which withdraws the symbol's quotes while it lasts; over the HARD inventory limit a
reduce-only taker order goes out while the taker cap allows. `metrics()` returns the
telemetry as a dict.

A symbol that leaves the followed selection has its quotes withdrawn at once and waits for
a new FeedReady should it come back; a position held there is not worked off (nothing is
quoted there any more): it is left as it is, still counted in the total inventory, with a
warning Alert `mm_symbol_left_with_position` naming it for the operator.

`MarketMaker` is the state and its shared moves (base.py `MakerBase`) with the execution
events' handlers (events.py `MakerEvents`), and holds three parts, each over that state:

- `cycle.QuoteCycle`: one symbol's cycle: its view, the stages, HARD, requote, the take;
- `market_data.MarketData`: book updates and trades: estimators, fast-cancel, the cycle;
- `lifecycle.Lifecycle`: the universe, the selection, the feed and the trading state.

Here: the `Strategy` interface and the routing of each message type to its handler.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from services.strategy.api import Output
from services.strategy.mm.cycle import QuoteCycle
from services.strategy.mm.events import MakerEvents
from services.strategy.mm.lifecycle import Lifecycle
from services.strategy.mm.market_data import MarketData
from shared.schema import (
    BookLevels,
    BusMessage,
    ExecutionSnapshot,
    FeedReady,
    FeedStatus,
    InstrumentRules,
    MarketMakingUniverse,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    PositionChanged,
    Quote,
    StrategyStatus,
    Trade,
    TradingStateChanged,
    UniverseChanged,
)

Handler = Callable[[Any, int, list[Output]], None]
_ORDER_EVENTS = (
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
)


class MarketMaker(MakerEvents):
    """Quotes both sides of each symbol by the pipeline's stages (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cycle = QuoteCycle(self)
        self.market_data = MarketData(self, self.cycle)
        self.lifecycle = Lifecycle(self, self.cycle)
        self._handlers = self._route()

    def _route(self) -> dict[type, Handler]:
        data, lifecycle = self.market_data, self.lifecycle
        return {
            Quote: data.on_quote,
            BookLevels: data.on_levels,
            Trade: data.on_trade,
            PositionChanged: self.on_position,
            ExecutionSnapshot: self.on_snapshot,
            TradingStateChanged: lifecycle.on_trading_state,
            UniverseChanged: lifecycle.on_universe,
            MarketMakingUniverse: lifecycle.on_selection,
            FeedReady: lifecycle.on_feed_ready,
            FeedStatus: lifecycle.on_feed_status,
            **{kind: self.on_order_event for kind in _ORDER_EVENTS},
        }

    # -- the Strategy interface

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
        if self.check_quiet(now_ns, out):
            return out
        self.cycle.run_all(now_ns, out)
        return out

    def executor_silent(self, now_ns: int) -> list[Output]:
        out: list[Output] = []
        self.sync("executor silent", now_ns, out, resync=False)  # the loop joins it again
        return out

    def set_rules(self, rules: InstrumentRules) -> None:
        self.rules[rules.symbol] = rules

    def status(self, now_ns: int) -> StrategyStatus:
        quoted = sorted(s for s in self.markets if self.quoted(s))
        symbol = quoted[0] if quoted else self.universe
        market = self.markets.get(symbol) if symbol is not None else None
        return StrategyStatus(
            strategy_id=self.settings.strategy_id,
            state=self.phase.value,
            symbol=symbol,
            epoch=market.epoch if market is not None else 0,
            position_qty=market.position_qty if market is not None else Decimal(0),
            entry_price=market.holding.entry_price if market and market.position_qty else None,
            realised_pnl_usdt=self.realised_usdt(),
            reason=self.reason,
            ts_event_ns=now_ns,
        )
