"""A recording decoded once and kept in columns beside it, so that later runs skip the JSON.

`ColumnarRecording(path)` stands for one `.frames.gz` file. At the engine's start, with the
venue's grids, it opens `<name>.cache.npz` beside the file (`X.frames.gz` ->
`X.frames.cache.npz`), or builds it first (`build`): every line is decoded once as a
backtest decodes it (`decode_public`, then the venue's `RecordedFrames.of_frame` on those
grids) and kept as

- per line: receive ns, kind, topic, symbol, book depth and snapshot flag, a book's venue
  time (`match_ms`: its `cts`), where its levels (or trades) start and how many bids and
  asks (or trades) it has, where its raw bytes are;
- per level or trade: price ticks, lots, and for a trade whether its taker bought and its
  venue time (`T`);
- per line, what its decoding counted (`RecordedFrames.skipped`: a price off the grid, a
  trade under a lot ...), added to the run's counts when the line is served;
- the raw bytes of the lines the columns do not stand for (not a public frame, a book of
  a symbol the venue does not list or of another topic, trades of several symbols), and
  of every frame a feed may subscribe to (`orderbook.1`, `orderbook.50`, `publicTrade`),
  which the feed session needs decoded.

`frames` then yields the same `MarketFrame`s as `MarketFrames.frames_of` on the file's
lines: the venue's events of a frame straight from the columns, without JSON or
Decimal (the deep `orderbook.500` frames, most of a recording's bytes, are not decoded at
all when the feed does not read them; one the feed reads is decoded for the feed alone);
every other line through `MarketFrames.frame_of`, from its raw bytes, exactly as without
the cache. So the events, the feed's input and every count are the same (tested against
the file).

The cache is valid for one source (its size, mtime and SHA-256) and one set of grids, and
rebuilt when either changes (or the format). It is written and read in chunks of
`CHUNK_LINES` lines (one zip member per column and chunk), so memory stays bounded by a
chunk whatever the length of the recording.
"""

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from research.backtest.market import NS_PER_MS, MarketFrame, MarketFrames
from services.simulator.market_events import Level
from services.simulator.venue import DepthUpdate, Grid, RecordedFrames, RecordedTrade
from services.simulator.venue.recorded import SKIP_REASONS
from shared.bybit import wire
from shared.bybit.ws_frames import FrameDrop, PublicFrame, decode_public
from shared.recordings import read_file

FORMAT: Final = 2  # 2: the venue times (a book's cts, a trade's T)
CHUNK_LINES: Final = 1 << 13
COMPRESSION = zipfile.ZIP_DEFLATED  # the raw frames and the columns compress 4 to 1
RAW, BOOK, TRADES = 0, 1, 2  # a line's kind: RAW only by its raw bytes
_LINE_COLUMNS: Final = (
    ("recv_ns", np.int64),
    ("kind", np.int8),
    ("topic", np.int32),
    ("symbol", np.int32),
    ("depth", np.int32),
    ("snapshot", np.int8),
    ("match_ms", np.int64),  # a book's venue time
    ("start", np.int64),
    ("bids", np.int32),  # a book's bids, or a trades frame's trades
    ("asks", np.int32),
    ("raw_start", np.int64),
    ("raw_len", np.int64),
    *((f"skip_{reason}", np.int32) for reason in SKIP_REASONS),  # what decoding counted
)
_LEVEL_COLUMNS: Final = (
    ("price", np.int64),
    ("lots", np.int64),
    ("buy", np.int8),
    ("trade_ms", np.int64),  # a trade's venue time (0 for a book level)
)
_HASH_CHUNK: Final = 1 << 20
_FEED_DEPTHS: Final = (1, 50)  # FeedSettings.depth: books a feed may read


class CacheError(Exception):
    """A cache that does not hold what its key says (written by another version)."""


def cache_path(source: Path) -> Path:
    """Where the columns of `source` are kept: beside it, `.gz` replaced by `.cache.npz`."""
    return source.with_name(source.name.removesuffix(".gz") + ".cache.npz")


