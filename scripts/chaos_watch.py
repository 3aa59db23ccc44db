"""What scripts/chaos reads: the bus (sender restarts, FeedReady) and the run's records.

The journal (intents, fills) and the venue's executions, turned into the plain records
scripts/chaos_report.py checks.
"""

import threading
import time
from decimal import Decimal
from typing import Any

from scripts.chaos_report import (
    FeedReadyMark,
    Intent,
    JournalFill,
    VenueExecution,
)
from scripts.paper_system import System
from services.executor.order_state import TERMINAL_STATUSES
from shared.bus import BusNode, Signer, SnapshotTimeout
from shared.runtime import LiveClock
from shared.schema import ExecutionSnapshot, FeedReady
from shared.settings import BusSettings, Endpoints, Secrets

_TERMINAL = tuple(sorted(str(s) for s in TERMINAL_STATUSES))


class BusWatch:
    """Hear every publisher of the bus in a thread: who is alive (incarnation) and FeedReady."""

    def __init__(self, bus: BusSettings, endpoints: Endpoints) -> None:
        signer = Signer(Secrets.from_environment().bus_hmac_key)
        self._node = BusNode("chaos-watch", bus, signer=signer, clock=LiveClock())
        self._snapshots = BusNode("chaos-snap", bus, signer=signer, clock=LiveClock())
        self._executor = self._snapshots.snapshot_client(endpoints.execution_snapshot)
        self._md = self._snapshots.snapshot_client(endpoints.market_data_snapshot)
        self._receiver = self._node.subscriber(
            [
                endpoints.universe,
                endpoints.market_data,
                endpoints.execution_events,
                endpoints.strategy_events,
            ],
            [""],
            deliver_heartbeats=True,
        )
        self._lock = threading.Lock()
        self._heard: dict[str, tuple[int, float]] = {}  # sender -> (incarnation, monotonic)
        self._ready: set[FeedReadyMark] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="bus-watch", daemon=True)

    def __enter__(self) -> "BusWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._node.close()
        self._snapshots.close()

    def incarnation(self, sender: str) -> int:
        with self._lock:
            return self._heard.get(sender, (0, 0.0))[0]

    def feed_ready(self) -> list[FeedReadyMark]:
        with self._lock:
            return sorted(self._ready, key=lambda m: m.ts_ns)

    def fetch_feed_ready(self) -> None:
        """Add the FeedReady the feed keeps in its snapshot (in case the bus dropped it)."""
        try:
            reply = self._md.fetch("md.ready.", 2.0)
        except SnapshotTimeout:
            return
        self._note([m for _, m in reply.messages])

    def executor_snapshot(self, timeout_s: float = 1.0) -> ExecutionSnapshot | None:
        try:
            reply = self._executor.fetch("exec.", timeout_s)
        except SnapshotTimeout:
            return None
        found = [m for _, m in reply.messages if isinstance(m, ExecutionSnapshot)]
        return found[0] if found else None

    def _follow(self) -> None:
        while not self._stop.is_set():
            if not self._receiver.poll(200):
                continue
            deliveries = self._receiver.drain()
            now = time.monotonic()
            with self._lock:
                for d in deliveries:
                    self._heard[d.header.sender] = (d.header.incarnation, now)
            self._note([d.message for d in deliveries])

    def _note(self, messages: list[Any]) -> None:
        marks = {
            FeedReadyMark(m.symbol, m.epoch, m.ts_event_ns)
            for m in messages
            if isinstance(m, FeedReady)
        }
        with self._lock:
            self._ready |= marks


def journal_intents(system: System) -> list[Intent]:
    terminal = ", ".join("?" * len(_TERMINAL))
    rows = system.journal(
        "SELECT i.client_order_id, i.strategy_id, i.symbol,"
        " json_extract(i.command, '$.epoch'), json_extract(i.command, '$.side'),"
        " json_extract(i.command, '$.reduce_only'), json_extract(i.command, '$.ts_created_ns'),"
        " i.ts_recorded_ns, (SELECT min(e.ts_ns) FROM events e"
        f"  WHERE e.client_order_id = i.client_order_id AND e.status IN ({terminal}))"
        " FROM intents i",
        *_TERMINAL,
    )
    # The intent and its first send are one commit (ts_recorded_ns); denied commands are
    # never journaled, so every intent was sent.
    return [
        Intent(coid, sid, sym, int(epoch), side, bool(reduce), int(created), int(sent), end)
        for coid, sid, sym, epoch, side, reduce, created, sent, end in rows
    ]


def journal_fills(system: System) -> list[JournalFill]:
    rows = system.journal(
        "SELECT f.exec_id, f.client_order_id, f.qty, json_extract(e.payload, '$.symbol'),"
        " json_extract(e.payload, '$.side') FROM fills f LEFT JOIN events e"
        " ON e.kind = 'fill' AND json_extract(e.payload, '$.exec_id') = f.exec_id"
        " AND json_extract(e.payload, '$.external') = '1'"
    )
    return [
        JournalFill(exec_id, coid, Decimal(qty), (symbol, side) if symbol else None)
        for exec_id, coid, qty, symbol, side in rows
    ]


def venue_executions(system: System) -> list[VenueExecution]:
    rows = system.venue_all("/v5/execution/list", {"category": "linear", "limit": "100"})
    return [
        VenueExecution(
            r["execId"],
            r["orderLinkId"],
            r["symbol"],
            r["side"],
            Decimal(r["execQty"]),
            r["execType"],
        )
        for r in rows
    ]
