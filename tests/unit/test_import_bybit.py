"""scripts/import-bybit: Bybit's order-book and trade archives become recorded frames, merged
in time order; a wrong file is refused naming it, the line and why, and nothing is written."""

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from scripts import import_bybit
from scripts.bybit_archives import ArchiveError, open_archive
from shared.bybit import wire
from shared.bybit.ws_frames import FrameDrop, decode_public
from shared.recordings import RecordingFile, read_day, read_file
from tests.helpers.fixtures import BYBIT_FIXTURES, DATA_FIXTURES

BOOK = DATA_FIXTURES / "2024-12-01_XRPUSDT_ob500.data.zip"
TRADES = DATA_FIXTURES / "XRPUSDT2024-12-01.csv.gz"
HEADER = (
    "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,"
    "foreignNotional"
)


def _book_lines() -> list[bytes]:
    with zipfile.ZipFile(BOOK) as bundle:
        return bundle.read("2024-12-01_XRPUSDT_ob500.data").splitlines()


def _trade_rows() -> list[str]:
    return gzip.decompress(TRADES.read_bytes()).decode().splitlines()[1:]


def _csv_gz(path: Path, header: str, rows: list[str]) -> Path:
    path.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))
    return path


def _import(*args: str | Path) -> int:
    return import_bybit.main([str(a) for a in args])


def test_book_and_trades_merge_in_time_order_into_the_recorders_format(tmp_path: Path) -> None:
    out = tmp_path / "XRPUSDT.frames.gz"
    assert _import(BOOK, TRADES, "--out", out) == 0
    lines = list(read_file(out))
    assert len(lines) == 50 + 11
    times = [ns for ns, _ in lines]
    assert times == sorted(times)
    books = [frame for _, frame in lines if frame.startswith(b'{"topic":"orderbook.')]
    assert books == [line.rstrip(b"\r") for line in _book_lines()]  # as they are, CR gone
    assert lines[0][0] == 1_733_011_200_691_000_000  # the first frame's `ts`, in ns
    # The first trade is at the same millisecond as the first delta: the book comes first.
    assert [frame[:30] for _, frame in lines[1:3]] == [
        b'{"topic":"orderbook.500.XRPUSD',
        b'{"topic":"publicTrade.XRPUSDT"',
    ]


def test_a_trade_row_becomes_a_public_trade_frame_as_the_websocket_sends_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "XRPUSDT.frames.gz"
    assert _import(TRADES, "--out", out) == 0
    lines = list(read_file(out))
    ns, frame = lines[0]
    assert ns == 1_733_011_200_693_000_000
    decoded = decode_public(frame)  # the feed's own boundary takes it
    assert isinstance(decoded, wire.PublicTradeMessage)
    (trade,) = decoded.data
    assert (trade.s, trade.S, str(trade.v), str(trade.p), trade.L, trade.T) == (
        "XRPUSDT",
        "Sell",
        "1200",
        "1.9531",
        "ZeroMinusTick",
        1_733_011_200_693,
    )
    assert trade.i == _trade_rows()[0].split(",")[6]
    captured = json.loads((BYBIT_FIXTURES / "ws_public_linear_publicTrade.json").read_text())
    ours = json.loads(frame)
    assert list(ours) == list(captured)  # topic, type, ts, data
    assert list(ours["data"][0]) == [k for k in captured["data"][0] if k != "seq"]
    # Two rows at the same time keep their order.
    same_time = [json.loads(f)["data"][0]["v"] for n, f in lines if n == lines[1][0]]
    assert same_time == ["500", "300"]


def test_the_newer_rpi_column_is_carried(tmp_path: Path) -> None:
    rows = [f"{row},{i % 2}" for i, row in enumerate(_trade_rows())]
    archive = _csv_gz(tmp_path / "XRPUSDT2025-06-01.csv.gz", HEADER + ",RPI", rows)
    assert _import(archive, "--out", tmp_path / "out.frames.gz") == 0
    flags = [json.loads(f)["data"][0]["RPI"] for _, f in read_file(tmp_path / "out.frames.gz")]
    assert flags == [i % 2 == 1 for i in range(11)]


def test_trades_out_of_order_are_sorted_even_beyond_memory(tmp_path: Path) -> None:
    rows = list(reversed(_trade_rows()))
    archive = open_archive(_csv_gz(tmp_path / "reversed.csv.gz", HEADER, rows))
    frames = list(import_bybit.merged([archive], tmp_path, chunk=3))  # four runs on disk
    times = [ns for ns, _ in frames]
    assert times == sorted(times)
    assert len(frames) == 11
    assert sorted(p.name for p in tmp_path.glob("run-*")) == [f"run-{i}" for i in range(4)]


