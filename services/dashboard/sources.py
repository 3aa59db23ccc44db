"""The view's bus sources: subscribe first, then ask the publisher's snapshot.

One Receiver per publisher group. Each asks its snapshot again after a gap or a new
incarnation of the sender, and (executor) when an order's details are missing or an
operator's control wants a fresh view. Quotes and trades go through the QuoteSampler and
the QueueBoard. The polled sources (supervisord, scrapes, the journal) are in polls.py.
"""

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from services.dashboard.events import fold
from services.dashboard.market import QuoteSampler
from services.dashboard.queue import QueueBoard
from services.dashboard.view import View
from shared.bus import BusNode, FrameError, Receiver, SnapshotTimeout
from shared.runtime.clock import Clock
from shared.schema import OrderFilled, OrderPartiallyFilled, Quote, Trade

log = logging.getLogger(__name__)

# An order without its details (an OrderAccepted names no side, qty or price): the
# executor's snapshot is asked at once, or as soon as the last one is this old (so within
# this of the event, and the executor answers at most this often for it).
DETAILS_REFRESH_NS: Final = 500_000_000
MD_RESYNC_NS: Final = (
    10_000_000_000  # market data heal themselves: the feed's state at most this often
)
_WAIT_S: Final = 0.5
_FILLS: Final = (OrderFilled, OrderPartiallyFilled)
_BATCH: Final = 500


@dataclass
class Feed:
    """One publisher group: its receiver and where (and under which prefix) its snapshots are."""

    name: str
    receiver: Receiver
    snapshots: list[str]  # snapshot endpoints; empty: none
    prefixes: tuple[str, ...] = ()  # asked of each snapshot endpoint
    min_resync_ns: int = 0
    refresh: asyncio.Event = field(default_factory=asyncio.Event)
    last_snapshot_ns: int = 0


class BusSources:
    """Follow every feed into the view; `changed` is called after each batch folded."""

    def __init__(
        self,
        node: BusNode,
        view: View,
        sampler: QuoteSampler,
        queues: QueueBoard,
        changed: Callable[[], None],
        clock: Clock,
    ) -> None:
        self._node = node
        self._view = view
        self._sampler = sampler
        self._queues = queues
        self._changed = changed
        self._clock = clock
        self.feeds: dict[str, Feed] = {}
        self.counters: Counter[str] = Counter()
        self.fills_heard = asyncio.Event()  # set on each fill event: the journal has it now
        self._silent: set[str] = set()  # snapshot endpoints whose silence was logged

    def add(self, feed: Feed) -> None:
        self.feeds[feed.name] = feed

    def refresh(self, name: str) -> None:
        """Ask feed `name` for a fresh snapshot now (e.g. after an operator's command)."""
        self.feeds[name].refresh.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for feed in self.feeds.values():
                tasks.create_task(self._follow(feed), name=f"dashboard.{feed.name}")

    async def _follow(self, feed: Feed) -> None:
        joined = await self._snapshot(feed) if feed.snapshots else True
        receiver = feed.receiver
        while True:
            if feed.name != "executor":
                await receiver.wait(_WAIT_S)
            elif not feed.refresh.is_set():  # an operator's control may ask for a snapshot
                wait_s = details_due_s(self._view, feed.last_snapshot_ns, self._clock.now_ns())
                await _first(receiver.wait(min(_WAIT_S, wait_s)), feed.refresh.wait())
            deliveries = receiver.drain(_BATCH)
            if deliveries:
                self._fold(deliveries)
            resync = receiver.take_resync_requests()
            if feed.snapshots and (resync or not joined or self._wants_snapshot(feed)):
                joined = await self._snapshot(feed)

    def _fold(self, deliveries: list[Any]) -> None:
        view, sampler, now_ns = self._view, self._sampler, self._clock.now_ns()
        for delivery in deliveries:
            message = delivery.message
            if type(message) is Quote:
                self._queues.on_quote(view, message)
                sampler.offer(message, delivery.header.ts_sent_ns)
                continue
            if type(message) is Trade:
                self._queues.on_trade(view, message)
                sampler.offer(message, delivery.header.ts_sent_ns)
                continue
            view.behind(delivery.header.ts_sent_ns)
            fold(view, message, now_ns)
            if type(message) in _FILLS:
                self.fills_heard.set()
        self.counters["messages"] += len(deliveries)
        self._changed()

    def _wants_snapshot(self, feed: Feed) -> bool:
        now_ns = self._clock.now_ns()
        if now_ns - feed.last_snapshot_ns < feed.min_resync_ns:
            return False
        if feed.refresh.is_set():
            return True
        return (
            feed.name == "executor"
            and details_due_s(self._view, feed.last_snapshot_ns, now_ns) == 0
        )

    async def _snapshot(self, feed: Feed) -> bool:
        """Every snapshot of `feed` applied and folded; False if one did not answer."""
        feed.refresh.clear()
        feed.last_snapshot_ns = self._clock.now_ns()
        timeout_s = self._node.settings.snapshot_timeout_ms / 1000
        complete = True
        for endpoint, prefix in ((e, p) for e in feed.snapshots for p in feed.prefixes):
            client = self._node.snapshot_client(endpoint)
            try:
                reply = await client.fetch_async(prefix, timeout_s)
            except (SnapshotTimeout, FrameError) as e:
                self.counters[f"snapshot_failures_{feed.name}"] += 1
                level = logging.DEBUG if endpoint in self._silent else logging.INFO
                log.log(
                    level, "no snapshot from %s yet (%s): asked again until one comes", endpoint, e
                )
                self._silent.add(endpoint)  # said once; counted every time
                complete = False
                continue
            self._silent.discard(endpoint)
            feed.receiver.apply_snapshot(reply)
            now_ns = self._clock.now_ns()
            for _, message in reply.messages:
                fold(self._view, message, now_ns)
            self.counters[f"snapshots_{feed.name}"] += 1
        self._changed()
        return complete


def details_due_s(view: View, last_snapshot_ns: int, now_ns: int) -> float:
    """How long until the executor's snapshot is due for the working orders whose details
    are missing: 0 now, inf while none lacks them (rate: one per DETAILS_REFRESH_NS)."""
    working = view.get(("orders", "working")) or {}
    if not any(o.get("side") is None or o.get("qty") is None for o in working.values()):
        return math.inf
    return max(0, last_snapshot_ns + DETAILS_REFRESH_NS - now_ns) / 1e9


async def _first(*waits: Any) -> None:
    """Return when the first of `waits` is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
