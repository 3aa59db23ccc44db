"""One symbol's quote cycle: the view the stages read, the stages, the requote, the take.

`QuoteCycle` is one part of `core.MarketMaker` (core.py lists the parts): `run` builds the
symbol's `CycleInput` from the maker's state (`_view`), runs the pure stages
(pipeline.py `run_cycle`), applies the guards' HARD (`PASSING_HARD` withdraws the symbol's
quotes while it lasts, any other stops its scope until a restart and alerts), requotes by
difference through the quote manager (timed as the "requote" stage) and sends a reduce-
only taker order when stage 4 wants one and nothing holds it back. A symbol the maker no
longer quotes (or without a mid, a book or rules) gets no targets: its quotes are withdrawn.
"""

from typing import Any

from services.strategy.api import Output, make_alert
from services.strategy.mm import guards
from services.strategy.mm.base import MakerBase, Phase
from services.strategy.mm.market import SymbolMarket
from services.strategy.mm.pipeline import NO_TARGETS, CycleInput, CycleResult, run_cycle
from services.strategy.mm.skew import order_qty
from services.strategy.mm.spread import SpreadInputs
from shared.schema import Symbol

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


class QuoteCycle:
    """Runs a symbol's stages over the maker's state and sends what they decide."""

    def __init__(self, maker: MakerBase) -> None:
        self._maker = maker

    def run(self, market: SymbolMarket, now_ns: int, out: list[Output]) -> None:
        """Run the symbol's stages, then requote by difference (or withdraw its quotes)."""
        maker = self._maker
        if maker.phase is Phase.SYNCING or maker.leftovers:
            maker.counters["cycle_waiting"] += 1
            return
        view = self._view(market, now_ns) if maker.quoted(market.symbol) else None
        if view is None:
            self._requote(market, NO_TARGETS, now_ns, out)
            return
        result = run_cycle(view, maker.mm, market.taker_cap, now_ns, maker.timer_ns)
        telemetry = maker.telemetry
        for stage, duration_ns in result.stage_ns:
            telemetry.stage(stage, duration_ns)
        telemetry.cycle(market.symbol, result.decision, result.spread)
        if result.decision.level is guards.Level.HARD:
            if set(result.decision.reasons) <= PASSING_HARD:
                self._pause(market.symbol, result.decision, now_ns, out)
            else:
                self._hard(market.symbol, result.decision, now_ns, out)
        elif market.symbol in maker.paused:
            maker.paused.discard(market.symbol)
            maker.counters["hard_pause_ended"] += 1
        quoting = maker.phase is Phase.QUOTING and market.feed_ready and market.feed_live
        targets = result.targets if quoting else NO_TARGETS
        if quoting and targets is NO_TARGETS and result.decision.level is not guards.Level.HARD:
            self._below_lot(market, view, now_ns, out)  # a quiet market or too small a size
        if now_ns < maker.backoff_until_ns.get(market.symbol, 0):  # working quotes only
            book = maker.manager.book
            targets = {s: t if book.quote(market.symbol, s) else None for s, t in targets.items()}
        self._requote(market, targets, now_ns, out)
        self._take(market, result, now_ns, out)

    def run_all(self, now_ns: int, out: list[Output]) -> None:
        """Run the cycle of every symbol with a book (the timer, a new trading state)."""
        for market in list(self._maker.markets.values()):
            if market.levels is not None:
                self.run(market, now_ns, out)

    def _below_lot(
        self, market: SymbolMarket, view: CycleInput, now_ns: int, out: list[Output]
    ) -> None:
        """No quote because order-notional-usdt buys less than one lot at this mid: counted
        each time, said once a symbol (else the maker would sit silent on it)."""
        maker = self._maker
        if order_qty(view.mid, market.lot, 1.0, maker.mm) > 0:
            return
        maker.counters["quote_below_lot"] += 1
        if market.below_lot_told:
            return
        market.below_lot_told = True
        lot_usdt = float(market.lot) * view.mid
        detail = (
            f"{market.symbol}: order-notional-usdt {maker.mm.order_notional_usdt:g} is under"
            f" one lot ({market.lot} at {view.mid:g}, {lot_usdt:.2f} USDT): no quotes"
        )
        out.append(make_alert("mm_quote_below_lot", detail, now_ns))

    def _requote(self, market: SymbolMarket, targets: Any, now_ns: int, out: list[Output]) -> None:
        maker = self._maker
        started = maker.timer_ns()
        commands = maker.manager.on_targets(market.symbol, targets, now_ns)
        maker.telemetry.stage("requote", maker.timer_ns() - started)
        maker.emit(commands, now_ns, out)

    def _take(
        self, market: SymbolMarket, result: CycleResult, now_ns: int, out: list[Output]
    ) -> None:
        maker = self._maker
        if result.capped:
            maker.counters["taker_capped"] += 1
        taker, levels = result.taker, market.levels
        if taker is None or levels is None or maker.phase in (Phase.SYNCING, Phase.HALTED):
            return
        symbol = market.symbol
        if maker.takers.busy(symbol) or now_ns < maker.backoff_until_ns.get(symbol, 0):
            maker.counters["taker_waiting"] += 1
            return
        order_id = maker.manager.book.next_id(levels.epoch, now_ns)
        maker.counters["taker_orders"] += 1
        maker.emit([maker.takers.order(order_id, taker, levels, now_ns)], now_ns, out)

    def _pause(
        self, symbol: Symbol, decision: guards.Decision, now_ns: int, out: list[Output]
    ) -> None:
        # A HARD the market itself may lift (a stale feed, a crossed book): the symbol's
        # quotes are withdrawn (the stages give no target at HARD) for as long as it lasts,
        # not until a restart; an alert when it starts.
        maker = self._maker
        if symbol in maker.paused:
            return
        maker.paused.add(symbol)
        maker.counters["hard_pauses"] += 1
        detail = f"HARD on {symbol} while {', '.join(decision.reasons)}: quotes withdrawn"
        out.append(make_alert("mm_hard_pause", detail, now_ns))

    def _hard(
        self, symbol: Symbol, decision: guards.Decision, now_ns: int, out: list[Output]
    ) -> None:
        maker = self._maker
        scope = "*" if decision.scope is guards.Scope.ALL else symbol
        if scope in maker.hard_scopes:
            return
        maker.hard_scopes.add(scope)
        maker.emit(maker.manager.set_hard(None if scope == "*" else symbol, now_ns), now_ns, out)
        detail = (
            f"HARD on {'every symbol' if scope == '*' else symbol}: {', '.join(decision.reasons)}"
        )
        out.append(make_alert("mm_hard_guard", detail, now_ns, critical=True))
        if scope == "*":
            maker.go(Phase.STOPPED, detail, now_ns, out)

    def _view(self, market: SymbolMarket, now_ns: int) -> CycleInput | None:
        maker = self._maker
        mid, best = market.mid(), market.best()
        rules = maker.rules.get(market.symbol)
        if mid is None or best is None or rules is None:
            return None
        markets = maker.markets.values()
        sigma = market.volatility.sigma_per_sqrt_s(now_ns)
        ack = maker.acks.p95_ms(now_ns)
        window = market.pnl.window_usdt(now_ns)
        today = sum(m.pnl.today_usdt(now_ns) + m.unrealised_usdt() for m in markets)
        total = sum(m.inventory_usdt() for m in markets)
        near = market.near_touch_usdt(maker.mm.liq_band_bps)
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
                reject_rate_ratio=maker.rejects.ratio(now_ns),
                circuit_breaker_open=False,
            ),
            fit=market.fit,
            max_taker_qty=rules.floor_qty(rules.max_mkt_qty),
        )
