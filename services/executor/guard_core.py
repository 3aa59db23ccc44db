"""The watchman's decisions, pure: a timer tick or a venue's answer in, with `now_ns`;
effects out. guard.py is the shell: it reads what a tick looks at, makes the venue calls
these ask for, and feeds the answers back here.

Every tick: each strategy instance's pulse (dead-man's switch: the working orders of the
instance that went silent are cancelled; an instance is a strategy events endpoint, and
owns the strategy ids its StrategyStatus named; an id no instance named belongs to the
first, `MAIN_INSTANCE`, so an order is never left without a switch),
REST polling while the private stream is down (else the orders left in doubt are asked
about again), a venue-side stop-loss for every unprotected position. Every
`check_interval_ns`: positions, working orders and equity against the venue. A difference
means reports were lost; the venue's view wins and a reconciliation books what was missed.
Today's loss at the limit halts trading until an operator resumes.
"""

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal

from services.executor.backstops import (
    DailyLoss,
    DeadMansSwitch,
    position_differences,
    unlisted_working_orders,
    utc_day,
    venue_stop_price,
)
from services.executor.effects import Count, Effect, RaiseAlert, Reconcile
from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from services.executor.ports import SOURCE
from shared.bybit.translate import InstrumentRules
from shared.schema import AlertSeverity, ClientOrderId, Position, Symbol, TradingState
from shared.settings import INSTANCE_PREFIX

NS_PER_S = 1_000_000_000
REPORT_GRACE_NS = NS_PER_S  # an order's reports may trail its ack by this much
# Bybit's refusal (10001) of a stop-loss on a position it holds none of: nothing to protect
# there; ours differs only until the fill's report comes, else the position check fixes it.
VENUE_POSITION_GONE = "for zero position"


@dataclass(frozen=True, slots=True)
class CancelOrders:
    """Cancel these working orders and wait for the venue's answers."""

    client_order_ids: tuple[ClientOrderId, ...]


@dataclass(frozen=True, slots=True)
class PollVenue:
    """Ask the venue over REST for what the (down) private stream would have said."""


@dataclass(frozen=True, slots=True)
class SettleInDoubt:
    """Ask the venue about the orders whose create was left unanswered."""


@dataclass(frozen=True, slots=True)
class SetVenueStop:
    """Put a stop-loss at `stop_price` on the venue's position in `symbol` (`qty` now)."""

    symbol: Symbol
    qty: Decimal
    stop_price: Decimal


@dataclass(frozen=True, slots=True)
class Protected:
    """`symbol` needs no stop any more (flat), or one was asked for: the next position
    report says if it held."""

    symbol: Symbol


@dataclass(frozen=True, slots=True)
class CheckVenue:
    """Compare positions and working orders with the venue's, and read the equity."""


@dataclass(frozen=True, slots=True)
class ZeroPosition:
    """The venue lists no position in `symbol`: ours is flat too."""

    symbol: Symbol


@dataclass(frozen=True, slots=True)
class TakePosition:
    """Take the venue's listed position in `symbol` (no stream report came after it)."""

    symbol: Symbol


@dataclass(frozen=True, slots=True)
class JournalDayStart:
    day: str
    equity_usdt: Decimal
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Halt:
    """Cancel everything, flatten, stay halted until an operator resumes."""

    reason: str


GuardEffect = (
    Effect
    | CancelOrders
    | PollVenue
    | SettleInDoubt
    | SetVenueStop
    | Protected
    | CheckVenue
    | ZeroPosition
    | TakePosition
    | JournalDayStart
    | Halt
)


@dataclass(frozen=True, slots=True)
class Watch:
    """What a tick looks at, gathered by the shell at `now_ns`."""

    now_ns: int
    reconciled: bool
    stream_up: bool
    working: tuple[OrderRecord, ...]  # the registry's open records
    unprotected: AbstractSet[Symbol]  # positions the stream reported without a stop
    positions: Mapping[Symbol, Position]
    rules: Mapping[str, InstrumentRules]


MAIN_INSTANCE = "strategy"  # the [strategy] instance's endpoint; unclaimed ids fall to it


