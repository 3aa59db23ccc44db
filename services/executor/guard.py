"""The executor's watchman: positions, venue stops, equity and the strategy's pulse.

Every tick (half a second) it looks at the strategy's heartbeats (dead-man's switch), polls
the venue over REST while the private stream is down, asks again about orders left in
doubt, and puts a venue-side stop-loss on every unprotected position. Every
`position_check_interval_s` it verifies positions and working orders against the venue
and checks today's loss against the limit. A difference means reports were lost (frames
dropped without a reconnect): the venue's position is taken at once and a reconciliation
books what was missed (fills, final statuses) with an alert for each.
"""

import asyncio
import logging
from decimal import Decimal
from typing import Final

import msgspec

from services.executor.backstops import (
    DailyLoss,
    DeadMansSwitch,
    position_differences,
    unlisted_working_orders,
    utc_day,
    venue_stop_price,
)
from services.executor.order_control import OrderControl
from services.executor.order_flow import OrderFlow
from services.executor.order_state import CANCELABLE_STATUSES
from services.executor.ports import SOURCE, Parts
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.settings import ExecutorSettings
from services.executor.venue_events import VenueEvents
from shared.bus import Receiver
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.bybit.translate import to_position
from shared.schema import AlertSeverity, Symbol, TradingState

log = logging.getLogger(__name__)
TICK_S: Final = 0.5
NS_PER_S: Final = 1_000_000_000
REPORT_GRACE_NS: Final = NS_PER_S  # an order's reports may trail its ack by this much


