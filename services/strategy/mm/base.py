"""The market maker's state and shared moves; events.py and core.py's parts add the handlers.

`MakerBase` owns the phase, the per-symbol markets, the quote manager, the taker desk,
the telemetry and the bookkeeping of commands awaiting an answer (`sent_ns`: an order
unheard of for order-quiet-s puts its outcome in doubt and the maker rebuilds from the
executor's snapshot, as the scalper does).
"""

import time
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from services.strategy.api import Command, Output, Resync, Transition
from services.strategy.mm.estimators import NS_PER_S, AckLatency
from services.strategy.mm.market import SymbolMarket
from services.strategy.mm.telemetry import Telemetry
from services.strategy.mm.trading import RejectRate, TakerDesk, new_manager, order_ids
from services.strategy.settings import StrategySettings
from shared.schema import (
    InstrumentRules,
    OrderSide,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    TradingState,
)


class Phase(StrEnum):
    SYNCING = "Syncing"  # view unknown: send nothing until a reconciled snapshot
    QUOTING = "Quoting"
    HALTED = "Halted"  # trading state not Active: quotes withdrawn
    STOPPED = "Stopped"  # HARD for every symbol: no quote until a restart


class MakerBase:
    """State and the moves shared by the handlers (see the module docstring)."""

    def __init__(
        self,
        settings: StrategySettings,
        *,
        last_seq: int = 0,
        timer_ns: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self.settings = settings
        self.mm = mm = settings.market_maker
        self.timer_ns = timer_ns  # durations only (metrics); decisions never read it
        self.phase = Phase.SYNCING
        self.reason = "start"
        self.counters: Counter[str] = Counter()
        self.rules: dict[str, InstrumentRules] = {}
        self.markets: dict[Symbol, SymbolMarket] = {}
        self.universe: Symbol | None = None  # the scanner's symbol (used when symbols = ())
        # The scanner's market-making selection (used when symbols = () and follow =
        # "market-making"), and the ts_event_ns of the MarketMakingUniverse it came from.
        self.selection: frozenset[Symbol] = frozenset()
        self.selection_ts_ns = -1
        self.trading_state = TradingState.ACTIVE
        self.manager = new_manager(settings.strategy_id, mm, last_seq)
        self.takers = TakerDesk(settings.strategy_id, mm.taker_ttl_ms * 1_000_000)
        self.telemetry = Telemetry()
        self.acks = AckLatency(mm.ack_window_s)
        self.rejects = RejectRate(mm.reject_window_s)
        self.leftovers: set[str] = set()  # open orders of ours no quote holds, being cancelled
        self.forgotten: set[str] = set()  # the quotes the last rebuild dropped (sync)
        self.sent_ns: dict[str, int] = {}  # order id -> last command for it, unanswered
        self.backoff_until_ns: dict[str, int] = {}  # symbol -> no new quote before this
        self.hard_scopes: set[str] = set()  # symbols, or "*" for all, that went HARD
        self.paused: set[str] = set()  # symbols withdrawn while a passing HARD lasts
        self.trace_id = ""  # the latest market-data frame (a timer's commands carry it)
        self._quiet_ns = int(settings.order_quiet_s * NS_PER_S)

    # -- symbols

    def quoted(self, symbol: Symbol) -> bool:
        """Whether `symbol` is one the maker quotes now."""
        symbols = self.mm.symbols
        if symbols:
            return symbol in symbols
        if self.mm.follow == "market-making":
            return symbol in self.selection
        return symbol == self.universe

    def market(self, symbol: Symbol) -> SymbolMarket | None:
        """The symbol's state, created on first use; None without instrument rules."""
        found = self.markets.get(symbol)
        if found is not None:
            return found
        rules = self.rules.get(symbol)
        if rules is None:
            self.counters["no_rules"] += 1
            return None
        created = SymbolMarket(symbol, (rules.tick_size, rules.qty_step), self.mm)
        self.markets[symbol] = created
        self.manager.set_rules(symbol, rules.tick_size, rules.qty_step)
        return created

    # -- phases and commands

    def go(self, phase: Phase, reason: str, now_ns: int, out: list[Output]) -> None:
        if phase is self.phase:
            return
        out.append(Transition(self.phase.value, phase.value, reason, now_ns, self.trace_id))
        self.phase, self.reason = phase, reason

    def rest_phase(self) -> Phase:
        """Where a rebuilt view belongs: Stopped, Halted or Quoting."""
        if "*" in self.hard_scopes:
            return Phase.STOPPED
        return Phase.QUOTING if self.trading_state is TradingState.ACTIVE else Phase.HALTED

    def emit(self, commands: Sequence[Command], now_ns: int, out: list[Output]) -> None:
        """Send `commands`: each order they name awaits an answer from now."""
        for command in commands:
            for order_id in order_ids(command):
                self.sent_ns[order_id] = now_ns
            if isinstance(command, SubmitOrders | SubmitOrder):
                placed = len(command.orders) if isinstance(command, SubmitOrders) else 1
                self.rejects.sent(now_ns, placed)
                self.telemetry.quotes_sent += placed
            out.append(command)

    def sync(self, reason: str, now_ns: int, out: list[Output], *, resync: bool) -> None:
        """Our view of the orders is in doubt: forget the quotes, wait for a snapshot."""
        self.counters["resync_executor"] += 1
        self.forgotten = {q.client_order_id for q in self.manager.book.quotes()}
        last_seq = self.manager.book.last_seq
        self.manager = new_manager(self.settings.strategy_id, self.mm, last_seq)
        for symbol, rules in self.rules.items():
            if symbol in self.markets:
                self.manager.set_rules(Symbol(symbol), rules.tick_size, rules.qty_step)
        self._reapply_hard()
        self.takers.in_flight.clear()
        self.sent_ns.clear()
        self.go(Phase.SYNCING, reason, now_ns, out)
        if resync:
            out.append(Resync(("executor",), reason, now_ns))

    def _reapply_hard(self) -> None:
        for scope in self.hard_scopes:
            self.manager.book.set_hard(None if scope == "*" else Symbol(scope))

    def check_quiet(self, now_ns: int, out: list[Output]) -> bool:
        """Resync when an order's answer is overdue (its outcome may be lost on the bus)."""
        if self.phase is Phase.SYNCING or not self.sent_ns:
            return False
        order_id, since = min(self.sent_ns.items(), key=lambda item: item[1])
        if now_ns - since < self._quiet_ns:
            return False
        reason = f"{order_id} unheard of for {self.settings.order_quiet_s} s"
        self.sync(reason, now_ns, out, resync=True)
        return True

    def metrics(self) -> dict[str, Any]:
        """The telemetry (samples since the last call), inventory and quotes vs the touch."""
        out = self.telemetry.snapshot()
        out["inventory_qty"] = {s: float(m.position_qty) for s, m in sorted(self.markets.items())}
        out["inventory_usdt"] = {s: m.inventory_usdt() for s, m in sorted(self.markets.items())}
        out["total_inventory_usdt"] = sum(m.inventory_usdt() for m in self.markets.values())
        out["quote_ticks_from_touch"] = {
            s: self._ticks_from_touch(m) for s, m in sorted(self.markets.items())
        }
        out["phase"] = self.phase.value
        out["counters"] = dict(sorted((self.counters + self.manager.book.counters).items()))
        return out

    def _ticks_from_touch(self, market: SymbolMarket) -> dict[str, float | None]:
        best = market.best()
        found: dict[str, float | None] = {}
        for side in (OrderSide.BUY, OrderSide.SELL):
            quote = self.manager.book.quote(market.symbol, side)
            if quote is None or best is None:
                found[side.value] = None
                continue
            away = best[0] - quote.price if side is OrderSide.BUY else quote.price - best[1]
            found[side.value] = float(away / market.tick)
        return found
