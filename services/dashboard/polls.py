"""The view's polled sources: supervisord, every service's Prometheus page, the journal.

supervisord: getAllProcessInfo on its unix socket every `supervisor-poll-s`, in a worker
thread (xmlrpc blocks). Scrapes: http://127.0.0.1:<metrics-port>/metrics of every service
every `scrape-interval-s`. The executor's journal (read-only, journal.py): today's
start-of-day equity, realised PnL and fees.
"""

import asyncio
import contextlib
import http.client
import logging
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, cast

import aiohttp
from supervisor.xmlrpc import SupervisorTransport

from services.dashboard.journal import JournalPnl, read_day_start
from services.dashboard.metrics import MetricsFold, parse
from services.dashboard.money import fold_daily_loss, fold_day_pnl
from services.dashboard.processes import Liveness, ProcessFold, ProcessInfo
from services.dashboard.view import View
from shared.supervisor_log import spawn_counts

log = logging.getLogger(__name__)


class Supervisor:
    """supervisord's XML-RPC interface on <run dir>/supervisor.sock (read-only use)."""

    def __init__(self, run_dir: Path) -> None:
        self.socket = run_dir / "supervisor.sock"

    def spawn_counts(self) -> dict[str, int] | None:
        """How often this supervisord spawned each program, from its log (None: the log
        could not be read, the counts are unknown)."""
        log_path = self.socket.parent / "logs" / "supervisord.log"
        counts = spawn_counts(log_path)
        if counts is None:
            log.warning("restarts before the dashboard unknown: %s unreadable", log_path)
        return counts

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
    processes: ProcessFold,
    view: View,
    liveness: Callable[[], dict[str, Liveness]],
    *,
    interval_s: float,
    changed: Callable[[], None],
) -> None:
    """Fold supervisord's process list every `interval_s`, for as long as the service runs."""
    seeded = False
    while True:
        started = time.monotonic()
        try:
            infos = await asyncio.to_thread(supervisor.processes)
            if not seeded:
                processes.seed(await asyncio.to_thread(supervisor.spawn_counts))
                seeded = True
        except SUPERVISOR_ERRORS as e:
            processes.unreachable(view, f"supervisord not reachable on {supervisor.socket}: {e}")
            processes.heard(view, liveness(), time.time_ns())
        else:
            processes.polled(view, infos, liveness(), time.time_ns())
        changed()
        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))  # a period


async def poll_journal(
    run_dir: Path,
    view: View,
    *,
    interval_s: float,
    changed: Callable[[], None],
    fills_heard: asyncio.Event,
) -> None:
    """Fold today's loss (journal's start-of-day equity vs the equity now), realised PnL and
    fees every `interval_s`, and as soon as a fill is heard (the executor journals a fill
    before it publishes it)."""
    pnl = JournalPnl(run_dir)
    while True:
        fills_heard.clear()
        now_ns = time.time_ns()
        start = await asyncio.to_thread(read_day_start, run_dir, now_ns)
        fold_daily_loss(view, start)
        fold_day_pnl(view, await asyncio.to_thread(pnl.read, now_ns))
        changed()
        with contextlib.suppress(TimeoutError):  # a period, cut short by a fill
            await asyncio.wait_for(fills_heard.wait(), interval_s)


async def scrape_metrics(
    targets: Callable[[], dict[str, int]],
    metrics: MetricsFold,
    view: View,
    *,
    interval_s: float,
    changed: Callable[[], None],
) -> None:
    """Scrape http://127.0.0.1:<port>/metrics of every target every `interval_s`.

    One session for every scrape, at most one connection per target, kept alive between
    scrapes where the server allows it. (The services' metrics server, prometheus_client's
    wsgiref server in shared/runtime/metrics.py, answers HTTP/1.0 and closes each
    connection, so today every scrape still connects anew.) Only the families the view
    reads are parsed (metrics.USED_SAMPLES).
    """
    timeout = aiohttp.ClientTimeout(total=min(1.5, interval_s))
    connector = aiohttp.TCPConnector(limit_per_host=1, keepalive_timeout=3 * interval_s + 1)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        while True:
            started = time.monotonic()
            for service, port in sorted(targets().items()):
                try:
                    text = await _get(session, port)
                    samples = parse(text)
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    metrics.failed(view, service, f"{type(e).__name__}: {e}"[:200])
                    continue
                metrics.scraped(view, service, samples, time.time_ns())
            changed()
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))  # a period


async def _get(session: aiohttp.ClientSession, port: int) -> str:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        response.raise_for_status()
        return await response.text(encoding="utf-8")  # the exposition format's charset
