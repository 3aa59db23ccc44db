"""The recording a sweep runs on: files or one day of a recordings directory.

One file is read through its columnar cache (`research.backtest.columnar`: decoded once,
then each trial reads the columns without JSON; the same run as from the lines); else the
lines are kept in memory when small (decompressed once per process, shared by its trials),
or streamed per trial.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from research.backtest.columnar import ColumnarRecording
from research.backtest.market import recording_lines, symbols_day_lines
from research.sweep.walk_forward import Line, Window, within

CACHE_LIMIT_BYTES = 256 * 1024 * 1024  # compressed size up to which the lines stay in memory


@dataclass(frozen=True, slots=True)
class Recording:
    """Recording files, or `root`/`day`/`symbols` of a recordings directory (several
    symbols: a market maker's run, their lines merged by receive time)."""

    files: tuple[Path, ...] = ()
    root: Path | None = None
    day: str | None = None
    symbols: tuple[str, ...] = ()
    cache_limit_bytes: int = CACHE_LIMIT_BYTES
    columnar: bool = False  # the one file through its columnar cache
    _cache: list[list[Line]] = field(default_factory=list, compare=False, repr=False)

    def describe(self) -> str:
        if self.root is not None:
            return f"{self.root} {self.day} {' '.join(self.symbols)}"
        return ", ".join(str(f) for f in self.files)

    def __post_init__(self) -> None:
        if self.columnar and (self.root is not None or len(self.files) != 1):
            raise ValueError("the columnar cache takes exactly one recording FILE")

    def source(self, window: Window | None = None) -> Iterator[Line] | ColumnarRecording:
        """What a trial's backtest reads: the columns of the one file, or the lines (those
        of `window` when given)."""
        if not self.columnar:
            return self.lines(window)
        start, end = (None, None) if window is None else (window.start_ns, window.end_ns)
        return ColumnarRecording(self.files[0], start_ns=start, end_ns=end)

    def lines(self, window: Window | None = None) -> Iterator[Line]:
        """The lines in receive-time order (those of `window` when given)."""
        source = self._cached() if self._small() else self._stream()
        return source if window is None else within(source, window)

    def _stream(self) -> Iterator[Line]:
        if self.root is not None:
            assert self.day is not None
            assert self.symbols
            return symbols_day_lines(self.root, self.day, self.symbols)
        return recording_lines(self.files)

    def _small(self) -> bool:
        if self.root is not None or self.columnar:  # columnar: the lines are read only once
            return False
        return sum(f.stat().st_size for f in self.files) <= self.cache_limit_bytes

    def _cached(self) -> Iterator[Line]:
        if not self._cache:
            self._cache.append(list(self._stream()))
        return iter(self._cache[0])