def test_into_a_directory_each_utc_day_gets_a_new_part_beside_what_is_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = tmp_path / "2024-12-01"
    day.mkdir()
    (day / "XRPUSDT.frames.gz").write_bytes(gzip.compress(b"1 {}\n"))
    late = "1733097600.0001,XRPUSDT,Buy,10,1.9600,PlusTick,made-up-1,0,10,19.6"  # next day
    archive = _csv_gz(tmp_path / "t.csv.gz", HEADER, [*_trade_rows(), late])
    assert _import(BOOK, archive, "--into", tmp_path) == 0
    assert gzip.decompress((day / "XRPUSDT.frames.gz").read_bytes()) == b"1 {}\n"  # untouched
    assert len(list(read_file(day / "XRPUSDT.2.frames.gz"))) == 61
    assert len(list(read_day(tmp_path, "2024-12-02", "XRPUSDT"))) == 1
    assert not list(tmp_path.rglob("*.tmp"))
    said = capsys.readouterr().out
    assert "import: XRPUSDT: 62 frames (50 order book, 12 trades)" in said


def test_the_teams_recorded_slice_reads_and_every_frame_decodes() -> None:
    recording = RecordingFile(DATA_FIXTURES / "ETHUSDT-2024-08-08-first-200.frames.gz")
    lines = list(recording)
    assert len(lines) == 200
    assert not recording.cut
    assert not [f for _, f in lines if isinstance(decode_public(f), FrameDrop)]
    kinds = {json.loads(frame)["topic"] for _, frame in lines}
    assert kinds == {"orderbook.1.ETHUSDT", "orderbook.500.ETHUSDT", "publicTrade.ETHUSDT"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"hello", r"neither a Bybit order-book archive .* nor a trade archive"),
        ("empty.zip", None, r"an empty zip"),
        ("bad-header.csv.gz", gzip.compress(b"time,sym\n1,X\n"), r":1: not a Bybit trade archive"),
        (
            "bad-side.csv.gz",
            gzip.compress(f"{HEADER}\n1.5,XRPUSDT,Up,1,1,PlusTick,x,0,1,1\n".encode()),
            r"bad-side.csv.gz:2: side 'Up' is neither Buy nor Sell",
        ),
        (
            "bad-price.csv.gz",
            gzip.compress(f"{HEADER}\n1.5,XRPUSDT,Buy,1,-2,PlusTick,x,0,1,1\n".encode()),
            r"bad-price.csv.gz:2: price '-2' is not a positive number",
        ),
        (
            "short.csv.gz",
            gzip.compress(f"{HEADER}\n1.5,XRPUSDT,Buy\n".encode()),
            r"short.csv.gz:2: 3 fields, the header has 10",
        ),
        ("cut.csv.gz", gzip.compress(f"{HEADER}\n".encode() * 50)[:40], r"not a readable trade"),
    ],
)
def test_a_wrong_file_is_refused_naming_it_and_nothing_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w"):
            pass
    else:
        path.write_bytes(content)
    out = tmp_path / "out.frames.gz"
    assert _import(path, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert name in err
    with pytest.raises(ArchiveError, match=message):
        list(open_archive(path).frames_of())
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no output, no temp file


def test_a_line_that_is_no_order_book_frame_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.data.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("x.data", _book_lines()[0] + b'\r\n{"topic":"publicTrade.XRPUSDT"}\r\n')
    with pytest.raises(ArchiveError, match=r"x.data.zip:x.data:2: not an order-book frame"):
        list(open_archive(path).frames_of())


def test_one_symbol_per_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row.replace("XRPUSDT", "ETHUSDT") for row in _trade_rows()]
    other = _csv_gz(tmp_path / "ETHUSDT2024-12-01.csv.gz", HEADER, rows)
    assert _import(BOOK, other, "--out", tmp_path / "out.frames.gz") == 2
    assert "one symbol per import" in capsys.readouterr().err


def test_a_recording_given_as_an_archive_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="already a recording"):
        list(open_archive(DATA_FIXTURES / "ETHUSDT-2024-08-08-first-200.frames.gz").frames_of())


def test_an_existing_output_is_replaced_only_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.frames.gz"
    out.write_bytes(b"mine")
    assert _import(TRADES, "--out", out) == 2
    assert "exists; --force replaces it" in capsys.readouterr().err
    assert out.read_bytes() == b"mine"
    assert _import(TRADES, "--out", out, "--force") == 0
    assert len(list(read_file(out))) == 11