def source_key(source: Path, grids: dict[str, Grid]) -> str:
    """What the cache of `source` depends on: its size, mtime and bytes, the grids, FORMAT."""
    stat = source.stat()
    digest = hashlib.sha256()
    with source.open("rb") as data:
        while block := data.read(_HASH_CHUNK):
            digest.update(block)
    grid_text = sorted((s, str(tick), str(step)) for s, (tick, step) in grids.items())
    return json.dumps([FORMAT, stat.st_size, stat.st_mtime_ns, digest.hexdigest(), grid_text])


@dataclass(slots=True)
class _Chunk:
    """One chunk's columns being built."""

    lines: dict[str, list[int]]
    levels: dict[str, list[int]]
    raw: bytearray

    @classmethod
    def empty(cls) -> "_Chunk":
        return cls(
            {n: [] for n, _ in _LINE_COLUMNS}, {n: [] for n, _ in _LEVEL_COLUMNS}, bytearray()
        )


class _Tables:
    """Topic and symbol names by number."""

    def __init__(self) -> None:
        self.topics: dict[str, int] = {}
        self.symbols: dict[str, int] = {}

    def number(self, table: dict[str, int], name: str) -> int:
        return table.setdefault(name, len(table))


def build(
    source: Path, grids: dict[str, Grid], target: Path | None = None, key: str | None = None
) -> Path:
    """Decode `source` once and write its columns (see the module docstring); `key`:
    `source_key(source, grids)` if the caller has it already."""
    target = target or cache_path(source)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    tables, chunks = _Tables(), 0
    chunk = _Chunk.empty()
    with zipfile.ZipFile(partial, "w", COMPRESSION, compresslevel=1) as archive:
        for recv_ns, raw in read_file(source):
            _add_line(chunk, tables, grids, recv_ns, raw)
            if len(chunk.lines["recv_ns"]) == CHUNK_LINES:
                _write_chunk(archive, chunks, chunk)
                chunks, chunk = chunks + 1, _Chunk.empty()
        if chunk.lines["recv_ns"]:
            _write_chunk(archive, chunks, chunk)
            chunks += 1
        meta = {
            "key": key or source_key(source, grids),
            "chunks": chunks,
            "topics": list(tables.topics),
            "symbols": list(tables.symbols),
        }
        archive.writestr("meta.json", json.dumps(meta))
    partial.replace(target)
    return target


def _add_line(
    chunk: _Chunk, tables: _Tables, grids: dict[str, Grid], recv_ns: int, raw: bytes
) -> None:
    lines, levels = chunk.lines, chunk.levels
    row = dict.fromkeys(lines, 0)
    row["recv_ns"], row["start"] = recv_ns, len(levels["price"])
    row["topic"] = row["symbol"] = -1
    decoded = decode_public(raw)
    keep_raw = True
    if not isinstance(decoded, FrameDrop):
        row["topic"] = tables.number(tables.topics, decoded.topic)
        decoder = RecordedFrames(grids)
        events = decoder.of_frame(decoded, recv_ns)
        if isinstance(decoded, wire.PublicTradeMessage) or events:  # a book left out: raw
            keep_raw = _add_events(row, levels, tables, decoded, events)
        if row["kind"] != RAW:  # the columns stand for it, with what its decoding counted
            for reason, count in decoder.skipped.items():
                row[f"skip_{reason}"] = count
    if keep_raw:
        row["raw_start"], row["raw_len"] = len(chunk.raw), len(raw)
        chunk.raw += raw
    for name, value in row.items():
        lines[name].append(value)