class GuardCore:
    """The guard's timers and backstops; one per executor, driven by the shell."""

    def __init__(
        self,
        *,
        now_ns: int,
        dead_man_after_ns: int,
        check_interval_ns: int,
        poll_interval_ns: int,
        stop_pct: Decimal,
        daily_loss_limit_usdt: Decimal,
    ) -> None:
        self._dead_man_after_ns = dead_man_after_ns
        self._started_ns = now_ns
        self._dead_men: dict[str, DeadMansSwitch] = {
            MAIN_INSTANCE: DeadMansSwitch(dead_man_after_ns, now_ns)
        }
        self._instance_of: dict[str, str] = {}  # strategy id -> the instance that named it
        self._daily = DailyLoss(daily_loss_limit_usdt)
        self._check_interval_ns = check_interval_ns
        self._poll_interval_ns = poll_interval_ns
        self._stop_pct = stop_pct
        self._next_check_ns = now_ns
        self._next_poll_ns = now_ns

    def heard_strategy(
        self, now_ns: int, instance: str = MAIN_INSTANCE, strategy_ids: Iterable[str] = ()
    ) -> None:
        """`instance` spoke at `now_ns` (a heartbeat or any message); `strategy_ids`: the
        ids its StrategyStatus messages named (they are its orders from now on)."""
        switch = self._dead_men.get(instance)
        if switch is None:
            switch = self._dead_men[instance] = DeadMansSwitch(
                self._dead_man_after_ns, self._started_ns
            )
        switch.heard(now_ns)
        for strategy_id in strategy_ids:
            self._instance_of[strategy_id] = instance

    def heard_command(self, now_ns: int, strategy_id: str, sender: str = "") -> None:
        """A command of `strategy_id` from `sender` arrived at `now_ns`: its instance is
        alive. A restarted instance's first commands come before the executor's subscriber
        has reconnected to its events socket; without this its fresh quotes were cancelled
        as a silent one's. A strategy instance's command also says whose the id is (its
        sender, the bus name of the instance's process): an instance frozen before the
        executor heard any StrategyStatus of it had its orders counted as the first
        instance's, which kept talking, and they were never pulled (seen in CI)."""
        if sender == MAIN_INSTANCE or sender.startswith(INSTANCE_PREFIX):
            self.heard_strategy(now_ns, sender, (strategy_id,))
            return
        switch = self._dead_men.get(self._instance_of.get(strategy_id, MAIN_INSTANCE))
        if switch is not None:
            switch.heard(now_ns)

    def tick(self, watch: Watch) -> list[GuardEffect]:
        """What is due at `watch.now_ns`, in the order to carry it out."""
        now = watch.now_ns
        effects: list[GuardEffect] = self._dead_mans_switch(watch)
        if watch.reconciled and not watch.stream_up and now >= self._next_poll_ns:
            self._next_poll_ns = now + self._poll_interval_ns
            effects += [Count("rest_polls"), PollVenue()]  # REST takes over from the stream
        elif watch.reconciled:
            effects.append(SettleInDoubt())
        for symbol in sorted(watch.unprotected):
            effects += self._protect(symbol, watch)
        if now >= self._next_check_ns:
            self._next_check_ns = now + self._check_interval_ns
            effects.append(CheckVenue())
        return effects

    def _dead_mans_switch(self, watch: Watch) -> list[GuardEffect]:
        working: dict[str, list[ClientOrderId]] = {}
        for r in watch.working:
            if r.strategy_id != SOURCE and r.status in CANCELABLE_STATUSES:
                instance = self._instance_of.get(r.strategy_id, MAIN_INSTANCE)
                working.setdefault(instance, []).append(r.client_order_id)
        effects: list[GuardEffect] = []
        for instance, switch in sorted(self._dead_men.items()):
            orders = working.get(instance, [])
            if not switch.fires(watch.now_ns, len(orders)):
                continue
            silent_s = switch.silent_for_ns(watch.now_ns) / NS_PER_S
            detail = (
                f"strategy silent for {silent_s:.1f} s with {len(orders)} working orders:"
                f" cancelling them (instance {instance})"
            )
            effects += [
                Count("dead_mans_switch"),
                RaiseAlert(AlertSeverity.CRITICAL, "dead_mans_switch", detail),
                CancelOrders(tuple(orders)),
            ]
        return effects

    def _protect(self, symbol: Symbol, watch: Watch) -> list[GuardEffect]:
        position, rules = watch.positions.get(symbol), watch.rules.get(symbol)
        if position is None or position.qty == 0:
            return [Protected(symbol)]
        if rules is None or position.avg_entry_price <= 0:
            return []  # the next position report or check brings what is missing
        stop = venue_stop_price(position, self._stop_pct, rules)
        return [SetVenueStop(symbol, position.qty, stop)]

    @staticmethod
    def stop_answered(stop: SetVenueStop, refusal: str | None, qty_now: Decimal) -> list[Effect]:
        """The venue's answer to a stop-loss: `refusal` (its message) or None (set);
        `qty_now`: our position by the time it came."""
        if refusal is None:
            return [Count("venue_stops_set")]
        if qty_now == 0 or qty_now * stop.qty < 0:  # closed or flipped meanwhile: not needed
            return [Count("venue_stops_not_needed")]
        if VENUE_POSITION_GONE in refusal:  # closed at the venue, its report still on the way
            return [Count("venue_stops_position_gone")]  # (or lost: the next position check)
        detail = f"{stop.symbol} qty={stop.qty}: stop-loss {stop.stop_price} refused: {refusal}"
        return [RaiseAlert(AlertSeverity.CRITICAL, "venue_stop_failed", detail)]

    @staticmethod
    def positions_answered(
        ours: Mapping[str, Decimal],
        venue: Iterable[tuple[str, Decimal]],
        unknown: AbstractSet[str],
        changed: AbstractSet[str],
    ) -> tuple[bool, list[GuardEffect]]:
        """The venue's positions against ours as they were when the request left.

        `venue`: each listed (symbol, signed qty); `unknown`: symbols whose report was
        refused (unknown is not flat); `changed`: symbols the stream reported since the
        request left (newer than the answer: left alone). The venue's view wins. Returns
        whether any differed, and the effects: an alert per difference, then the positions
        to take, then those to zero.
        """
        listed: dict[str, Decimal] = {}
        for symbol, qty in venue:
            listed[symbol] = listed.get(symbol, Decimal(0)) + qty
        differences = position_differences(ours, listed, unknown, changed)
        effects: list[GuardEffect] = [Count("position_checks")]
        effects += [
            RaiseAlert(
                AlertSeverity.WARNING,
                "position_mismatch",
                f"{symbol}: ours {mine}, venue {theirs}; taking the venue's",
            )
            for symbol, mine, theirs in differences
        ]
        effects += [TakePosition(Symbol(s)) for s in listed if s not in changed]
        effects += [
            ZeroPosition(Symbol(s))
            for s in ours
            if s not in listed and s not in unknown and s not in changed
        ]
        return bool(differences), effects

    @staticmethod
    def orders_missing(
        working: Iterable[OrderRecord], venue_open_ids: AbstractSet[str], now_ns: int
    ) -> list[ClientOrderId]:
        """The acknowledged orders we think work that the venue does not list (reports
        were lost), once their reports are overdue."""
        settled = [r for r in working if not r.in_flight]
        return unlisted_working_orders(settled, venue_open_ids, now_ns, REPORT_GRACE_NS)

    @staticmethod
    def drifted(positions_differ: bool, missing_orders: int) -> list[GuardEffect]:
        if not (positions_differ or missing_orders):
            return []
        why = f"positions differ: {positions_differ}, working orders not listed: {missing_orders}"
        return [Count("drift_reconciliations"), Reconcile(why)]

    def day_to_open(self, now_ns: int, rebase: bool) -> str | None:
        """The UTC day whose start equity is to be set (a new day, or an operator's
        rebase after a reset), or None. The shell reads the journaled start of it."""
        return utc_day(now_ns) if rebase or self._daily.is_new_day(now_ns) else None

    def equity_answered(
        self,
        equity_usdt: Decimal,
        now_ns: int,
        state: TradingState,
        day: str | None,
        journaled_start_usdt: Decimal | None,
    ) -> list[GuardEffect]:
        """The venue's equity (finite, checked at the edge). `day`: from `day_to_open`;
        `journaled_start_usdt`: that day's start as journaled (None: none, or rebasing)."""
        effects: list[GuardEffect] = []
        if day is not None:
            start = journaled_start_usdt
            if start is not None and not start.is_finite():  # journaled before it was checked
                effects += [
                    Count("refused_day_start_not_finite"),
                    RaiseAlert(
                        AlertSeverity.CRITICAL,
                        "invalid_venue_report",
                        f"journaled start-of-day equity {start} refused: starting {day} afresh",
                    ),
                ]
                start = None
            if start is None:
                start = equity_usdt
                effects.append(JournalDayStart(day, equity_usdt, now_ns))
            self._daily.start_day(day, start)
        if state is not TradingState.HALTED and self._daily.breached(equity_usdt):
            pnl = self._daily.pnl_usdt(equity_usdt)
            reason = (
                f"daily loss limit: today's PnL {pnl:.2f} USDT reached"
                f" -{self._daily.limit_usdt} USDT; an operator must resume"
            )
            effects += [
                Count("daily_loss_halts"),
                RaiseAlert(AlertSeverity.CRITICAL, "daily_loss_limit", reason),
                Halt(reason),
            ]
        return effects
