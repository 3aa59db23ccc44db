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
crossed book, the reject rate, the ack latency, an open breaker: `PASSING_HARD`), which
withdraws the symbol's quotes while it lasts;
over the HARD inventory limit a reduce-only taker order goes out while the taker cap
allows. `metrics()` returns the telemetry as a dict.

A symbol that leaves the followed selection has its quotes withdrawn at once and waits for
a new FeedReady should it come back; a position held there is not worked off (nothing is
quoted there any more): it is left as it is, still counted in the total inventory, with a
warning Alert `mm_symbol_left_with_position` naming it for the operator.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from services.strategy.api import Output, make_alert
from services.strategy.mm import guards
from services.strategy.mm.base import Phase
from services.strategy.mm.events import MakerEvents
from services.strategy.mm.market import SymbolMarket, quote_levels
from services.strategy.mm.pipeline import NO_TARGETS, CycleInput, CycleResult, run_cycle
from services.strategy.mm.spread import SpreadInputs
from shared.schema import (
    BookLevels,
    BusMessage,
    ExecutionSnapshot,
    FeedReady,
    FeedState,
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
    OrderSide,
    PositionChanged,
    Quote,
    StrategyStatus,
    Symbol,
    Trade,
    TradingState,
    TradingStateChanged,
    UniverseChanged,
)

