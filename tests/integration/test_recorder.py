"""The recorder on real ZeroMQ sockets, fed by the real feed on the real simulator: the
files hold exactly the frames the feed received, and the executor's snapshot and events."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.control import free_port
from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from services.recorder.service import RecorderService
from services.recorder.settings import RecorderSettings
from shared.bus import BusNode, Publisher
from shared.bybit.stream import StreamFrame
from shared.recordings import EXECUTOR, day_dirs, parts, read_day, read_events
from shared.recordings.names import EVENTS
from shared.runtime.bootstrap import upkeep
from shared.schema import (
    Alert,
    ClientOrderId,
    OrderAccepted,
    Position,
    PositionChanged,
    ServiceState,
    ServiceStatus,
    Symbol,
    UniverseChanged,
    VenueFrame,
    VenueFrames,
    VenueOrderId,
)
from tests.helpers.context import make_context
from tests.helpers.fake_executor import FakeExecutor, execution_snapshot
from tests.helpers.simulator import Sim, running_simulator
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.integration
MakeNode = Callable[..., BusNode]
BEAT_MS = 50


@dataclass
class Rig:
    sim: Sim
    feed: FeedService
    recorder: RecorderService
    executor: FakeExecutor
    universe: Publisher
    root: Path
    received: list[StreamFrame] = field(default_factory=list)  # every frame the feed read
    feed_task: "asyncio.Task[None] | None" = None
    feed_resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def stop_feed(self) -> None:
        """The feed stops as on SIGTERM: its task ends, then its resources close (its tap
        sends the last batch and lingers for it)."""
        assert self.feed_task is not None
        self.feed_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.feed_task
        await self.feed_resources.aclose()

    def announce(self, symbol: str, epoch: int) -> None:
        self.universe.send(
            UniverseChanged(
                symbol=Symbol(symbol), epoch=epoch, ranking=(), reason="test", ts_event_ns=0
            )
        )

    def frames_written(self) -> int:
        return self.recorder.files.written["frames"]


def _position(qty: str) -> Position:
    return Position(
        symbol=Symbol("BTCUSDT"),
        qty=Decimal(qty),
        avg_entry_price=Decimal("64000.1"),
        unrealised_pnl=Decimal("0"),
        realised_pnl=Decimal("0"),
    )


@contextlib.asynccontextmanager
async def rig(make_node: MakeNode, run_dir: Path) -> AsyncIterator[Rig]:
    """Simulator, a fake scanner and executor, the recorder, then the feed; the feed
    starts reading the venue once the recorder hears its tap."""
    async with running_simulator(symbols=("BTCUSDT", "ETHUSDT")) as sim:
        scanner = make_node("scanner", heartbeat_interval_ms=BEAT_MS)
        eps = scanner.settings.endpoints
        universe = scanner.publisher(eps.universe)
        universe_snapshots = scanner.snapshot_server(eps.universe_snapshot, universe)
        executor = FakeExecutor(make_node, execution_snapshot(_position("0.002")))
        executor.start()
        recorder_node = make_node("recorder", heartbeat_interval_ms=BEAT_MS)
        root = run_dir / "recordings"
        recorder = RecorderService(
            RecorderSettings(metrics_port=free_port(), flush_interval_s=0.05),
            make_context("recorder", recorder_node, run_dir, sim.url),
        )
        feed_node = make_node("feed", heartbeat_interval_ms=BEAT_MS)
        feed = FeedService(
            FeedSettings(metrics_port=free_port(), depth=50),
            make_context("feed", feed_node, run_dir, sim.url),
        )
        r = Rig(sim, feed, recorder, executor, universe, root)
        on_frame = feed._on_frame

        def seen(frame: StreamFrame) -> None:
            r.received.append(frame)
            on_frame(frame)

        feed._on_frame = seen  # type: ignore[method-assign]
        async with contextlib.AsyncExitStack() as stack:
            await recorder.start(stack)
            feed_stack = await stack.enter_async_context(r.feed_resources)
            await feed.start(feed_stack)
            tasks = [
                asyncio.create_task(recorder.run()),
                asyncio.create_task(upkeep(universe, universe_snapshots, BEAT_MS / 1000)),
            ]
            tap = feed._tap
            assert tap is not None
            # The tap's heartbeat reaching the recorder: it is subscribed, no frame is lost.
            await eventually(lambda: tap.tick() or "feed" in recorder_node.liveness.peers())
            r.feed_task = asyncio.create_task(feed.run())
            tasks.append(r.feed_task)
            try:
                yield r
            finally:
                for task in reversed(tasks):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await executor.stop()


def _recorded(root: Path, name: str) -> Iterator[tuple[int, bytes]]:
    for day in day_dirs(root):
        if parts(root / day, name, ".frames.gz"):
            yield from read_day(root, day, name)


async def test_the_files_hold_every_frame_the_feed_received_and_the_executors_events(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    async with rig(make_node, ipc_dir) as r:
        r.announce("BTCUSDT", 1)
        await eventually(lambda: r.frames_written() >= 100, timeout_s=15)
        accepted = OrderAccepted(
            client_order_id=ClientOrderId("mom1-1"),
            venue_order_id=VenueOrderId("v-1"),
            strategy_id="mom1",
            symbol=Symbol("BTCUSDT"),
            ts_event_ns=1,
            ts_trigger_recv_ns=1,
            ts_request_sent_ns=2,
            ts_ack_ns=3,
            trace_id="abc-1",
        )
        position = PositionChanged(
            symbol=Symbol("BTCUSDT"),
            qty=Decimal("0.004"),
            avg_entry_price=Decimal("64000.1"),
            unrealised_pnl=Decimal("0.5"),
            realised_pnl=Decimal("0"),
            ts_event_ns=4,
        )
        r.executor.send(accepted)
        r.executor.send(position)
        await eventually(lambda: r.recorder.files.written["events"] >= 3)
        await r.stop_feed()
        await eventually(lambda: r.frames_written() == len(r.received), timeout_s=10)
        port = r.recorder._settings.metrics_port
        async with r.sim.session.get(f"http://127.0.0.1:{port}/metrics") as response:
            metrics = await response.text()
    recorded = list(_recorded(r.root, "BTCUSDT"))
    assert len(recorded) == len(r.received)
    assert recorded == [(f.ts_recv_ns, f.data) for f in r.received]
    assert r.feed._context.node.stats.dropped["tap_full"] == 0
    assert r.feed.session.counters["tap_frames"] == len(recorded)
    assert r.feed.session.counters["tap_frames_dropped"] == 0
    events = [m for day in day_dirs(r.root) for _, m in read_events(r.root, day)]
    assert events == [r.executor.snapshot, accepted, position]  # the snapshot first
    assert [p.name for p in (r.root).rglob(f"{EXECUTOR}*{EVENTS}")] == ["executor.events.gz"]
    assert f'recorder_written_lines_total{{kind="frames"}} {len(recorded)}.0' in metrics
    assert 'recorder_events_total{kind="snapshots"} 1.0' in metrics


@contextlib.asynccontextmanager
async def recorder_alone(
    make_node: MakeNode, run_dir: Path, **settings: object
) -> AsyncIterator[RecorderService]:
    node = make_node("recorder", heartbeat_interval_ms=BEAT_MS)
    recorder = RecorderService(
        RecorderSettings(metrics_port=free_port(), **settings),  # type: ignore[arg-type]
        make_context("recorder", node, run_dir, "http://127.0.0.1:1"),
    )
    async with contextlib.AsyncExitStack() as stack:
        await recorder.start(stack)
        task = asyncio.create_task(recorder.run())
        try:
            yield recorder
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_an_executor_that_starts_later_still_has_its_snapshot_recorded(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    executor = FakeExecutor(make_node, execution_snapshot(_position("-0.001")))
    async with recorder_alone(make_node, ipc_dir, flush_interval_s=0.05) as recorder:
        await eventually(lambda: recorder.counters["snapshot_failures"] >= 1, timeout_s=10)
        executor.start()
        await eventually(lambda: recorder.counters["snapshots"] == 1, timeout_s=10)
        await executor.stop()
    root = ipc_dir / "recordings"
    events = [m for day in day_dirs(root) for _, m in read_events(root, day)]
    assert events == [executor.snapshot]


async def test_a_recordings_dir_it_cannot_write_raises_an_alert_and_the_recorder_goes_on(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    blocker = ipc_dir / "not-a-directory"
    blocker.write_text("a file where the recordings should go")
    watcher = make_node("watcher")
    eps = watcher.settings.endpoints
    alerts = watcher.subscriber([eps.recorder_events], ["alert.", "status."])
    feed = make_node("feed", heartbeat_interval_ms=BEAT_MS)
    tap = feed.tap(eps.market_data_raw)
    one = VenueFrame(symbol=Symbol("BTCUSDT"), data=b'{"topic":"x"}', ts_recv_ns=1)
    frame = VenueFrames(frames=(one,))
    async with recorder_alone(make_node, ipc_dir, recordings_dir=str(blocker)) as recorder:
        seen: list[object] = []
        # The first failure is alerted at once (then once a minute): be there to hear it.
        await eventually(lambda: alerts.drain() or "recorder" in watcher.liveness.peers())

        def alerted() -> bool:
            tap.send(frame)
            seen.extend(d.message for d in alerts.drain())
            return any(isinstance(m, Alert) for m in seen)

        await eventually(alerted, timeout_s=10)
        assert recorder.files.dropped["frames"] >= 1
        assert recorder.files.errors["open"] == 1  # retried only after RETRY_AFTER_NS
    alert = next(m for m in seen if isinstance(m, Alert))
    assert alert.code == "recording_write_failed"
    assert "Not a directory" in alert.detail
    assert any(isinstance(m, ServiceStatus) and m.state is ServiceState.DEGRADED for m in seen)


async def test_with_record_raw_off_the_feed_opens_no_tap(
    make_node: MakeNode, ipc_dir: Path
) -> None:
    feed = FeedService(
        FeedSettings(metrics_port=free_port(), record_raw=False),
        make_context("feed", make_node("feed"), ipc_dir, "http://127.0.0.1:1"),
    )
    async with contextlib.AsyncExitStack() as stack:
        await feed.start(stack)
        assert feed._tap is None
        assert not (ipc_dir / "market_data_raw").exists()  # the endpoint was never bound
