"""A recording to replay: read frame by frame, paced, in a loop; cut or odd files handled."""

import json
from pathlib import Path

import pytest

from services.simulator.replay_file import ReplaySchedule, read_lines

REPLAY = Path(__file__).parents[3] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"


def _frame(topic: str, ts: int) -> str:
    return json.dumps({"topic": topic, "type": "snapshot", "ts": ts, "data": []})


def test_frames_are_due_at_the_recorded_pace_times_the_speed(tmp_path: Path) -> None:
    path = tmp_path / "frames.txt"
    lines = [
        f"1000000000 {_frame('publicTrade.ETHUSDT', 1)}",
        f"1400000000 {_frame('publicTrade.ETHUSDT', 2)}",  # 400 ms later by receive time
        "garbage",
        _frame("publicTrade.ETHUSDT", 9_000),  # no receive time: its ts, a gap capped at 1 s
    ]
    path.write_text("\n".join(lines) + "\n")
    schedule = ReplaySchedule(path, speed=2.0)
    assert [f.due_ms for f in schedule.due(0)] == [0]
    assert [f.due_ms for f in schedule.due(199)] == []
    assert [(f.due_ms, f.recv_ns) for f in schedule.due(200)] == [(200, 1_400_000_000)]
    # (400 + 1000) / 2; then the file starts over at once: its first frame is due at 0
    assert [f.due_ms for f in schedule.due(700)] == [700, 0]
    assert (schedule.skipped, schedule.frames, schedule.passes) == (1, 4, 2)
    assert [f.due_ms for f in schedule.due(899)] == []
    assert [f.due_ms for f in schedule.due(900)] == [200]


def test_a_recording_cut_by_its_writer_replays_up_to_the_cut(tmp_path: Path) -> None:
    data = REPLAY.read_bytes()
    cut = tmp_path / "cut.frames.gz"
    cut.write_bytes(data[: len(data) // 2])  # a writer that died: no gzip trailer
    whole = sum(1 for _ in read_lines(REPLAY))
    schedule = ReplaySchedule(cut, speed=1000.0)
    frames = schedule.due(10**6)
    assert 0 < len(frames) < whole
    assert schedule.errors == 0


def test_a_file_without_frames_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("nothing here\n")
    with pytest.raises(ValueError, match="no public frames"):
        ReplaySchedule(path)
    with pytest.raises(ValueError, match="speed"):
        ReplaySchedule(REPLAY, speed=0.0)
