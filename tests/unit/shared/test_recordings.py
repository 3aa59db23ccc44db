"""Recordings: day directories and parts, the gzip line format, and a reader that survives a
writer that died mid-file."""

import gzip
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.recordings import (
    EVENTS,
    EXECUTOR,
    FRAMES,
    LineWriter,
    RecordingError,
    RecordingFile,
    day_bounds,
    day_dirs,
    expired_days,
    format_line,
    is_day,
    is_safe_name,
    open_next_part,
    part_name,
    parts,
    read_day,
    read_events,
    read_file,
    utc_day,
)
from shared.recordings.names import part_number
from shared.schema import PositionChanged, Symbol, to_json

MIDNIGHT_NS = 1_723_161_600 * 1_000_000_000  # 2024-08-09 00:00:00 UTC
FRAME = b'{"topic":"orderbook.1.ETHUSDT","type":"snapshot","ts":1723161256311,"data":{}}'


def _lines(count: int, start_ns: int = MIDNIGHT_NS) -> list[tuple[int, bytes]]:
    return [(start_ns + i, FRAME.replace(b"{}", b'{"i":%d}' % i)) for i in range(count)]


def _write(path: Path, lines: list[tuple[int, bytes]]) -> None:
    writer = LineWriter(path)
    for recv_ns, payload in lines:
        writer.write(recv_ns, payload)
    writer.close()


# ---------------------------------------------------------------- names


def test_the_day_of_a_time_is_its_utc_date() -> None:
    assert utc_day(MIDNIGHT_NS - 1) == "2024-08-08"
    assert utc_day(MIDNIGHT_NS) == "2024-08-09"
    assert day_bounds("2024-08-09") == (MIDNIGHT_NS, MIDNIGHT_NS + 86_400 * 10**9)


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_every_time_lies_within_the_bounds_of_its_day(ns: int) -> None:
    start, end = day_bounds(utc_day(ns))
    assert start <= ns < end


def test_only_real_dates_are_day_directories(tmp_path: Path) -> None:
    for name in ("2024-08-09", "2024-08-10", "2024-02-30", "notes", "2024-8-9"):
        (tmp_path / name).mkdir()
    (tmp_path / "2024-08-11").write_text("a file, not a directory")
    assert [n for n in ("2024-08-09", "2024-02-30", "x") if is_day(n)] == ["2024-08-09"]
    assert day_dirs(tmp_path) == ["2024-08-09", "2024-08-10"]
    assert day_dirs(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("keep_days", "expired"),
    [
        (0, []),  # keep forever
        (1, ["2024-08-01", "2024-08-07", "2024-08-08"]),  # today alone
        (2, ["2024-08-01", "2024-08-07"]),
        (8, ["2024-08-01"]),  # 08-02 .. 08-09
        (9, []),
    ],
)
def test_keep_days_counts_today(keep_days: int, expired: list[str]) -> None:
    days = ["2024-08-09", "2024-08-08", "2024-08-07", "2024-08-01", "not-a-day"]
    assert expired_days(days, "2024-08-09", keep_days) == expired


def test_parts_are_numbered_after_the_first_and_listed_in_order(tmp_path: Path) -> None:
    for number in (1, 2, 10, 3):
        (tmp_path / part_name("ETHUSDT", FRAMES, number)).touch()
    for other in ("ETHUSDT.frames.gz.tmp", "ETHUSDTX.frames.gz", "ETHUSDT.1.frames.gz", "x.gz"):
        (tmp_path / other).touch()
    assert part_name("ETHUSDT", FRAMES, 1) == "ETHUSDT.frames.gz"
    assert part_name("ETHUSDT", FRAMES, 2) == "ETHUSDT.2.frames.gz"
    assert [p.name for p in parts(tmp_path, "ETHUSDT", FRAMES)] == [
        "ETHUSDT.frames.gz",
        "ETHUSDT.2.frames.gz",
        "ETHUSDT.3.frames.gz",
        "ETHUSDT.10.frames.gz",
    ]
    assert part_number("ETHUSDT.1.frames.gz", "ETHUSDT", FRAMES) is None


def test_a_name_is_a_file_name_never_a_path() -> None:
    assert all(map(is_safe_name, ("ETHUSDT", "1000PEPEUSDT", "BTC-26DEC25", "executor")))
    for bad in ("", "../x", "/etc", "a/b", ".hidden", "ETH.USDT", "x" * 65, "ETH USDT"):
        assert not is_safe_name(bad), bad


# ---------------------------------------------------------------- writing and reading


