"""The columnar cache: built once beside the recording, the same run as from the JSON lines,
rebuilt when the recording or the grids change, streamed in chunks."""

import gzip
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from research.backtest import columnar
from research.backtest.columnar import ColumnarRecording, build, cache_path
from research.backtest.engine import BacktestError, Engine
from research.backtest.market import MarketFrames, recording_lines
from research.backtest.settings import BacktestSettings
from research.sweep.walk_forward import Window, within
from services.simulator.venue import DepthUpdate, ExchangeConfig, Grid, RecordedTrade, Venue
from shared.recordings import read_file
from shared.recordings.reader import format_line
from tests.unit.research import support
from tests.unit.research.support import MS, latency
from tests.unit.research.test_backtest_identity import FIRST_200, REPLAY, _scalper, edges


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    return target


def _edges_file(tmp_path: Path) -> Path:
    path = tmp_path / "ETHUSDT-edges.frames.gz"
    with gzip.open(path, "wb") as out:
        out.writelines(format_line(t, raw) for t, raw in edges())
    return path


SETTINGS: dict[str, Callable[[], BacktestSettings]] = {
    "scalper_2ms": lambda: _scalper(entry_latency=latency(2), response_latency=latency(2)),
    "probabilistic_feed_lag": lambda: _scalper(
        queue_model="probabilistic", entry_latency=latency(1), feed_latency_ns=3 * MS
    ),
    "default": support.settings,
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
@pytest.mark.parametrize("data", ["replay", "first_200", "edges"])
def test_a_run_through_the_cache_is_byte_identical_to_one_from_the_lines(
    tmp_path: Path, name: str, data: str
) -> None:
    path = {
        "replay": lambda: _copy(REPLAY, tmp_path),
        "first_200": lambda: _copy(FIRST_200, tmp_path),
        "edges": lambda: _edges_file(tmp_path),
    }[data]()
    settings = SETTINGS[name]()
    expected = Engine(settings, recording_lines([path])).run().to_json()
    recording = ColumnarRecording(path)
    first = Engine(settings, recording).run().to_json()  # builds the cache
    assert recording.built
    assert cache_path(path).exists()
    again = ColumnarRecording(path)
    second = Engine(settings, again).run().to_json()  # reads it
    assert not again.built
    assert first == expected
    assert second == expected


def _venue() -> Venue:
    config = ExchangeConfig(symbols=("ETHUSDT",), market_source="recorded", history_minutes=60)
    return Venue(config, 1_723_161_255_000)


def test_the_core_path_sees_the_same_frames_as_from_the_lines(tmp_path: Path) -> None:
    path = _edges_file(tmp_path)
    grids = _venue().grids()
    plain = MarketFrames(grids, (), 0)
    expected = list(plain.frames_of(read_file(path)))
    cached = MarketFrames(grids, (), 0)
    got = list(ColumnarRecording(path).frames(cached, grids))
    assert got == expected
    assert (cached.frames, cached.skipped, cached.venue_skipped) == (
        plain.frames,
        plain.skipped,
        plain.venue_skipped,
    )


def test_with_a_deeper_book_followed_the_tops_and_the_venue_times_are_served(
    tmp_path: Path,
) -> None:
    path = _edges_file(tmp_path)
    grids = _venue().grids()
    plain = MarketFrames(grids, (), 0, lambda symbol: 500)
    expected = list(plain.frames_of(read_file(path)))
    cached = MarketFrames(grids, (), 0, lambda symbol: 500)
    got = list(ColumnarRecording(path).frames(cached, grids))
    assert got == expected
    events = [e for frame in got for e in frame.venue_events]
    tops = [e for e in events if isinstance(e, DepthUpdate) and e.depth == 1]
    assert tops, "orderbook.1 snapshots keep their levels: the ladder's top"
    assert all(top.bids and top.asks and top.match_ms > 0 for top in tops)
    trades = [e for e in events if isinstance(e, RecordedTrade)]
    assert trades
    assert all(trade.match_ms > 0 for trade in trades)  # its T


def test_the_cache_is_rebuilt_when_the_recording_or_the_grids_change(tmp_path: Path) -> None:
    path = _copy(FIRST_200, tmp_path)
    grids = _venue().grids()
    recording = ColumnarRecording(path)
    recording.open(grids).close()
    assert recording.built
    again = ColumnarRecording(path)
    again.open(grids).close()
    assert not again.built
    (tick, step) = grids["ETHUSDT"]
    other = ColumnarRecording(path)
    other.open({"ETHUSDT": (tick, step / 10)}).close()
    assert other.built
    with gzip.open(path, "ab") as out:
        out.write(format_line(1_723_161_300_000 * MS, b'{"op":"pong"}'))
    changed = ColumnarRecording(path)
    changed.open(grids).close()
    assert changed.built


def test_it_is_written_and_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "CHUNK_LINES", 100)
    path = _copy(REPLAY, tmp_path)
    grids = _venue().grids()
    build(path, grids)
    with ColumnarRecording(path).open(grids) as archive:
        names = archive.namelist()
    assert sum(1 for n in names if n.endswith("/recv_ns.npy")) == 24  # 2,344 lines
    plain = MarketFrames(grids, (), 0)
    cached = MarketFrames(grids, (), 0)
    assert list(ColumnarRecording(path).frames(cached, grids)) == list(
        plain.frames_of(read_file(path))
    )


