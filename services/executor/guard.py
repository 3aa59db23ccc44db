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
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

import msgspec

from services.executor.effects import Count, EffectShell, Publish, RaiseAlert, Reconcile
from services.executor.guard_core import (
    CancelOrders,
    CheckVenue,
    GuardCore,
    GuardEffect,
    Halt,
    JournalDayStart,
    PollVenue,
    Protected,
    SettleInDoubt,
    SetVenueStop,
    TakePosition,
    Watch,
    ZeroPosition,
)
from services.executor.order_control import OrderControl
from services.executor.order_flow import OrderFlow
from services.executor.ports import Parts
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.settings import ExecutorSettings
from services.executor.venue_events import VenueEvents
from services.executor.venue_reports import position_of
from shared.bus import Receiver
from shared.bybit import wire
from shared.bybit.errors import BybitError, VenueError
from shared.schema import StrategyStatus

log = logging.getLogger(__name__)
TICK_S: Final = 0.5
NS_PER_S: Final = 1_000_000_000


class Guard:
    """Carries out what guard_core decides, concurrently with commands: an order whose
    request is in flight is left to its answer."""

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
        self._flow = flow
        self._events = events
        self._control = control
        self._reconciler = reconciler
        self._clock = parts.clock
        self._counters = parts.counters
        self._shell = EffectShell(parts.outbox, parts.counters, parts.reconcile_wanted)
        self.core = GuardCore(
            now_ns=self._clock.now_ns(),
            dead_man_after_ns=int(settings.dead_man_after_s * NS_PER_S),
            check_interval_ns=int(settings.position_check_interval_s * NS_PER_S),
            poll_interval_ns=int(settings.stream_down_poll_s * NS_PER_S),
            stop_pct=Decimal(str(settings.venue_stop_loss_pct)),
            daily_loss_limit_usdt=Decimal(str(settings.daily_loss_limit_usdt)),
        )
        self.equity_usdt: Decimal | None = None

    async def run(self, strategies: Mapping[str, Receiver]) -> None:
        """Forever, every tick (the first at once): what each strategy instance (its events
        receiver, by name) said meanwhile, then what is due. A tick, not a wake-up per
        strategy message: the strategy publishes its status right after an order, and the
        command should find the executor free."""
        while True:
            now = self._clock.now_ns()
            for instance, receiver in strategies.items():
                said = receiver.drain(10_000)
                if said:
                    ids = {
                        d.message.strategy_id for d in said if isinstance(d.message, StrategyStatus)
                    }
                    self.core.heard_strategy(now, instance, ids)
            try:
                await self._tick(now)
            except BybitError as e:
                self._counters["guard_failures"] += 1
                log.warning("guard: venue call failed, trying again next tick error=%s", e)
            await asyncio.sleep(TICK_S)  # pacing, not waiting for anything

    async def _tick(self, now: int) -> None:
        parts = self._parts
        watch = Watch(
            now_ns=now,
            reconciled=parts.status.reconciled,
            stream_up=parts.status.stream_up,
            working=tuple(parts.registry.open_records()),
            unprotected=frozenset(parts.unprotected),
            positions=parts.registry.positions,
            rules=self._flow.rules,
        )
        await self._carry_out(self.core.tick(watch), now)

    async def _carry_out(self, effects: list[GuardEffect], now: int) -> None:
        for effect in effects:
            if isinstance(effect, CancelOrders):
                for coid in effect.client_order_ids:
                    record = self._parts.registry.get(coid)
                    if record is not None:
                        await self._control.cancel_record(record, None)
            elif isinstance(effect, PollVenue):
                await self._reconciler.poll()
            elif isinstance(effect, SettleInDoubt):
                await self._reconciler.settle_in_doubt()
            elif isinstance(effect, SetVenueStop):
                await self._set_stop(effect)
            elif isinstance(effect, CheckVenue):
                await self._check_venue(now)
            elif isinstance(effect, Halt):
                await self._control.halt(effect.reason, None)
            else:
                self._carry_out_now(effect)

    def _carry_out_now(self, effect: GuardEffect) -> None:
        """The effects that make no venue call."""
        if isinstance(effect, Protected):
            self._parts.unprotected.discard(effect.symbol)
        elif isinstance(effect, JournalDayStart):
            self._parts.journal.record_day_start(effect.day, effect.equity_usdt, effect.ts_ns)
        elif isinstance(effect, Publish | RaiseAlert | Count | Reconcile):
            self._shell.run((effect,))
        else:  # TakePosition, ZeroPosition: only a position check makes them (_check_positions)
            raise TypeError(f"not expected here: {effect}")

    async def _set_stop(self, stop: SetVenueStop) -> None:
        request = wire.TradingStopRequest(
            symbol=stop.symbol,
            stop_loss=f"{stop.stop_price.normalize():f}",
            sl_trigger_by="LastPrice",
        )
        refusal: str | None = None
        try:
            await self._parts.rest.trading_stop(request, retry=True)
        except VenueError as e:
            refusal = e.ret_msg
        qty_now = self._parts.registry.position_qty(stop.symbol)
        effects = self.core.stop_answered(stop, refusal, qty_now)
        log.info(
            "venue stop-loss %s symbol=%s qty=%s stop=%s%s",
            "set" if refusal is None else "refused",
            stop.symbol,
            stop.qty,
            stop.stop_price,
            "" if refusal is None else f" error={refusal} qty_now={qty_now}",
        )
        self._shell.run(effects)
        self._parts.unprotected.discard(stop.symbol)  # the next position report says if it held

    async def _check_venue(self, now: int) -> None:
        positions_differ = await self._check_positions(now)
        missing = await self._check_orders(now)
        await self._carry_out(self.core.drifted(positions_differ, len(missing)), now)
        await self._check_daily_loss(now)

    async def _check_orders(self, now: int) -> list[str]:
        working = self._parts.registry.open_records()
        if not [r for r in working if not r.in_flight]:
            return []
        listed = await self._parts.rest.open_orders()
        venue_ids = {o.order_link_id for o in listed} | {o.order_id for o in listed}
        missing = self.core.orders_missing(working, venue_ids, now)
        if missing:
            log.warning("working orders the venue does not list: %s", ", ".join(missing))
        return list(missing)

    async def _check_positions(self, now: int) -> bool:
        """Positions against the venue's; a mismatch is an alert, the venue's view wins: True."""
        registry = self._parts.registry
        before = dict(registry.positions)
        infos, unknown = self._events.checks.positions(await self._parts.rest.positions())
        reports = [position_of(info) for info in infos]  # the edge: domain types beyond it
        changed = {s for s, p in registry.positions.items() if p is not before.get(s)}
        changed |= {s for s in before if s not in registry.positions}
        ours: dict[str, Decimal] = {s: p.qty for s, p in before.items()}
        listed = [(r.symbol, r.position.qty) for r in reports]
        differ, effects = self.core.positions_answered(ours, listed, set(unknown), changed)
        for effect in effects:
            if isinstance(effect, TakePosition):
                for report in reports:
                    if report.symbol == effect.symbol:
                        self._events.apply_position(report, now)
            elif isinstance(effect, ZeroPosition):
                position = before[effect.symbol]
                registry.positions[effect.symbol] = msgspec.structs.replace(
                    position, qty=Decimal(0)
                )
            else:
                await self._carry_out([effect], now)
        return differ

    async def _check_daily_loss(self, now: int) -> None:
        """Equity since the start of the UTC day; at the limit: cancel all, flatten, halt."""
        wallet = await self._parts.rest.wallet_balance()
        if not self._events.checks.wallet_ok(wallet):  # counted and alerted
            self.equity_usdt = None  # unknown, not zero: checked again next time
            return
        equity = Decimal(wallet.total_equity)
        self.equity_usdt = equity
        status = self._parts.status
        day = self.core.day_to_open(now, status.rebase_daily_loss)
        start = None
        if day is not None and not status.rebase_daily_loss:
            start = self._parts.journal.day_start(day)
        effects = self.core.equity_answered(equity, now, status.state, day, start)
        status.rebase_daily_loss = False
        await self._carry_out(effects, now)