class Guard:
    """Runs the backstops, concurrently with commands: an order whose request is in flight
    is left to its answer."""

    def __init__(
        self,
        parts: Parts,
        settings: ExecutorSettings,
        flow: OrderFlow,
        events: VenueEvents,
        control: OrderControl,
        reconciler: ReconcileRunner,
    ) -> None:
        self._parts = parts
        self._settings = settings
        self._flow = flow
        self._events = events
        self._control = control
        self._reconciler = reconciler
        self._clock = parts.clock
        self._counters = parts.counters
        self._outbox = parts.outbox
        now = self._clock.now_ns()
        self._dead_man = DeadMansSwitch(int(settings.dead_man_after_s * NS_PER_S), now)
        self._daily = DailyLoss(Decimal(str(settings.daily_loss_limit_usdt)))
        self._stop_pct = Decimal(str(settings.venue_stop_loss_pct))
        self._next_check_ns = now
        self._next_poll_ns = now
        self.equity_usdt: Decimal | None = None

    async def run(self, strategy: Receiver) -> None:
        """Forever, every tick (the first at once): what the strategy said meanwhile, then
        what is due. A tick, not a wake-up per strategy message: the strategy publishes its
        status right after an order, and the command should find the executor free."""
        while True:
            now = self._clock.now_ns()
            if strategy.drain(10_000):
                self._dead_man.heard(now)
            try:
                await self._tick(now)
            except BybitError as e:
                self._counters["guard_failures"] += 1
                log.warning("guard: venue call failed, trying again next tick error=%s", e)
            await asyncio.sleep(TICK_S)  # pacing, not waiting for anything

    async def _tick(self, now: int) -> None:
        await self._dead_mans_switch(now)
        status = self._parts.status
        if status.reconciled and not status.stream_up and now >= self._next_poll_ns:
            self._next_poll_ns = now + int(self._settings.stream_down_poll_s * NS_PER_S)
            self._counters["rest_polls"] += 1
            await self._reconciler.poll()  # REST polling takes over while the stream is down
        elif status.reconciled:
            await self._reconciler.settle_in_doubt()
        for symbol in sorted(self._parts.unprotected):
            await self._protect(symbol)
        if now >= self._next_check_ns:
            self._next_check_ns = now + int(self._settings.position_check_interval_s * NS_PER_S)
            positions_drifted = await self._verify_positions(now)
            if await self._verify_orders(now) or positions_drifted:
                self._counters["drift_reconciliations"] += 1
                self._parts.reconcile_wanted.set()
            await self._check_daily_loss(now)

    async def _dead_mans_switch(self, now: int) -> None:
        working = [
            r
            for r in self._parts.registry.open_records()
            if r.strategy_id != SOURCE and r.status in CANCELABLE_STATUSES
        ]
        if not self._dead_man.fires(now, len(working)):
            return
        silent_s = self._dead_man.silent_for_ns(now) / NS_PER_S
        self._counters["dead_mans_switch"] += 1
        self._outbox.alert(
            AlertSeverity.CRITICAL,
            "dead_mans_switch",
            f"strategy silent for {silent_s:.1f} s with {len(working)} working orders:"
            " cancelling them",
        )
        for record in working:
            await self._control.cancel_record(record, None)

    async def _protect(self, symbol: Symbol) -> None:
        """Put the venue-side stop-loss on a position that has none."""
        position = self._parts.registry.positions.get(symbol)
        rules = self._flow.rules.get(symbol)
        if position is None or position.qty == 0:
            self._parts.unprotected.discard(symbol)
            return
        if rules is None or position.avg_entry_price <= 0:
            return  # the next position report or check brings what is missing
        stop = venue_stop_price(position, self._stop_pct, rules)
        request = wire.TradingStopRequest(
            symbol=symbol, stop_loss=f"{stop.normalize():f}", sl_trigger_by="LastPrice"
        )
        try:
            await self._parts.rest.trading_stop(request, retry=True)
        except VenueError as e:
            now_qty = self._parts.registry.position_qty(symbol)
            if now_qty == 0 or now_qty * position.qty < 0:  # closed or flipped meanwhile
                log.info("venue stop not needed any more symbol=%s error=%s", symbol, e.ret_msg)
            else:
                self._outbox.alert(
                    AlertSeverity.CRITICAL,
                    "venue_stop_failed",
                    f"{symbol} qty={position.qty}: stop-loss {stop} refused: {e.ret_msg}",
                )
        else:
            self._counters["venue_stops_set"] += 1
            log.info("venue stop-loss set symbol=%s qty=%s stop=%s", symbol, position.qty, stop)
        self._parts.unprotected.discard(symbol)  # the next position report says if it held

    async def _verify_orders(self, now: int) -> bool:
        """Return True if an order we think works is not among the venue's open orders."""
        working = [r for r in self._parts.registry.open_records() if not r.in_flight]
        if not working:
            return False
        listed = await self._parts.rest.open_orders()
        venue_ids = {o.order_link_id for o in listed} | {o.order_id for o in listed}
        missing = unlisted_working_orders(working, venue_ids, now, REPORT_GRACE_NS)
        if missing:
            log.warning("working orders the venue does not list: %s", ", ".join(missing))
        return bool(missing)

    async def _verify_positions(self, now: int) -> bool:
        """Positions against the venue's; a mismatch is an alert, the venue's view wins: True."""
        registry = self._parts.registry
        before = dict(registry.positions)
        infos, unknown = self._events.checks.positions(await self._parts.rest.positions())
        self._counters["position_checks"] += 1
        changed = {s for s, p in registry.positions.items() if p is not before.get(s)}
        changed |= {s for s in before if s not in registry.positions}
        venue: dict[str, Decimal] = {}
        for info in infos:
            position = to_position(info)
            venue[position.symbol] = venue.get(position.symbol, Decimal(0)) + position.qty
        ours: dict[str, Decimal] = {s: position.qty for s, position in before.items()}
        differences = position_differences(ours, venue, set(unknown), changed)
        for symbol, mine, theirs in differences:
            self._mismatch(symbol, mine, theirs)
        for info in infos:  # the venue's view wins (the stream's newer reports stay)
            if info.symbol not in changed:
                self._events.on_position(info, now)
        for symbol, position in before.items():
            if symbol not in venue and symbol not in unknown and symbol not in changed:
                registry.positions[symbol] = msgspec.structs.replace(position, qty=Decimal(0))
        return bool(differences)

    def _mismatch(self, symbol: str, ours: Decimal, venue: Decimal) -> None:
        self._outbox.alert(
            AlertSeverity.WARNING,
            "position_mismatch",
            f"{symbol}: ours {ours}, venue {venue}; taking the venue's",
        )

    async def _check_daily_loss(self, now: int) -> None:
        """Equity since the start of the UTC day; at the limit: cancel all, flatten, halt."""
        wallet = await self._parts.rest.wallet_balance()
        if not self._events.checks.wallet_ok(wallet):  # counted and alerted
            self.equity_usdt = None  # unknown, not zero: checked again next time
            return
        equity = Decimal(wallet.total_equity)
        self.equity_usdt = equity
        journal, status = self._parts.journal, self._parts.status
        if status.rebase_daily_loss or self._daily.is_new_day(now):
            day = utc_day(now)
            start = None if status.rebase_daily_loss else journal.day_start(day)
            if start is not None and not start.is_finite():  # journaled before it was checked
                self._counters["refused_day_start_not_finite"] += 1
                self._outbox.alert(
                    AlertSeverity.CRITICAL,
                    "invalid_venue_report",
                    f"journaled start-of-day equity {start} refused: starting {day} afresh",
                )
                start = None
            if start is None:
                start = equity
                journal.record_day_start(day, equity, now)
            self._daily.start_day(day, start)
            status.rebase_daily_loss = False
        if status.state is not TradingState.HALTED and self._daily.breached(equity):
            pnl = self._daily.pnl_usdt(equity)
            self._counters["daily_loss_halts"] += 1
            reason = (
                f"daily loss limit: today's PnL {pnl:.2f} USDT reached"
                f" -{self._daily.limit_usdt} USDT; an operator must resume"
            )
            self._outbox.alert(AlertSeverity.CRITICAL, "daily_loss_limit", reason)
            await self._control.halt(reason, None)