def _add_events(
    row: dict[str, int],
    levels: dict[str, list[int]],
    tables: _Tables,
    decoded: wire.OrderBookMessage | wire.PublicTradeMessage,
    events: list[DepthUpdate | RecordedTrade],
) -> bool:
    """Put a decoded frame's events in the columns; whether its raw bytes are kept too."""
    if isinstance(decoded, wire.PublicTradeMessage):
        names = {e.symbol for e in events}
        if len(names) > 1:
            return True  # trades of several symbols: kept raw only (one symbol a row)
        row["kind"], row["bids"] = TRADES, len(events)
        row["symbol"] = tables.number(tables.symbols, names.pop()) if names else -1
        for trade in events:
            assert isinstance(trade, RecordedTrade)
            _level(levels, trade.price, trade.lots, trade.taker_is_buy, trade.match_ms)
        return True
    (update,) = events
    assert isinstance(update, DepthUpdate)
    row["kind"], row["depth"], row["snapshot"] = BOOK, update.depth, int(update.is_snapshot)
    row["match_ms"] = update.match_ms
    row["symbol"] = tables.number(tables.symbols, update.symbol)
    row["bids"], row["asks"] = len(update.bids), len(update.asks)
    for price, lots in (*update.bids, *update.asks):
        _level(levels, price, lots, False, 0)
    return update.depth in _FEED_DEPTHS


def _level(levels: dict[str, list[int]], price: int, lots: int, buy: bool, ms: int) -> None:
    levels["price"].append(price)
    levels["lots"].append(lots)
    levels["buy"].append(int(buy))
    levels["trade_ms"].append(ms)