Handler = Callable[[Any, int, list[Output]], None]
# A HARD that passes by itself (the feed, the book, the venue's answers over a rolling
# window, an open breaker): quotes withdrawn while it lasts, not until a restart. A loss or
# an inventory HARD stays until a restart.
PASSING_HARD = frozenset(
    {
        guards.FEED_STALE,
        guards.BOOK_CROSSED,
        guards.REJECT_RATE,
        guards.ACK_LATENCY,
        guards.CIRCUIT_BREAKER,
    }
)
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
        self._handlers: dict[type, Handler] = {
            Quote: self._on_quote,
            BookLevels: self._on_levels,
            Trade: self._on_trade,
            PositionChanged: self.on_position,
            ExecutionSnapshot: self.on_snapshot,
            TradingStateChanged: self._on_trading_state,
            UniverseChanged: self._on_universe,
            MarketMakingUniverse: self._on_selection,
            FeedReady: self._on_feed_ready,
            FeedStatus: self._on_feed_status,
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
        for market in list(self.markets.values()):
            if market.levels is not None:
                self._cycle(market, now_ns, out)
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

    # -- market data

    def _on_quote(self, quote: Quote, now_ns: int, out: list[Output]) -> None:
        market = self._data_market(quote.symbol)
        if market is None:
            return
        if market.levels_from_feed:  # BookLevels carry the same top: they drive the cycle
            self.counters["quote_beside_levels"] += 1
            return
        self._book(market, quote_levels(quote), now_ns, out)

    def _on_levels(self, levels: BookLevels, now_ns: int, out: list[Output]) -> None:
        market = self._data_market(levels.symbol)
        if market is not None:
            market.levels_from_feed = True
            self._book(market, levels, now_ns, out)

    def _book(
        self, market: SymbolMarket, levels: BookLevels, now_ns: int, out: list[Output]
    ) -> None:
        market.on_levels(levels, now_ns)
        market.refit(now_ns, int(self.mm.intensity_refit_s * 1e9))
        self.trace_id = levels.trace_id
        self.emit(self.manager.on_book(levels, now_ns), now_ns, out)  # fast-cancel
        self._cycle(market, now_ns, out)

    def _on_trade(self, trade: Trade, now_ns: int, out: list[Output]) -> None:
        market = self._data_market(trade.symbol)
        if market is None:
            return
        market.intensity.on_trade(float(trade.price), trade.taker_side is OrderSide.BUY)
        self.trace_id = trade.trace_id
        self.emit(self.manager.on_trade(trade, now_ns), now_ns, out)  # fast-cancel
        if market.levels is not None:
            self._cycle(market, now_ns, out)

    def _data_market(self, symbol: Symbol) -> SymbolMarket | None:
        market = self.market(symbol) if self.quoted(symbol) else None
        if market is None:
            self.counters["other_symbol_md"] += 1
        return market

    # -- the cycle

    def _cycle(self, market: SymbolMarket, now_ns: int, out: list[Output]) -> None:
        """Run the symbol's stages, then requote by difference (or withdraw its quotes)."""
        if self.phase is Phase.SYNCING or self.leftovers:
            self.counters["cycle_waiting"] += 1
            return
        view = self._view(market, now_ns) if self.quoted(market.symbol) else None
        if view is None:
            self._requote(market, NO_TARGETS, now_ns, out)
            return
        result = run_cycle(view, self.mm, market.taker_cap, now_ns, self.timer_ns)
        for stage, duration_ns in result.stage_ns:
            self.telemetry.stage(stage, duration_ns)
        self.telemetry.cycle(market.symbol, result.decision, result.spread)
        if result.decision.level is guards.Level.HARD:
            if set(result.decision.reasons) <= PASSING_HARD:
                self._pause(market.symbol, result.decision, now_ns, out)
            else:
                self._hard(market.symbol, result.decision, now_ns, out)
        elif market.symbol in self.paused:
            self.paused.discard(market.symbol)
            self.counters["hard_pause_ended"] += 1
        quoting = self.phase is Phase.QUOTING and market.feed_ready and market.feed_live
        targets = result.targets if quoting else NO_TARGETS
        if now_ns < self.backoff_until_ns.get(market.symbol, 0):  # working quotes only
            book = self.manager.book
            targets = {s: t if book.quote(market.symbol, s) else None for s, t in targets.items()}
        self._requote(market, targets, now_ns, out)
        self._take(market, result, now_ns, out)

    def _requote(self, market: SymbolMarket, targets: Any, now_ns: int, out: list[Output]) -> None:
        started = self.timer_ns()
        commands = self.manager.on_targets(market.symbol, targets, now_ns)
        self.telemetry.stage("requote", self.timer_ns() - started)
        self.emit(commands, now_ns, out)

    def _take(
        self, market: SymbolMarket, result: CycleResult, now_ns: int, out: list[Output]
    ) -> None:
        if result.capped:
            self.counters["taker_capped"] += 1
        taker, levels = result.taker, market.levels
        if taker is None or levels is None or self.phase in (Phase.SYNCING, Phase.HALTED):
            return
        if self.takers.busy(market.symbol) or now_ns < self.backoff_until_ns.get(market.symbol, 0):
            self.counters["taker_waiting"] += 1
            return
        order_id = self.manager.book.next_id(levels.epoch, now_ns)
        self.counters["taker_orders"] += 1
        self.emit([self.takers.order(order_id, taker, levels, now_ns)], now_ns, out)

    def _pause(
        self, symbol: Symbol, decision: guards.Decision, now_ns: int, out: list[Output]
    ) -> None:
        """A HARD the market itself may lift (a stale feed, a crossed book): the symbol's
        quotes are withdrawn (the stages give no target at HARD) for as long as it lasts,
        not until a restart; an alert when it starts."""
        if symbol in self.paused:
            return
        self.paused.add(symbol)
        self.counters["hard_pauses"] += 1
        detail = f"HARD on {symbol} while {', '.join(decision.reasons)}: quotes withdrawn"
        out.append(make_alert("mm_hard_pause", detail, now_ns))

    def _hard(
        self, symbol: Symbol, decision: guards.Decision, now_ns: int, out: list[Output]
    ) -> None:
        scope = "*" if decision.scope is guards.Scope.ALL else symbol
        if scope in self.hard_scopes:
            return
        self.hard_scopes.add(scope)
        self.emit(self.manager.set_hard(None if scope == "*" else symbol, now_ns), now_ns, out)
        detail = (
            f"HARD on {'every symbol' if scope == '*' else symbol}: {', '.join(decision.reasons)}"
        )
        out.append(make_alert("mm_hard_guard", detail, now_ns, critical=True))
        if scope == "*":
            self.go(Phase.STOPPED, detail, now_ns, out)

    def _view(self, market: SymbolMarket, now_ns: int) -> CycleInput | None:
        mid, best = market.mid(), market.best()
        rules = self.rules.get(market.symbol)
        if mid is None or best is None or rules is None:
            return None
        sigma = market.volatility.sigma_per_sqrt_s(now_ns)
        ack = self.acks.p95_ms(now_ns)
        window = market.pnl.window_usdt(now_ns)
        today = sum(m.pnl.today_usdt(now_ns) + m.unrealised_usdt() for m in self.markets.values())
        total = sum(m.inventory_usdt() for m in self.markets.values())
        near = market.near_touch_usdt(self.mm.liq_band_bps)
        return CycleInput(
            mid=mid,
            best=best,
            grid=(market.tick, market.lot),
            position_qty=market.position_qty,
            total_gross_usdt=total,
            sigma_log_per_sqrt_s=sigma,
            spread_inputs=SpreadInputs(None if sigma is None else sigma * 1e4, near, ack, window),
            guard_view=guards.Observations(
                symbol_inventory_usdt=market.inventory_usdt(),
                total_inventory_usdt=total,
                window_loss_usdt=-window,
                daily_loss_usdt=-today,
                ack_p95_ms=ack,
                feed_age_ms=market.feed_age_ms(now_ns),
                book_crossed=best[0] >= best[1],
                reject_rate_ratio=self.rejects.ratio(now_ns),
                circuit_breaker_open=False,
            ),
            fit=market.fit,
            max_taker_qty=rules.floor_qty(rules.max_mkt_qty),
        )

    # -- lifecycle: universe, feed, trading state

    def _on_universe(self, event: UniverseChanged, now_ns: int, out: list[Output]) -> None:
        previous, self.universe = self.universe, event.symbol
        if previous is not None and previous != event.symbol and previous in self.markets:
            self._cycle(self.markets[previous], now_ns, out)  # no longer quoted: withdrawn

    def _on_selection(self, event: MarketMakingUniverse, now_ns: int, out: list[Output]) -> None:
        """Quote the selection's symbols; withdraw from a leaver (its position: module doc)."""
        if self.mm.symbols or self.mm.follow != "market-making":
            self.counters["mm_universe_not_followed"] += 1
            return
        if event.ts_event_ns < self.selection_ts_ns:
            self.counters["stale_mm_universe"] += 1
            return
        previous, self.selection = self.selection, frozenset(event.symbols)
        self.selection_ts_ns = event.ts_event_ns
        for symbol in sorted(previous - self.selection):
            market = self.markets.get(symbol)
            if market is None:
                continue
            self.counters["mm_symbols_left"] += 1
            market.feed_ready = False  # back in the selection: quoted after its new FeedReady
            self._cycle(market, now_ns, out)  # no longer quoted: withdrawn
            if market.position_qty:
                detail = (
                    f"{symbol} left the market-making selection holding {market.position_qty}"
                    f" ({market.inventory_usdt():.2f} USDT): quotes withdrawn, position left"
                )
                out.append(make_alert("mm_symbol_left_with_position", detail, now_ns))

    def _on_feed_ready(self, event: FeedReady, now_ns: int, out: list[Output]) -> None:
        market = self.market(event.symbol)
        if market is not None:
            market.feed_ready, market.feed_live = True, True

    def _on_feed_status(self, event: FeedStatus, now_ns: int, out: list[Output]) -> None:
        market = self.market(event.symbol) if self.quoted(event.symbol) else None
        if market is None:
            self.counters["other_symbol_feed_status"] += 1
            return
        market.feed_live = event.state is FeedState.LIVE

    def _on_trading_state(self, event: TradingStateChanged, now_ns: int, out: list[Output]) -> None:
        self.trading_state = event.state
        if self.phase in (Phase.SYNCING, Phase.STOPPED):
            return
        active = event.state is TradingState.ACTIVE
        self.go(
            Phase.QUOTING if active else Phase.HALTED,
            f"trading {event.state.value}: {event.reason}",
            now_ns,
            out,
        )
        for market in list(self.markets.values()):
            if market.levels is not None:
                self._cycle(market, now_ns, out)
