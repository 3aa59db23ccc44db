"""Recovery and reconciliation: the journal at start, then the venue's view after every connect."""

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import msgspec

from services.executor.journal_records import EventKind
from services.executor.order_outcomes import OrderOutcomes
from services.executor.order_state import TERMINAL_STATUSES, OrderRecord
from services.executor.ports import Parts
from services.executor.reconciliation import ReconcileResult, VenueView, adopt, reconcile
from services.executor.recovery import command_from_venue, history_start_ms, unknown_ours
from services.executor.venue_events import VenueEvents
from services.executor.venue_reports import (
    VenueFill,
    VenueOrder,
    VenuePosition,
    fill_of,
    order_of,
    position_of,
)
from shared.bybit.errors import BybitError
from shared.schema import (
    AlertSeverity,
    ClientOrderId,
    OrderStatus,
    Symbol,
    TradingState,
)

log = logging.getLogger(__name__)
S = OrderStatus


class Unreadable:
    """A venue report refused at the edge (report_checks): asked again, never applied."""


UNREADABLE: Final = Unreadable()


class ReconcileRunner:
    """Runs reconcile() whenever asked, concurrently with commands, and applies what it
    finds. While it runs the state is Reducing (risk lets only reducing orders through);
    an order whose request is in flight is left to its answer."""

    def __init__(self, parts: Parts, flow: OrderOutcomes, events: VenueEvents) -> None:
        self._parts = parts
        self._flow = flow
        self._events = events
        self._clock = parts.clock
        self._registry = parts.registry
        self._journal = parts.journal
        self._rest = parts.rest
        self._status = parts.status
        self._outbox = parts.outbox
        # Orders and fills before the journal's first intent (or before now) are older
        # account history: not recovered into the journal (see recovery.py).
        self._recover_since_ns = parts.journal.first_intent_ns() or parts.clock.now_ns()

    def restore_from_journal(self) -> None:
        """Start: the journal's open orders into the registry; a sent-or-not intent is in doubt.

        A fill row that is not a sane fill is moved aside (quarantined), counted and alerted,
        never replayed: its exec id is unknown again, so a good report of it is applied.
        """
        state = self._journal.load()
        now = self._clock.now_ns()
        quarantined = [fill for order in state.open_orders for fill in order.quarantined]
        records = []
        for order in state.open_orders:
            record, impossible = order.to_record()
            records.append(record)
            quarantined += impossible
        if quarantined:
            self._journal.quarantine_fills(quarantined, now)
        for fill in quarantined:
            self._parts.counters[f"quarantined_fill_{fill.refusal.defect}"] += 1
            self._outbox.alert(
                AlertSeverity.CRITICAL,
                "journal_fill_quarantined",
                f"journaled fill exec_id={fill.exec_id} of {fill.client_order_id} refused:"
                f" {fill.refusal}; moved to quarantined_fills, not replayed",
            )
        refused = {fill.exec_id for fill in quarantined}
        self._registry.exec_ids.update(e for e in state.exec_ids if e not in refused)
        for record in records:
            if record.status is S.INTENDED:  # the request may have left before the crash
                record.apply_status(S.IN_DOUBT)
                self._journal.record_event(
                    record.client_order_id, EventKind.IN_DOUBT, now, status=S.IN_DOUBT
                )
            self._registry.add(record)
        if state.trading_state is TradingState.HALTED:
            self._status.halted_by_journal = True
            self._status.state = TradingState.HALTED
            self._status.reason = state.trading_state_reason

    async def run(self) -> None:
        wanted = self._parts.reconcile_wanted
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                await self._reconcile()
            except BybitError as e:
                log.warning("reconciliation failed, retrying error=%s", e)
                await asyncio.sleep(1.0)
                wanted.set()

    async def _reconcile(self) -> None:
        """The venue is the source of truth: apply its view, then allow new exposure."""
        status = self._status
        if status.reconciled and status.state is TradingState.ACTIVE:
            self._outbox.set_state(TradingState.REDUCING, "reconciling with the venue")
        status.reconciled = False
        # Orders of ours closed since a lost journal tail are listed only in the history.
        since_ms = history_start_ms(self._recover_since_ns, self._clock.now_ns())
        history = await self._rest.order_history(start_ms=since_ms)
        await self._recover([order_of(o) for o in self._events.checks.orders(history)], [])
        await self.poll()
        self._parts.counters["reconciliations"] += 1
        status.reconciled = True
        if status.state is TradingState.REDUCING and not status.halted_by_journal:
            self._outbox.set_state(TradingState.ACTIVE, "reconciled with the venue")

    async def poll(self) -> None:
        """Open orders, executions and positions over REST, applied; no trading state change.

        Called by reconciliation, and every second while the private stream is down (REST
        polling takes over).
        """
        asked_ns = self._clock.now_ns()
        checks = self._events.checks  # refused reports are left out, counted and alerted
        open_orders = [order_of(o) for o in checks.orders(await self._rest.open_orders())]
        executions = [fill_of(e) for e in checks.executions(await self._rest.executions())]
        listed, unknown = checks.positions(await self._rest.positions())
        positions = [position_of(p) for p in listed]
        venue = VenueView(open_orders=open_orders, executions=executions, positions=positions)
        await self._recover(venue.open_orders, venue.executions)
        now = self._clock.now_ns()
        ours = self._registry.journal_view(venue.open_orders)
        if unknown:  # a refused position is unknown, not flat: not compared this time
            kept = {s: qty for s, qty in ours.positions.items() if s not in unknown}
            ours = dataclasses.replace(ours, positions=kept)
        result = reconcile(ours, venue, now)
        self._apply_result(result, venue, now, asked_ns)
        for coid in result.to_query:
            await self._settle_unlisted(coid)
        for order in result.to_recheck:
            await self._recheck(order)

    async def _recover(self, orders: Sequence[VenueOrder], executions: Sequence[VenueFill]) -> None:
        """Our venue orders the journal lost (see recovery.py): journaled, then booked."""
        exec_ids, since = self._registry.exec_ids, self._recover_since_ns
        found = unknown_ours(orders, executions, exec_ids, self._known, since)
        for symbol, coid in found:
            order = await self._look_up(symbol, coid)
            if not isinstance(order, VenueOrder):
                continue  # asked again at the next round
            command = command_from_venue(order)
            now = self._clock.now_ns()
            if command is None or not self._journal.record_intent(command, now, sent_ns=now):
                continue
            record = OrderRecord.from_command(command)
            record.apply_status(S.SUBMITTED)
            record.ts_request_sent_ns = now
            self._registry.add(record)
            self._flow.accepted(record, order.order_id, now)
            fills = self._parts.counters["fills"]
            for execution in await self._rest_executions_of(order):
                self._events.apply_fill(execution)
            state = order.status
            self._events.apply_status(record, state, order.end_reason)
            self._parts.counters["recovered_orders"] += 1
            self._outbox.alert(
                AlertSeverity.WARNING,
                "recovered_order",
                f"order_link_id={coid} venue_order_id={order.order_id} status={state}:"
                " on the venue, not in the journal; journaled",
            )
            for _ in range(self._parts.counters["fills"] - fills):
                self._outbox.alert(
                    AlertSeverity.WARNING,
                    "recovered_fill",
                    f"order_link_id={coid}: a fill the journal lacked; booked",
                )

    def _known(self, coid: str) -> bool:
        known = self._registry.get(coid) or self._journal.find(ClientOrderId(coid))
        return known is not None

    async def settle_in_doubt(self) -> None:
        """Orders left in doubt (e.g. after a rate-limit storm): ask the venue again."""
        for record in self._registry.open_records():
            if record.status is S.IN_DOUBT and not record.in_flight:
                await self._settle_unlisted(record.client_order_id)

    def _apply_result(
        self, result: ReconcileResult, venue: VenueView, now: int, asked_ns: int
    ) -> None:
        for record in result.adopted:
            self._registry.add(record)
        for execution in result.fills:
            self._events.apply_fill(execution)
        for correction in result.corrections:
            corrected = self._registry.get(correction.client_order_id)
            if corrected is not None:
                corrected.correct(correction.venue)
                self._registry.index(corrected)
                self._journal.record_event(
                    corrected.client_order_id,
                    EventKind.CORRECTION,
                    now,
                    status=correction.venue.status,
                    venue_order_id=correction.venue.venue_order_id,
                )
        self._apply_positions(venue.positions, result.positions, now, asked_ns)
        for alert in result.alerts:
            self._parts.counters[f"alert_{alert.code}"] += 1
            self._outbox.publish(alert)

    def _apply_positions(
        self,
        positions: Sequence[VenuePosition],
        venue_qty: dict[Symbol, Decimal],
        now: int,
        asked_ns: int,
    ) -> None:
        for position in positions:
            self._events.apply_position(position, now)  # it drops one older than the stream
        listed = {position.symbol for position in positions}
        streamed = self._registry.position_streamed_ns
        for symbol, qty in venue_qty.items():  # left out of the list: flat, unless streamed
            if qty != 0 or symbol in listed or symbol not in self._registry.positions:
                continue
            if streamed.get(symbol, 0) > asked_ns:  # the stream told us since we asked
                self._parts.counters["stale_positions"] += 1
                continue
            self._registry.positions[symbol] = msgspec.structs.replace(
                self._registry.positions[symbol], qty=Decimal(0)
            )

    async def _recheck(self, order: VenueOrder) -> None:
        """Listed open by the venue, finished for us: adopt it only if it is still open."""
        self._parts.counters["reconcile_rechecks"] += 1
        found: VenueOrder | Unreadable | None = order  # one without orderLinkId: as listed
        if order.order_link_id:
            found = await self._look_up(order.symbol, order.order_link_id)
        if not isinstance(found, VenueOrder) or found.status in TERMINAL_STATUSES:
            return  # the venue's list was older than what the stream had told us
        now = self._clock.now_ns()
        self._apply_result(adopt(found, now), VenueView([], [], []), now, now)

    async def _look_up(self, symbol: str, coid: str) -> "VenueOrder | Unreadable | None":
        """The venue's order by orderLinkId, checked at this edge: None if the venue does
        not know it, UNREADABLE if its report was refused (counted, alerted)."""
        found = await self._flow.query(symbol, coid)
        if found is None:
            return None
        if not self._events.checks.order_ok(found):
            return UNREADABLE
        return order_of(found)

    async def _settle_unlisted(self, coid: ClientOrderId) -> None:
        """A journal-open order the venue does not list as open: ask for its final status."""
        record = self._registry.get(coid)
        if record is None or record.in_flight:
            return  # in flight: its own answer (or lookup) settles it
        found = await self._look_up(record.symbol, coid)
        if isinstance(found, Unreadable):
            return  # refused (counted, alerted): asked again at the next round
        if found is None:
            if record.status in (S.IN_DOUBT, S.SUBMITTED) and not record.in_flight:
                self._flow.resend_unknown(record)
            return
        if not record.venue_order_id:
            self._flow.accepted(record, found.order_id, self._clock.now_ns())
        for execution in await self._rest_executions_of(found):
            self._events.apply_fill(execution)
        self._events.apply_status(record, found.status, found.end_reason)

    async def _rest_executions_of(self, order: VenueOrder) -> list[VenueFill]:
        """The order's executions over REST, checked at this edge."""
        listed = await self._rest.executions(symbol=order.symbol, order_id=order.order_id)
        checked = self._events.checks.executions(
            [e for e in listed if e.order_id == order.order_id]  # a venue may ignore orderId
        )
        return [fill_of(e) for e in checked]