def test_lines_read_back_as_written_in_the_format_of_the_teams_data(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT.frames.gz"
    lines = _lines(500)
    _write(path, lines)
    assert list(read_file(path)) == lines
    with gzip.open(path) as text:  # a whole file is plain gzip: any tool reads it
        first = text.readline()
    assert first == b"%d %s\n" % lines[0]


def test_a_newline_inside_a_frame_becomes_a_space_so_a_line_stays_one_record() -> None:
    assert format_line(5, b'{"a":\r\n1}') == b'5 {"a":  1}\n'


def test_a_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT.frames.gz"
    _write(path, _lines(1))
    with pytest.raises(FileExistsError):
        LineWriter(path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_next_part_is_a_new_file_beside_the_earlier_ones(tmp_path: Path) -> None:
    first = open_next_part(tmp_path / "2024-08-09", "ETHUSDT", FRAMES)
    second = open_next_part(tmp_path / "2024-08-09", "ETHUSDT", FRAMES)
    assert (first.path.name, second.path.name) == ("ETHUSDT.frames.gz", "ETHUSDT.2.frames.gz")
    assert (tmp_path / "2024-08-09").stat().st_mode & 0o777 == 0o700
    with pytest.raises(ValueError, match="cannot name a recording"):
        open_next_part(tmp_path, "../ETHUSDT", FRAMES)


def test_a_file_cut_mid_member_is_read_up_to_the_last_flush(tmp_path: Path) -> None:
    """A writer killed before close() leaves no gzip trailer, and may be cut anywhere."""
    path = tmp_path / "ETHUSDT.frames.gz"
    writer = LineWriter(path)
    flushed = _lines(300)
    for line in flushed:
        writer.write(*line)
    writer.flush()
    flushed_size = path.stat().st_size
    for line in _lines(20, MIDNIGHT_NS + 10**9):
        writer.write(*line)  # never flushed: a crash now loses these
    data = path.read_bytes()  # what a kill -9 leaves: everything up to the last flush
    assert len(data) == flushed_size
    with pytest.raises(EOFError):
        gzip.decompress(data)  # the standard library gives up on such a file
    crashed = RecordingFile(path)
    assert list(crashed) == flushed
    assert crashed.cut
    writer.close()
    for cut in range(0, flushed_size, 97):  # cut anywhere, even inside the header
        (tmp_path / "cut.gz").write_bytes(data[:cut] or b"\x1f\x8b")
        read = list(RecordingFile(tmp_path / "cut.gz"))
        assert read == flushed[: len(read)]  # whole lines, in order, none invented


def test_members_written_one_after_another_read_as_one_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    _write(a, _lines(3))
    _write(b, _lines(2, MIDNIGHT_NS + 100))
    (tmp_path / "both.gz").write_bytes(a.read_bytes() + b.read_bytes())
    both = RecordingFile(tmp_path / "both.gz")
    assert list(both) == _lines(3) + _lines(2, MIDNIGHT_NS + 100)
    assert not both.cut


def test_what_is_not_a_recording_is_refused_naming_the_file_and_where(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"1 {}\n")
    with pytest.raises(RecordingError, match=r"plain.txt: not a gzip file \(starts with"):
        list(read_file(plain))
    bad_line = tmp_path / "bad.gz"
    bad_line.write_bytes(gzip.compress(b"1 {}\nhello world\n"))
    with pytest.raises(RecordingError, match=r"bad.gz: line 2: expected '<receive ns> <payload>'"):
        list(read_file(bad_line))
    good = tmp_path / "good.gz"
    _write(good, _lines(2000))
    data = bytearray(good.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # corrupt the middle
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(bytes(data))
    read: list[tuple[int, bytes]] = []
    with pytest.raises(RecordingError, match=r"corrupt.gz: corrupt gzip data in bytes"):
        read.extend(read_file(corrupt))
    assert read == _lines(2000)[: len(read)]


def test_a_day_reads_across_its_parts_in_receive_time_order(tmp_path: Path) -> None:
    day = tmp_path / "2024-08-09"
    day.mkdir()
    early, late = _lines(3), _lines(3, MIDNIGHT_NS + 10)
    _write(day / part_name("ETHUSDT", FRAMES, 1), late)  # e.g. an import of an earlier hour
    _write(day / part_name("ETHUSDT", FRAMES, 2), early)
    assert list(read_day(tmp_path, "2024-08-09", "ETHUSDT")) == early + late
    with pytest.raises(RecordingError, match=r"no BTCUSDT\.frames\.gz in"):
        read_day(tmp_path, "2024-08-09", "BTCUSDT")


def test_the_executors_events_decode_as_bus_messages(tmp_path: Path) -> None:
    position = PositionChanged(
        symbol=Symbol("ETHUSDT"),
        qty=Decimal("0.01"),
        avg_entry_price=Decimal("2681.62"),
        unrealised_pnl=Decimal("0"),
        realised_pnl=Decimal("-0.01"),
        ts_event_ns=MIDNIGHT_NS,
    )
    writer = open_next_part(tmp_path / "2024-08-09", EXECUTOR, EVENTS)
    writer.write(MIDNIGHT_NS + 5, to_json(position))
    writer.close()
    assert list(read_events(tmp_path, "2024-08-09")) == [(MIDNIGHT_NS + 5, position)]


def test_a_sync_point_costs_a_few_bytes() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = compressor.compress(b"1 {}\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert len(head) < 40
