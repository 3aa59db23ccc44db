"""When the live strategy was running: the window in which its decisions can be compared.

The recorder and the feed start before the strategy and stop after it (scripts/run's
order), so the recording holds market the live strategy never saw: a backtest over all of
it decides before the strategy started and after it was stopped. Those decisions have no
live counterpart; they are left out of the comparison and counted.

The window is read from the strategy's log (`<run dir>/logs/strategy.log`, the lines of
`shared.runtime.service`): the last `starting service=strategy` and the first `stop
requested service=strategy` after it (ms, UTC). A strategy that restarted in between
shows as its last start; an unknown end is said, never guessed.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

NS_PER_MS: Final = 1_000_000
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LINE: Final = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \w+ service=strategy .*"
    r"(?P<what>starting|stop requested) service=strategy\s*$"
)


@dataclass(frozen=True, slots=True)
class Window:
    start_ns: int | None  # None: not known (no start line)
    end_ns: int | None  # None: not known (still running, or the log ends before a stop)

    def holds(self, ts_ns: int) -> bool:
        after_start = self.start_ns is None or ts_ns >= self.start_ns
        return after_start and (self.end_ns is None or ts_ns <= self.end_ns)

    def describe(self) -> str:
        return f"{_show(self.start_ns)} .. {_show(self.end_ns)}"


def _show(ns: int | None) -> str:
    if ns is None:
        return "unknown"
    return (EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="milliseconds")


def window_of_log(lines: list[str]) -> Window:
    """The last start of the strategy and the first stop request after it."""
    start: int | None = None
    end: int | None = None
    for line in lines:
        m = _LINE.match(line)
        if m is None:
            continue
        at = _ns(m.group("at"))
        if m.group("what") == "starting":
            start, end = at, None
        elif end is None:
            end = at
    return Window(start, end)


def read_window(log: Path) -> Window:
    """The window of the strategy log at `log`; unknown at both ends if there is none."""
    if not log.is_file():
        return Window(None, None)
    return window_of_log(log.read_text(errors="replace").splitlines())


def _ns(text: str) -> int:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (at - EPOCH) // timedelta(milliseconds=1) * NS_PER_MS