def _write_chunk(archive: zipfile.ZipFile, number: int, chunk: _Chunk) -> None:
    for columns, spec in ((chunk.lines, _LINE_COLUMNS), (chunk.levels, _LEVEL_COLUMNS)):
        for name, dtype in spec:
            with archive.open(f"{number}/{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(columns[name], dtype=dtype))
    with archive.open(f"{number}/raw.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.frombuffer(bytes(chunk.raw), dtype=np.uint8))


class ColumnarRecording:
    """One recording file read through its columnar cache (built at the first run).

    `start_ns`/`end_ns`: only the lines received in [start_ns, end_ns), as a walk-forward
    part takes them from the lines (`research.sweep.walk_forward.within`: a line before
    `start_ns` is skipped, the first at or after `end_ns` ends the recording).
    """

    def __init__(
        self,
        source: Path,
        cache: Path | None = None,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> None:
        self.source = source
        self.cache = cache or cache_path(source)
        self.built = False  # whether this run had to build the cache
        self.start_ns = start_ns
        self.end_ns = end_ns

    def first_recv_ns(self) -> int | None:
        """The first line's receive time (None: an empty file or window)."""
        for recv_ns, _ in read_file(self.source):
            if self.end_ns is not None and recv_ns >= self.end_ns:
                return None
            if self.start_ns is None or recv_ns >= self.start_ns:
                return recv_ns
        return None

    def open(self, grids: dict[str, Grid]) -> zipfile.ZipFile:
        """The cache for `grids`, built (again) if missing, stale or unreadable; beside the
        recording, or in the temporary directory when its own is not writable."""
        key = source_key(self.source, grids)
        for cache in (self.cache, _fallback(self.source)):
            archive = _valid(cache, key)
            if archive is not None:
                self.cache = cache
                return archive
        try:
            build(self.source, grids, self.cache, key)
        except PermissionError:
            self.cache = _fallback(self.source)
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            build(self.source, grids, self.cache, key)
        self.built = True
        return zipfile.ZipFile(self.cache)

    def frames(self, market: MarketFrames, grids: dict[str, Grid]) -> Iterator[MarketFrame]:
        """The same frames as `market.frames_of(read_file(source))` (module docstring)."""
        with self.open(grids) as archive:
            meta = json.loads(archive.read("meta.json"))
            topics: list[str] = meta["topics"]
            symbols: list[str] = meta["symbols"]
            window = _Window(self.start_ns, self.end_ns)
            for number in range(meta["chunks"]):
                yield from _chunk_frames(market, archive, number, topics, symbols, window)
                if window.ended:
                    return


@dataclass(slots=True)
class _Window:
    """Receive times [start_ns, end_ns) (None: open on that side); `ended` once a line at or
    after `end_ns` was met."""

    start_ns: int | None
    end_ns: int | None
    ended: bool = False

    def lines(self, recv: list[int]) -> Iterable[int]:
        """The indexes of a chunk's lines in the window, in order."""
        count = len(recv)
        if self.end_ns is not None:
            end = self.end_ns
            count = next((i for i, t in enumerate(recv) if t >= end), count)
            self.ended = count < len(recv)
        if self.start_ns is None:
            return range(count)
        start = self.start_ns
        return [i for i in range(count) if recv[i] >= start]


_NEW: Final = object.__new__
_SYMBOL, _TS_MS, _DEPTH, _IS_SNAPSHOT, _BIDS, _ASKS, _RECV_NS, _MATCH_MS = (
    getattr(DepthUpdate, name).__set__
    for name in ("symbol", "ts_ms", "depth", "is_snapshot", "bids", "asks", "recv_ns", "match_ms")
)


def _depth_update(  # noqa: PLR0913, PLR0917 -- DepthUpdate's eight fields, in order
    symbol: str,
    ts_ms: int,
    depth: int,
    is_snapshot: bool,
    bids: tuple[Level, ...],
    asks: tuple[Level, ...],
    recv_ns: int,
    match_ms: int,
) -> DepthUpdate:
    """`DepthUpdate(...)`, the same object at half the cost: a frozen dataclass's `__init__`
    sets each field through `object.__setattr__` by name, the slots' own setters do not
    (this is the columns' inner loop; tested equal to the lines' events)."""
    update: DepthUpdate = _NEW(DepthUpdate)
    _SYMBOL(update, symbol)
    _TS_MS(update, ts_ms)
    _DEPTH(update, depth)
    _IS_SNAPSHOT(update, is_snapshot)
    _BIDS(update, bids)
    _ASKS(update, asks)
    _RECV_NS(update, recv_ns)
    _MATCH_MS(update, match_ms)
    return update


def _sides(
    prices: list[int], lots: list[int], start: int, middle: int, end: int
) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """A book row's (bids, asks): levels start..middle and middle..end."""
    if middle == start + 1 and end == middle + 1:  # orderbook.1: one level a side
        return ((prices[start], lots[start]),), ((prices[middle], lots[middle]),)
    return (
        tuple(zip(prices[start:middle], lots[start:middle], strict=True)),
        tuple(zip(prices[middle:end], lots[middle:end], strict=True)),
    )


def _fallback(source: Path) -> Path:
    """Where the cache goes when the recording's directory is not writable."""
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "backtest-columns" / f"{digest}-{cache_path(source).name}"


def _valid(cache: Path, key: str) -> zipfile.ZipFile | None:
    """The cache at `cache` if it is there, readable and of `key`."""
    if not cache.exists():
        return None
    try:
        archive = zipfile.ZipFile(cache)
    except zipfile.BadZipFile:
        return None  # cut short or overwritten: built again
    try:
        same = json.loads(archive.read("meta.json"))["key"] == key
    except (KeyError, ValueError):
        same = False  # no meta or key, or not JSON: not a cache of this source, built again
    if same:
        return archive
    archive.close()
    return None


def _column(archive: zipfile.ZipFile, name: str) -> npt.NDArray[np.generic]:
    with archive.open(name) as member:
        array: npt.NDArray[np.generic] = np.lib.format.read_array(member)
    return array


def _chunk_frames(
    market: MarketFrames,
    archive: zipfile.ZipFile,
    number: int,
    topics: list[str],
    symbols: list[str],
    window: _Window,
) -> Iterator[MarketFrame]:
    """The frames of chunk `number` that `window` holds."""
    recv: list[int] = _column(archive, f"{number}/recv_ns.npy").tolist()
    chosen = window.lines(recv)
    if chosen:  # else before the window (or past its end): the other columns not even read
        yield from _frames_of_chunk(market, archive, number, topics, symbols, recv, chosen)


def _frames_of_chunk(  # noqa: PLR0913, PLR0917 -- the chunk, where it is, and its lines
    market: MarketFrames,
    archive: zipfile.ZipFile,
    number: int,
    topics: list[str],
    symbols: list[str],
    recv: list[int],
    chosen: Iterable[int],
) -> Iterator[MarketFrame]:
    c = {n: _column(archive, f"{number}/{n}.npy") for n, _ in _LINE_COLUMNS}
    prices, lots, buys, trade_ms = (
        _column(archive, f"{number}/{n}.npy").tolist() for n, _ in _LEVEL_COLUMNS
    )
    raw = b""  # the chunk's raw lines, read at the first line that needs them (if any)
    feed, lag, followed = market.feed_topics, market.feed_latency_ns, market.followed
    venue_ns_of = (c["recv_ns"] - lag).tolist()  # the engine's axis, as MarketFrames has it
    ts_ms_of = ((c["recv_ns"] - lag) // NS_PER_MS).tolist()
    kind = c["kind"].tolist()
    for_feed = [t >= 0 and topics[t] in feed for t in c["topic"].tolist()]
    names = [symbols[x] if x >= 0 else "" for x in c["symbol"].tolist()]
    depths, snapshots = c["depth"].tolist(), (c["snapshot"] == 1).tolist()
    book_ms = c["match_ms"].tolist()
    starts, bids, asks = c["start"].tolist(), c["bids"].tolist(), c["asks"].tolist()
    raw_starts, raw_lens = c["raw_start"].tolist(), c["raw_len"].tolist()
    counts = {  # per line with counts: (reason, count) of its decoding
        int(i): [(r, int(c[f"skip_{r}"][i])) for r in SKIP_REASONS if c[f"skip_{r}"][i]]
        for i in np.flatnonzero(sum(c[f"skip_{r}"].astype(np.int64) for r in SKIP_REASONS))
    }
    known: dict[str, int] = {}  # the depth each ladder followed when last asked (it only grows)
    for i in chosen:
        recv_ns, k = recv[i], kind[i]
        feed_frame: PublicFrame | None = None
        if k == RAW:
            r = raw_starts[i]
            raw = raw or _column(archive, f"{number}/raw.npy").tobytes()
            frame = market.frame_of(recv_ns, raw[r : r + raw_lens[i]])
            if frame is not None:
                yield frame
            continue
        if for_feed[i]:  # a clean frame the feed reads: decoded for it alone
            r = raw_starts[i]
            raw = raw or _column(archive, f"{number}/raw.npy").tobytes()
            decoded = decode_public(raw[r : r + raw_lens[i]])
            if isinstance(decoded, FrameDrop):  # it decoded when the cache was built
                raise CacheError(f"line {i} of chunk {number} no longer decodes: {decoded}")
            feed_frame = decoded
        market.frames += 1
        if i in counts:
            market.count_venue_skips(counts[i])
        ts_ms, s, n, name = ts_ms_of[i], starts[i], bids[i], names[i]
        if k == TRADES:
            events: list[DepthUpdate | RecordedTrade] = [
                RecordedTrade(name, ts_ms, buys[j] == 1, prices[j], lots[j], recv_ns, trade_ms[j])
                for j in range(s, s + n)
            ]
        else:
            depth, snapshot = depths[i], snapshots[i]
            shallower = depth < known.get(name, 0) or depth < known.setdefault(name, followed(name))
            if shallower and not snapshot:  # skipped by the ladder whole: no levels needed
                update = _depth_update(name, ts_ms, depth, False, (), (), recv_ns, book_ms[i])
            else:  # a shallower snapshot too: the ladder may take it as the top
                if not shallower:
                    known.pop(name)  # asked again next time: the ladder may follow this one
                levels_b, levels_a = _sides(prices, lots, s, s + n, s + n + asks[i])
                update = _depth_update(
                    name, ts_ms, depth, snapshot, levels_b, levels_a, recv_ns, book_ms[i]
                )
            events = [update]
        yield MarketFrame(recv_ns, venue_ns_of[i], events, feed_frame)
