"""The recorder's files: a line goes to its UTC day's file, a new day rotates, a failed
file is given up and reopened as a new part, old days expire."""

import errno
import gzip
from pathlib import Path

import pytest

from services.recorder.files import RETRY_AFTER_NS, Recordings
from shared.recordings import (
    EVENTS,
    EXECUTOR,
    FRAMES,
    LineWriter,
    RecordingFile,
    read_day,
    read_file,
)
from tests.helpers.fixtures import DATA_FIXTURES

MIDNIGHT_NS = 1_723_161_600 * 1_000_000_000  # 2024-08-09 00:00:00 UTC
FRAME = b'{"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1723161600000,"data":[]}'
Failure = tuple[Path, str, int | None]


def _recordings(root: Path) -> tuple[Recordings, list[Failure]]:
    failures: list[Failure] = []
    files = Recordings(
        root,
        compress_level=1,
        on_failure=lambda path, stage, e: failures.append((path, stage, e.errno)),
    )
    return files, failures


def test_a_new_utc_day_closes_the_days_file_and_opens_the_next(tmp_path: Path) -> None:
    files, failures = _recordings(tmp_path)
    before, after = MIDNIGHT_NS - 1, MIDNIGHT_NS
    assert files.write("ETHUSDT", FRAMES, before, FRAME)
    assert files.write("ETHUSDT", FRAMES, after, FRAME)
    assert files.write(EXECUTOR, EVENTS, after + 1, b'{"kind":"Heartbeat"}')
    closed = tmp_path / "2024-08-08" / "ETHUSDT.frames.gz"
    assert gzip.decompress(closed.read_bytes()) == b"%d %s\n" % (before, FRAME)  # finished
    files.close()
    assert list(read_day(tmp_path, "2024-08-09", "ETHUSDT")) == [(after, FRAME)]
    assert list(read_day(tmp_path, "2024-08-09", EXECUTOR, EVENTS)) == [
        (after + 1, b'{"kind":"Heartbeat"}')
    ]
    assert files.written == {"frames": 2, "events": 1}
    assert files.written_bytes["frames"] == 2 * (len(str(after)) + 1 + len(FRAME) + 1)
    assert files.files == {"opened": 3, "rotated": 1}
    assert failures == []


def test_a_flush_makes_the_open_file_readable(tmp_path: Path) -> None:
    files, _ = _recordings(tmp_path)
    files.write("ETHUSDT", FRAMES, MIDNIGHT_NS, FRAME)
    files.flush(MIDNIGHT_NS)
    (path,) = files.open_paths()
    reading = RecordingFile(path)
    assert list(reading) == [(MIDNIGHT_NS, FRAME)]
    assert reading.cut  # still being written: no trailer yet


def test_a_failed_write_drops_counts_and_alerts_then_reopens_as_a_new_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, failures = _recordings(tmp_path)
    assert files.write("ETHUSDT", FRAMES, MIDNIGHT_NS, FRAME)
    files.flush(MIDNIGHT_NS)

    def disk_full(self: LineWriter, recv_ns: int, payload: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(LineWriter, "write", disk_full)
        assert not files.write("ETHUSDT", FRAMES, MIDNIGHT_NS + 1, FRAME)
    assert files.failing(MIDNIGHT_NS + 2)
    assert not files.write("ETHUSDT", FRAMES, MIDNIGHT_NS + 2, FRAME)  # waits before retrying
    assert files.write(EXECUTOR, EVENTS, MIDNIGHT_NS + 3, b"{}")  # other files go on
    retry_ns = MIDNIGHT_NS + 1 + RETRY_AFTER_NS
    assert files.write("ETHUSDT", FRAMES, retry_ns, FRAME)
    assert not files.failing(retry_ns)
    files.close()
    day = tmp_path / "2024-08-09"
    assert failures == [(day / "ETHUSDT.frames.gz", "write", errno.ENOSPC)]
    assert files.dropped == {"frames": 2}
    assert files.errors == {"write": 1}
    assert list(read_day(tmp_path, "2024-08-09", "ETHUSDT")) == [
        (MIDNIGHT_NS, FRAME),  # the abandoned part, up to its last flush
        (retry_ns, FRAME),  # the new part
    ]
    assert sorted(p.name for p in day.iterdir()) == [
        "ETHUSDT.2.frames.gz",
        "ETHUSDT.frames.gz",
        "executor.events.gz",
    ]


def test_a_directory_that_cannot_be_made_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("a file where the recordings directory should be")
    files, failures = _recordings(blocker)
    assert not files.write("ETHUSDT", FRAMES, MIDNIGHT_NS, FRAME)
    assert failures == [(blocker / "2024-08-09" / "ETHUSDT.frames.gz", "open", errno.ENOTDIR)]
    assert files.dropped == {"frames": 1}


def test_a_symbol_that_is_no_file_name_is_dropped_and_counted(tmp_path: Path) -> None:
    files, _ = _recordings(tmp_path / "recordings")
    assert not files.write("../../etc/x", FRAMES, MIDNIGHT_NS, FRAME)
    assert files.dropped == {"frames_bad_name": 1}
    assert not (tmp_path / "recordings").exists()


def test_days_older_than_keep_days_go_and_nothing_else(tmp_path: Path) -> None:
    for name in ("2024-08-01", "2024-08-07", "2024-08-08", "2024-08-09", "imports"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ETHUSDT.frames.gz").touch()
    files, _ = _recordings(tmp_path)
    assert files.sweep("2024-08-09", keep_days=0) == []
    assert files.sweep("2024-08-09", keep_days=2) == ["2024-08-01", "2024-08-07"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-08-08", "2024-08-09", "imports"]
    assert files.files == {"days_deleted": 2}


def test_a_day_being_written_is_never_deleted(tmp_path: Path) -> None:
    files, _ = _recordings(tmp_path)
    files.write("ETHUSDT", FRAMES, MIDNIGHT_NS - 10**9, FRAME)  # 2024-08-08, still open
    assert files.sweep("2024-08-10", keep_days=1) == []  # a clock that jumped ahead
    files.close()
    assert files.sweep("2024-08-10", keep_days=1) == ["2024-08-08"]


def test_real_frames_across_midnight_split_into_two_days_and_read_back_unchanged(
    tmp_path: Path,
) -> None:
    real = list(read_file(DATA_FIXTURES / "ETHUSDT-2024-08-08-first-200.frames.gz"))
    shift = MIDNIGHT_NS - real[100][0]  # the 101st frame arrives at midnight
    files, failures = _recordings(tmp_path)
    for recv_ns, frame in real:
        assert files.write("ETHUSDT", FRAMES, recv_ns + shift, frame)
    files.close()
    before = list(read_day(tmp_path, "2024-08-08", "ETHUSDT"))
    after = list(read_day(tmp_path, "2024-08-09", "ETHUSDT"))
    assert (len(before), len(after)) == (100, 100)
    assert [(ns - shift, frame) for ns, frame in before + after] == real
    assert failures == []
