"""Recorder: what the feed receives and what the executor says, kept in daily files.

Consumes the feed's raw tap (`raw.` VenueFrames on [bus.endpoints] market-data-raw: every
public frame with its receive time, in batches) and the executor's events (`exec.` on
execution-events, with its snapshot at start and after any gap). Writes gzip files under
`[recorder] recordings-dir`, one directory per UTC day of the receive time:
`<YYYY-MM-DD>/<SYMBOL>.frames.gz` (`<receive ns> <frame JSON>` lines, the format of the
team's real data) and `<YYYY-MM-DD>/executor.events.gz` (`<receive ns> <message JSON>`),
sync-flushed every `flush-interval-s`; day directories older than `keep-days` go. A write
error (a full disk) raises an alert and a counter and the recorder keeps running. Publishes
heartbeats, ServiceStatus and Alert on [bus.endpoints] recorder-events. Readers of the
files: shared.recordings.
"""
