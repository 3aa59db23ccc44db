"""RecorderService: the feed's raw frames and the executor's events into daily gzip files."""

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Final

from services.recorder.files import Recordings
from services.recorder.settings import RecorderSettings
from shared.bus import Delivery, FrameError, Publisher, Receiver, SnapshotTimeout
from shared.recordings import EVENTS, EXECUTOR, FRAMES, utc_day
from shared.runtime.bootstrap import ServiceContext, start_metrics
from shared.runtime.metrics import CounterCollector
from shared.schema import (
    Alert,
    AlertSeverity,
    ServiceState,
    ServiceStatus,
    VenueFrames,
    to_json,
    topics,
)

log = logging.getLogger(__name__)

ALERT_EVERY_NS: Final = 60_000_000_000  # write failures alerted at most once a minute
_EXECUTION_SNAPSHOT: Final = "exec.snapshot."
_WAIT_S: Final = 1.0


class RecorderService:
    """Own the recordings directory: write, flush, rotate, expire; say when it cannot."""

    name = "recorder"

    def __init__(self, settings: RecorderSettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self._clock = context.clock
        self.files = Recordings(
            settings.root(context.run_dir),
            compress_level=settings.compress_level,
            on_failure=self._on_failure,
        )
        self._publisher: Publisher | None = None
        self._frames: Receiver | None = None
        self._events: Receiver | None = None
        self.counters: dict[str, int] = {"snapshots": 0, "snapshot_failures": 0, "alerts_held": 0}
        self._last_alert_ns = 0
        self._failing_since_ns = 0  # 0: healthy
        self._today = ""

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx, eps = self._context, self._context.endpoints
        resources.callback(ctx.node.close)
        self._publisher = ctx.node.publisher(eps.recorder_events)  # heartbeats, status, alerts
        self._frames = ctx.node.subscriber([eps.market_data_raw], [topics.RAW])
        self._events = ctx.node.subscriber(
            [eps.execution_events], [topics.EXECUTION], hwm=ctx.bus.events_hwm
        )
        resources.callback(self.files.close)  # before the node closes: files finished first
        files, register = self.files, ctx.registry.register
        register(CounterCollector("recorder_written_lines", "Lines written", lambda: files.written))
        register(
            CounterCollector(
                "recorder_written_bytes", "Bytes written before gzip", lambda: files.written_bytes
            )
        )
        register(CounterCollector("recorder_dropped_lines", "Lines lost", lambda: files.dropped))
        register(CounterCollector("recorder_files", "Files by what happened", lambda: files.files))
        register(
            CounterCollector(
                "recorder_write_errors", "Failed file operations", lambda: files.errors
            )
        )
        register(CounterCollector("recorder_events", "Snapshots, alerts", lambda: self.counters))
        start_metrics(ctx, self._settings.metrics_port, resources)

    async def run(self) -> None:
        self._status(ServiceState.RUNNING, f"recording to {self.files.root}")
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._record_frames(), name="recorder.frames")
            tasks.create_task(self._record_events(), name="recorder.events")
            tasks.create_task(self._upkeep(), name="recorder.upkeep")

    async def _record_frames(self) -> None:
        frames = self._frames
        assert frames is not None
        write = self.files.write
        while True:
            await frames.wait(_WAIT_S)
            for delivery in frames.drain():
                message = delivery.message
                if isinstance(message, VenueFrames):
                    for frame in message.frames:
                        write(frame.symbol, FRAMES, frame.ts_recv_ns, frame.data)
            # No snapshot of raw frames: a lost batch is counted (bus_lost_messages, and by the
            # feed) and stays a gap in the file.
            frames.take_resync_requests()

    async def _record_events(self) -> None:
        """The executor's snapshot first (the state its events continue from), again after a
        gap or a restart, and until one arrives (the executor may start after us)."""
        events = self._events
        assert events is not None
        joined = await self._execution_snapshot()
        while True:
            await events.wait(_WAIT_S)
            for delivery in events.drain():
                self._write_event(delivery)
            if events.take_resync_requests() or not joined:
                joined = await self._execution_snapshot()

    def _write_event(self, delivery: Delivery) -> None:
        payload = to_json(delivery.message)
        self.files.write(EXECUTOR, EVENTS, delivery.ts_recv_ns, payload)

    async def _execution_snapshot(self) -> bool:
        assert self._events is not None
        ctx = self._context
        client = ctx.node.snapshot_client(ctx.endpoints.execution_snapshot)
        try:
            reply = await client.fetch_async(
                _EXECUTION_SNAPSHOT, ctx.bus.snapshot_timeout_ms / 1000
            )
        except (SnapshotTimeout, FrameError) as e:
            self.counters["snapshot_failures"] += 1
            log.info("no executor snapshot yet (%s): events only until one comes", e)
            return False
        self._events.apply_snapshot(reply)
        now_ns = self._clock.now_ns()
        for _, message in reply.messages:
            self.files.write(EXECUTOR, EVENTS, now_ns, to_json(message))
        self.counters["snapshots"] += 1
        return True

    async def _upkeep(self) -> None:
        """Flush on time, heartbeats when idle, expire old days when a new one starts."""
        assert self._publisher is not None
        heartbeat_s = self._context.bus.heartbeat_interval_ms / 1000
        flush_ns = int(self._settings.flush_interval_s * 1e9)
        pause_s = min(self._settings.flush_interval_s, heartbeat_s) / 2
        next_flush_ns = 0
        while True:
            now_ns = self._clock.now_ns()
            if now_ns >= next_flush_ns:
                self.files.flush(now_ns)
                next_flush_ns = now_ns + flush_ns
            if (today := utc_day(now_ns)) != self._today:
                self._today = today
                self._expire(today)
            self._recover(now_ns)
            self._publisher.tick()
            await asyncio.sleep(pause_s)  # a periodic duty, not a synchronisation

    def _expire(self, today: str) -> None:
        deleted = self.files.sweep(today, self._settings.keep_days)
        if deleted:
            log.info(
                "recordings deleted days=%s keep_days=%d",
                ",".join(deleted),
                self._settings.keep_days,
            )

    def _on_failure(self, path: Path, stage: str, error: OSError) -> None:
        now_ns = self._clock.now_ns()
        why = f"{stage} {path}: {error.strerror or error} (errno {error.errno})"
        log.error("recording failed %s; lines of that file dropped until it reopens", why)
        self._failing_since_ns = self._failing_since_ns or now_ns
        if now_ns - self._last_alert_ns < ALERT_EVERY_NS:
            self.counters["alerts_held"] += 1
            return
        self._last_alert_ns = now_ns
        detail = f"{why}; lines dropped and counted, retried in 5 s; the recorder keeps running"
        self._send(
            Alert(
                source=self.name,
                severity=AlertSeverity.WARNING,
                code="recording_write_failed",
                detail=detail,
                ts_event_ns=now_ns,
            )
        )
        self._status(ServiceState.DEGRADED, why)

    def _recover(self, now_ns: int) -> None:
        """Back to RUNNING once a failure is a minute old and every file writes again."""
        since = self._failing_since_ns
        if since and now_ns - since > ALERT_EVERY_NS and not self.files.failing(now_ns):
            self._failing_since_ns = 0
            self._status(ServiceState.RUNNING, f"recording to {self.files.root} again")

    def _status(self, state: ServiceState, detail: str) -> None:
        now_ns = self._clock.now_ns()
        self._send(ServiceStatus(service=self.name, state=state, detail=detail, ts_event_ns=now_ns))

    def _send(self, message: Alert | ServiceStatus) -> None:
        assert self._publisher is not None, "start() first"
        self._publisher.send(message)
