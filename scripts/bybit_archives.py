"""Bybit's downloadable histories read as recorded frames: (time in ns, frame JSON) pairs.

Order-book archives (`<YYYY-MM-DD>_<SYMBOL>_ob<depth>.data.zip`): a zip of JSON lines, one
websocket frame each as the venue sent it (`topic`, `type`, `ts`, `data{s,b,a,u,seq}`,
`cts`). The frames are kept as they are (the CR before each LF dropped), in file order (the
`u` sequence); the time is `ts` (ms).

Trade archives (`<SYMBOL><YYYY-MM-DD>.csv.gz`): a header, then one trade a row:
`timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
foreignNotional` and, in newer files, `RPI`. Each row becomes one `publicTrade.<SYMBOL>`
frame shaped as the websocket's (tests/fixtures/bybit/ws_public_linear_publicTrade.json):
`T` and `ts` the timestamp in ms, `S` the taker side, `v` size, `p` price, `L` the tick
direction, `i` the trdMatchID, `BT` false, `RPI` the column (false without it); the
websocket's `seq` is not in the archives and is left out. The time is `timestamp`
(seconds, its fraction kept to the ns).

Archives carry no local receive time: the venue's time stands in for it. Nothing here
writes; a file that is not what it should be raises ArchiveError naming it, the line and why.
"""

import csv
import gzip
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final, Literal

import msgspec

from shared.recordings import is_safe_name

Frame = tuple[int, bytes]  # (time in ns since the epoch, frame JSON)
NS_PER_MS: Final = 1_000_000
NS_PER_S: Final = 1_000_000_000
TRADE_COLUMNS: Final = (
    "timestamp",
    "symbol",
    "side",
    "size",
    "price",
    "tickDirection",
    "trdMatchID",
    "grossValue",
    "homeNotional",
    "foreignNotional",
)
_RPI: Final = {"0": False, "1": True, "false": False, "true": True}
_ZIP_MAGIC: Final = b"PK"  # a local file header, or the end record of an empty zip
_GZIP_MAGIC: Final = b"\x1f\x8b"


class ArchiveError(Exception):
    """A file that is not the Bybit archive it should be; the message says where and why."""


class _BookData(msgspec.Struct):
    s: str
    u: int
    seq: int


class _BookFrame(msgspec.Struct):
    """What is checked of an order-book line; the levels are carried unread."""

    topic: str
    type: Literal["snapshot", "delta"]
    ts: int
    data: _BookData


_book_head: Final = msgspec.json.Decoder(_BookFrame)
_frame_encoder: Final = msgspec.json.Encoder()


@dataclass
class Archive:
    """One input file: its kind, and how far it has been read (for a progress bar)."""

    path: Path
    kind: Literal["orderbook", "trades"]
    symbol: str = ""  # known once the first line is read
    size_bytes: int = 0
    done: float = 0.0  # fraction of the file read
    frames: int = 0

    def frames_of(self) -> Iterator[Frame]:
        """The file's frames in file order; raises ArchiveError."""
        reader = _orderbook_frames if self.kind == "orderbook" else _trade_frames
        for frame in reader(self):
            self.frames += 1
            yield frame
        self.done = 1.0

    def saw_symbol(self, symbol: str, where: str) -> None:
        if not is_safe_name(symbol):
            raise ArchiveError(f"{where}: {symbol!r} is not a symbol")
        if not self.symbol:
            self.symbol = symbol
        elif symbol != self.symbol:
            raise ArchiveError(f"{where}: symbol {symbol}, but the file began with {self.symbol}")


def open_archive(path: Path) -> Archive:
    """The archive at `path`, its kind told by its first bytes; raises ArchiveError."""
    try:
        with path.open("rb") as raw:
            head = raw.read(4)
        size = path.stat().st_size
    except OSError as e:
        raise ArchiveError(f"{path}: cannot read it: {e.strerror}") from None
    if head[:2] == _ZIP_MAGIC:
        return Archive(path, "orderbook", size_bytes=size)
    if head[:2] == _GZIP_MAGIC or head == b"time":
        return Archive(path, "trades", size_bytes=size)
    raise ArchiveError(
        f"{path}: neither a Bybit order-book archive (a .zip of JSON lines) nor a trade"
        f" archive (a .csv.gz starting with the header {','.join(TRADE_COLUMNS[:3])},...)"
    )