def test_a_broken_cache_is_built_again(tmp_path: Path) -> None:
    path = _copy(FIRST_200, tmp_path)
    grids = _venue().grids()
    cache_path(path).write_bytes(b"not a zip file")
    recording = ColumnarRecording(path)
    recording.open(grids).close()
    assert recording.built
    plain = MarketFrames(grids, (), 0)
    cached = MarketFrames(grids, (), 0)
    assert list(recording.frames(cached, grids)) == list(plain.frames_of(read_file(path)))


def test_a_read_only_directory_keeps_the_cache_in_the_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    path = _copy(FIRST_200, tmp_path)
    real_build = columnar.build

    def refused_beside(source: Path, grids: dict[str, Grid], target: Path, key: str) -> Path:
        if target == cache_path(source):
            raise PermissionError(13, "Permission denied", str(target))
        return real_build(source, grids, target, key)

    monkeypatch.setattr(columnar, "build", refused_beside)
    grids = _venue().grids()
    recording = ColumnarRecording(path)
    recording.open(grids).close()
    again = ColumnarRecording(path)
    again.open(grids).close()
    assert recording.built
    assert not again.built
    assert recording.cache.parent == tmp_path / "tmp" / "backtest-columns"
    assert again.cache == recording.cache
    assert not cache_path(path).exists()


def _windows(path: Path) -> list[tuple[int | None, int | None]]:
    """Cuts at a third and at two thirds of the recording (between lines or on one), across
    chunk boundaries when chunks are small, and a window with no line."""
    times = [t for t, _ in read_file(path)]
    third, two_thirds = times[len(times) // 3], times[2 * len(times) // 3] + 1
    return [(None, third), (third, None), (third, two_thirds), (times[-1] + 1, None)]


@pytest.mark.parametrize("chunk_lines", [100, columnar.CHUNK_LINES])
def test_a_window_of_the_cache_is_the_same_run_as_that_window_of_the_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_lines: int
) -> None:
    # what a sweep's walk-forward parts read: the lines received in [start, end)
    monkeypatch.setattr(columnar, "CHUNK_LINES", chunk_lines)
    path = _copy(REPLAY, tmp_path)
    settings = SETTINGS["scalper_2ms"]()
    for start_ns, end_ns in _windows(path):
        window = Window(start_ns, end_ns)
        recording = ColumnarRecording(path, start_ns=start_ns, end_ns=end_ns)
        if not any(window.holds(t) for t, _ in read_file(path)):
            with pytest.raises(BacktestError, match="no lines"):
                Engine(settings, recording)
            continue
        expected = Engine(settings, within(recording_lines([path]), window)).run().to_json()
        assert Engine(settings, recording).run().to_json() == expected, (start_ns, end_ns)


def test_a_window_serves_the_frames_of_the_lines_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar, "CHUNK_LINES", 100)
    path = _edges_file(tmp_path)
    grids = _venue().grids()
    for start_ns, end_ns in _windows(path):
        plain = MarketFrames(grids, (), 0)
        expected = list(plain.frames_of(within(read_file(path), Window(start_ns, end_ns))))
        cached = MarketFrames(grids, (), 0)
        recording = ColumnarRecording(path, start_ns=start_ns, end_ns=end_ns)
        assert list(recording.frames(cached, grids)) == expected
        assert (cached.frames, cached.venue_skipped) == (plain.frames, plain.venue_skipped)
