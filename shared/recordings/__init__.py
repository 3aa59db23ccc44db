"""Recordings: the files the recorder writes and scripts/import-bybit makes, and their reader.

The format is the one of the team's real data files (tests/fixtures/data/SOURCES.md): gzip
text, one line per record, `<receive time, ns since epoch> <payload>` and a newline.

- `<SYMBOL>.frames.gz`: the payload is one frame of Bybit's public websocket exactly as
  the feed received it (JSON; for an imported archive the receive time is the venue's
  timestamp, archives having no local time).
- `executor.events.gz`: the payload is one bus message of the executor (order events,
  fills, positions, balances, its snapshot) as msgspec JSON (`shared.schema.to_json`),
  the time being when the recorder received it.

Under a recordings directory there is one directory per UTC day of the receive time:
`<root>/<YYYY-MM-DD>/<SYMBOL>.frames.gz`. A later file of the same day and name (the
recorder restarted, or reopened after a write error) is a new part: `<SYMBOL>.2.frames.gz`,
`.3`, ...; `read_day` merges the parts in receive-time order.

Files are written as sync-flushed gzip: whatever was flushed can be read even from a file
whose writer died before closing it; the reader returns every whole line before such a cut.
"""

from shared.recordings.names import (
    EVENTS,
    EXECUTOR,
    FRAMES,
    day_bounds,
    day_dirs,
    expired_days,
    is_day,
    is_safe_name,
    part_name,
    parts,
    utc_day,
)
from shared.recordings.reader import (
    RecordingError,
    RecordingFile,
    format_line,
    read_day,
    read_events,
    read_file,
)
from shared.recordings.writer import LineWriter, open_next_part

__all__ = [
    "EVENTS",
    "EXECUTOR",
    "FRAMES",
    "LineWriter",
    "RecordingError",
    "RecordingFile",
    "day_bounds",
    "day_dirs",
    "expired_days",
    "format_line",
    "is_day",
    "is_safe_name",
    "open_next_part",
    "part_name",
    "parts",
    "read_day",
    "read_events",
    "read_file",
    "utc_day",
]