def _orderbook_frames(archive: Archive) -> Iterator[Frame]:
    try:
        with zipfile.ZipFile(archive.path) as bundle:
            members = sorted((m for m in bundle.infolist() if not m.is_dir()), key=_name)
            if not members:
                raise ArchiveError(f"{archive.path}: an empty zip (no order-book file in it)")
            total = sum(m.file_size for m in members) or 1
            read = 0
            for member in members:
                with bundle.open(member) as lines:
                    for number, line in enumerate(lines, start=1):
                        read += len(line)
                        archive.done = read / total
                        frame = line.rstrip(b"\r\n")
                        if frame:
                            where = f"{archive.path}:{member.filename}:{number}"
                            yield _book_line(archive, frame, where)
    except zipfile.BadZipFile as e:
        raise ArchiveError(f"{archive.path}: not a readable zip ({e})") from None


def _name(member: zipfile.ZipInfo) -> str:
    return member.filename


def _book_line(archive: Archive, frame: bytes, where: str) -> Frame:
    try:
        head = _book_head.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise ArchiveError(
            f"{where}: not an order-book frame (topic, type, ts, data{{s,b,a,u,seq}}): {e}"
        ) from None
    kind, _, symbol = head.topic.rpartition(".")
    if not kind.startswith("orderbook.") or symbol != head.data.s:
        raise ArchiveError(f"{where}: topic {head.topic!r} is no order book of {head.data.s}")
    archive.saw_symbol(symbol, where)
    return head.ts * NS_PER_MS, frame


def _trade_frames(archive: Archive) -> Iterator[Frame]:
    with archive.path.open("rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        source = gzip.GzipFile(fileobj=raw) if compressed else raw
        text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        try:
            rows = csv.reader(text)
            columns = _header(archive, next(rows, []))
            for number, row in enumerate(rows, start=2):
                archive.done = raw.tell() / (archive.size_bytes or 1)
                if row:
                    yield _trade(archive, row, columns, f"{archive.path}:{number}")
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:
            raise ArchiveError(f"{archive.path}: not a readable trade archive ({e})") from None


def _header(archive: Archive, row: list[str]) -> int:
    names = tuple(name.strip() for name in row)
    if names in (TRADE_COLUMNS, (*TRADE_COLUMNS, "RPI")):
        return len(names)
    shown = ",".join(names)
    if shown[:1].isdigit() and " {" in shown[:30]:
        raise ArchiveError(
            f"{archive.path}: already a recording ('<time ns> <frame JSON>' lines), not a Bybit"
            " archive: read it with shared.recordings"
        )
    raise ArchiveError(
        f"{archive.path}:1: not a Bybit trade archive: the header is {shown[:80]!r}, expected"
        f" {','.join(TRADE_COLUMNS)} (and RPI in newer files)"
    )


def _trade(archive: Archive, row: list[str], columns: int, where: str) -> Frame:
    if len(row) != columns:
        raise ArchiveError(f"{where}: {len(row)} fields, the header has {columns}")
    timestamp, symbol, side, size, price, tick, match_id = row[:7]
    ns = _seconds_to_ns(timestamp, where)
    archive.saw_symbol(symbol, where)
    if side not in ("Buy", "Sell"):
        raise ArchiveError(f"{where}: side {side!r} is neither Buy nor Sell")
    if not match_id:
        raise ArchiveError(f"{where}: no trdMatchID")
    rpi = _RPI.get(row[10].strip().lower()) if columns > 10 else False
    if rpi is None:
        raise ArchiveError(f"{where}: RPI {row[10]!r} is neither 0 nor 1")
    ms = ns // NS_PER_MS
    trade = {
        "T": ms,
        "s": symbol,
        "S": side,
        "v": _positive(size, "size", where),
        "p": _positive(price, "price", where),
        "L": tick,
        "i": match_id,
        "BT": False,
        "RPI": rpi,
    }
    frame = {"topic": f"publicTrade.{symbol}", "type": "snapshot", "ts": ms, "data": [trade]}
    return ns, _frame_encoder.encode(frame)


def _seconds_to_ns(text: str, where: str) -> int:
    try:
        seconds = Decimal(text)
    except InvalidOperation:
        seconds = Decimal("NaN")
    if not seconds.is_finite() or seconds < 0:
        raise ArchiveError(f"{where}: timestamp {text!r} is not a time in seconds")
    return int(seconds * NS_PER_S)


def _positive(text: str, what: str, where: str) -> str:
    """The number as the websocket writes it: the archive's text, or plain if exponential."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise ArchiveError(f"{where}: {what} {text!r} is not a positive number")
    return text if "e" not in text.lower() else f"{value:f}"
