"""Where the view's data come from: the bus (subscribe, then snapshot), supervisord, scrapes.

Bus: one Receiver per publisher group. Each subscribes first, then asks the publisher's
snapshot, and asks again after a gap, a new incarnation of the sender, or (executor)
when an order's details are missing or an operator's control wants a fresh view. Market
data go through the QuoteSampler. supervisord: getAllProcessInfo on its unix socket,
every `supervisor-poll-s`, in a worker thread (xmlrpc blocks). Scrapes: every service's
Prometheus page on 127.0.0.1, every `scrape-interval-s`.
"""

import asyncio
import contextlib
import http.client
import logging
import sqlite3
import time
import xmlrpc.client
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, cast

import aiohttp
from supervisor.xmlrpc import SupervisorTransport

from services.dashboard.events import QuoteSampler, fold, fold_daily_loss
from services.dashboard.metrics import MetricsFold, parse
from services.dashboard.processes import Liveness, ProcessFold, ProcessInfo
from services.dashboard.queue import QueueBoard
from services.dashboard.view import View
from shared.bus import BusNode, FrameError, Receiver, SnapshotTimeout
from shared.runtime.clock import Clock
from shared.schema import Quote, Trade

log = logging.getLogger(__name__)

DETAILS_REFRESH_NS: Final = (
    2_000_000_000  # an order without its details: a snapshot at most this often
)
MD_RESYNC_NS: Final = (
    10_000_000_000  # market data heal themselves: the feed's state at most this often
)
_WAIT_S: Final = 0.5
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
                await _first(receiver.wait(_WAIT_S), feed.refresh.wait())
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
        self.counters["messages"] += len(deliveries)
        self._changed()

    def _wants_snapshot(self, feed: Feed) -> bool:
        now_ns = self._clock.now_ns()
        if now_ns - feed.last_snapshot_ns < feed.min_resync_ns:
            return False
        if feed.refresh.is_set():
            return True
        if feed.name != "executor" or now_ns - feed.last_snapshot_ns < DETAILS_REFRESH_NS:
            return False
        working = self._view.get(("orders", "working")) or {}
        return any(order.get("side") is None for order in working.values())

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


async def _first(*waits: Any) -> None:
    """Return when the first of `waits` is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class Supervisor:
    """supervisord's XML-RPC interface on <run dir>/supervisor.sock (read-only use)."""

    def __init__(self, run_dir: Path) -> None:
        self.socket = run_dir / "supervisor.sock"

    def processes(self) -> list[ProcessInfo]:
        """Blocking. Raises OSError, HTTPException or xmlrpc.client.Error when it cannot."""
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        infos = cast(list[dict[str, Any]], proxy.supervisor.getAllProcessInfo())
        return [
            ProcessInfo(
                name=i["name"],
                state=i["statename"],
                pid=i["pid"],
                uptime_s=max(0, i["now"] - i["start"]) if i["statename"] == "RUNNING" else 0,
                description=i["description"],
            )
            for i in infos
        ]


SUPERVISOR_ERRORS: Final = (OSError, http.client.HTTPException, xmlrpc.client.Error)


async def poll_supervisor(
    supervisor: Supervisor,
    fold: ProcessFold,
    view: View,
    liveness: Callable[[], dict[str, Liveness]],
    *,
    interval_s: float,
    changed: Callable[[], None],
) -> None:
    """Fold supervisord's process list every `interval_s`, for as long as the service runs."""
    while True:
        started = time.monotonic()
        try:
            infos = await asyncio.to_thread(supervisor.processes)
        except SUPERVISOR_ERRORS as e:
            fold.unreachable(view, f"supervisord not reachable on {supervisor.socket}: {e}")
            fold.heard(view, liveness(), time.time_ns())
        else:
            fold.polled(view, infos, liveness(), time.time_ns())
        changed()
        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))  # a period


JOURNAL: Final = "executor-journal.sqlite"  # in the run dir (the executor's journal_path)


def read_day_start(run_dir: Path, now_ns: int) -> Decimal | None:
    """The executor's journaled equity at the start of today (UTC), read-only; None when
    the journal or today's row is not there (yet)."""
    path = run_dir / JOURNAL
    if not path.exists():
        return None
    day = time.strftime("%Y-%m-%d", time.gmtime(now_ns // 1_000_000_000))
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            row = db.execute(
                "SELECT equity_usdt FROM day_start_equity WHERE day = ?", (day,)
            ).fetchone()
    except sqlite3.Error as e:
        log.debug("journal not readable (%s): daily loss unknown", e)
        return None
    try:
        return None if row is None else Decimal(str(row[0]))
    except InvalidOperation:
        return None


async def poll_journal(
    run_dir: Path, view: View, *, interval_s: float, changed: Callable[[], None]
) -> None:
    """Fold today's loss (journal's start-of-day equity vs the equity now) every `interval_s`."""
    while True:
        start = await asyncio.to_thread(read_day_start, run_dir, time.time_ns())
        fold_daily_loss(view, start)
        changed()
        await asyncio.sleep(interval_s)  # a period


async def scrape_metrics(
    targets: Callable[[], dict[str, int]],
    fold: MetricsFold,
    view: View,
    *,
    interval_s: float,
    changed: Callable[[], None],
) -> None:
    """Scrape http://127.0.0.1:<port>/metrics of every target every `interval_s`."""
    timeout = aiohttp.ClientTimeout(total=min(1.5, interval_s))
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            started = time.monotonic()
            for service, port in sorted(targets().items()):
                try:
                    text = await _get(session, port)
                    samples = parse(text)
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    fold.failed(view, service, f"{type(e).__name__}: {e}"[:200])
                    continue
                fold.scraped(view, service, samples, time.time_ns())
            changed()
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))  # a period


async def _get(session: aiohttp.ClientSession, port: int) -> str:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        response.raise_for_status()
        return await response.text()
