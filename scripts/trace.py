"""scripts/trace: one order's whole story, from the executor's journal and the services' logs.

Given a client order id (our orderLinkId), a venue order id or a trace id (the market-data
frame behind a decision, docs/decisions/0003-trace-id.md), find the order(s) in the run's
journal (read-only) and every log line that names the order, its venue id or its trace
(`trace=<id>`), in each service's log under the run directory, and print one timeline per
order: the frame received, the command sent by the strategy, the intent journaled, the
request sent, the acknowledgement, each fill, each cancel or status, and the log lines, each
with its UTC time and its delay after the frame. Journal times are in ns, log times in ms.
"""

import argparse
import calendar
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.executor.journal_reader import OrderStory, journal_path, read_stories
from shared.journal_read import JournalUnreadable
from shared.settings import SettingsError, SystemSettings, load_section, resolve_run_dir

NS_PER_MS = 1_000_000
# scripts/run's supervisord writes <run dir>/logs/<service>.log (and .log.1 ... when rotated)
LOG_GLOBS = ("logs/*.log*", "*.log*")
# shared/runtime/logging.py: "<UTC time>.<ms>Z LEVEL service=<name> pid=<pid> logger: text"
_LOG_LINE = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z (\S+) service=(\S+) pid=\d+ (\S+): (.*)"
)
_EVENT_STAGES = {
    "sent": "request sent",
    "resend": "request sent again",
    "ack": "ack",
    "fill": "fill",
    "status": "status",
    "in_doubt": "in doubt",
    "cancel": "cancel requested",
    "amend": "amend requested",
    "correction": "corrected by the venue",
    "denied": "denied",
}


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of an order's story: what, when (UNIX ns), where it was read, the detail."""

    stage: str
    ts_ns: int
    source: str
    detail: str


@dataclass(frozen=True, slots=True)
class LogLine:
    ts_ns: int
    service: str
    text: str  # "LEVEL logger: message"


def log_lines(run_dir: Path, ids: Iterable[str]) -> list[LogLine]:
    """The log lines under `run_dir` that name one of `ids` (a whole token, not a prefix)."""
    wanted = [i for i in ids if i]
    if not wanted:
        return []
    names = "|".join(re.escape(i) for i in sorted(wanted, key=len, reverse=True))
    token = re.compile(rf"(?<![0-9A-Za-z_-])(?:{names})(?![0-9A-Za-z_-])")
    found: list[LogLine] = []
    for path in _log_files(run_dir):
        with path.open(errors="replace") as lines:
            for line in lines:
                if any(i in line for i in wanted) and token.search(line):
                    parsed = _parse_log_line(line.rstrip("\n"), path)
                    if parsed is not None:
                        found.append(parsed)
    return sorted(found, key=lambda line: line.ts_ns)


def _log_files(run_dir: Path) -> Iterator[Path]:
    seen: set[Path] = set()
    for pattern in LOG_GLOBS:
        for path in sorted(run_dir.glob(pattern)):
            if path.is_file() and path not in seen:
                seen.add(path)
                yield path


def _parse_log_line(line: str, path: Path) -> LogLine | None:
    match = _LOG_LINE.match(line)
    if match is None:
        return None  # a line of another shape (a library's, a traceback's fold)
    stamp, ms, level, service, logger, message = match.groups()
    seconds = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))
    ts_ns = seconds * 1_000_000_000 + int(ms) * NS_PER_MS
    return LogLine(ts_ns, service or path.name.split(".")[0], f"{level} {logger}: {message}")


def journal_stages(story: OrderStory) -> list[Stage]:
    """The order's stages as the journal (and the command it keeps) tells them."""
    command = story.command
    stages: list[Stage] = []
    if command.ts_trigger_recv_ns:
        venue = _time(command.ts_trigger_event_ns) if command.ts_trigger_event_ns else "?"
        detail = f"trace {story.trace_id or '-'}, venue time {venue}"
        stages.append(Stage("frame received", command.ts_trigger_recv_ns, "feed", detail))
    price = "" if command.limit_price is None else f" @ {command.limit_price}"
    what = (
        f"{command.side} {command.qty} {command.symbol} {command.order_type}"
        f" {command.time_in_force}{price}{' reduce-only' if command.reduce_only else ''}"
    )
    stages.append(Stage("command sent", command.ts_created_ns, "strategy", what))
    stages.append(Stage("intent journaled", story.ts_recorded_ns, "journal", ""))
    if story.ts_request_sent_ns:
        stages.append(Stage("request sent", story.ts_request_sent_ns, "journal", ""))
    fills = {fill.exec_id: fill for fill in story.fills}
    for event in story.events:
        if event.kind == "sent" and event.ts_ns == story.ts_request_sent_ns:
            continue  # already the "request sent" stage
        detail = ""
        if event.kind == "ack":
            detail = f"venue order {event.venue_order_id}"
        elif event.kind == "fill" and (fill := fills.get(event.payload.get("exec_id", ""))):
            role = "maker" if fill.is_maker else "taker"
            detail = (
                f"exec {fill.exec_id} {fill.qty} @ {fill.price} fee {fill.fee} {role},"
                f" venue time {_time(fill.ts_event_ns)}"
            )
        elif event.payload:
            detail = " ".join(f"{k}={v}" for k, v in sorted(event.payload.items()))
        if event.status:
            detail = f"{detail} -> {event.status}".strip()
        stage = _EVENT_STAGES.get(event.kind, event.kind)
        stages.append(Stage(stage, event.ts_ns, "journal", detail))
    return stages


def timeline(stages: list[Stage], lines: list[LogLine]) -> list[Stage]:
    """Journal stages and log lines in time order (journal first on a tie: it is finer)."""
    logged = [Stage(f"log {line.service}", line.ts_ns, line.service, line.text) for line in lines]
    return sorted(stages + logged, key=lambda s: s.ts_ns)


def trace(ident: str, run_dir: Path, journal: Path) -> dict[str, Any]:
    """Everything known of `ident`: the orders found and their timelines, the log lines
    that name it when no order does, and why the journal was not read (if it was not)."""
    journal_error = ""
    try:
        stories = read_stories(journal, ident)
    except JournalUnreadable as e:
        stories, journal_error = [], str(e)
    orders = []
    for story in stories:
        ids = {ident, story.command.client_order_id, story.venue_order_id or "", story.trace_id}
        stages = timeline(journal_stages(story), log_lines(run_dir, ids))
        origin = story.command.ts_trigger_recv_ns or (stages[0].ts_ns if stages else 0)
        orders.append(
            {
                "client_order_id": story.command.client_order_id,
                "venue_order_id": story.venue_order_id,
                "trace_id": story.trace_id,
                "symbol": story.command.symbol,
                "status": story.status,
                "stages": [_row(stage, origin) for stage in stages],
            }
        )
    loose: list[dict[str, Any]] = []
    if not orders:
        lines = timeline([], log_lines(run_dir, [ident]))
        loose = [_row(stage, lines[0].ts_ns) for stage in lines]
    return {
        "id": ident,
        "journal": str(journal),
        "journal_error": journal_error,
        "log_dir": str(run_dir),
        "orders": orders,
        "log_lines": loose,
    }


def _row(stage: Stage, origin_ns: int) -> dict[str, Any]:
    row = asdict(stage)
    row["time"] = _time(stage.ts_ns)
    row["delta_ms"] = round((stage.ts_ns - origin_ns) / NS_PER_MS, 3)
    return row


def _time(ts_ns: int) -> str:
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}Z"


def render(found: dict[str, Any]) -> str:
    """The timelines as text: one block per order, one line per stage."""
    out: list[str] = []
    for order in found["orders"]:
        out.append(
            f"order {order['client_order_id']}  venue {order['venue_order_id'] or '-'}"
            f"  trace {order['trace_id'] or '-'}  {order['symbol']}  status {order['status']}"
        )
        out += [_render_row(row) for row in order["stages"]]
        out.append("")
    if found["log_lines"]:
        out.append(f"no order {found['id']} in {found['journal']}; the log lines naming it:")
        out += [_render_row(row) for row in found["log_lines"]]
        out.append("")
    return "\n".join(out)


def _render_row(row: dict[str, Any]) -> str:
    delta = f"{row['delta_ms']:+.3f} ms"
    return f"  {row['time']}  {delta:>14}  {row['stage']:<22} {row['detail']}".rstrip()


def _default_run_dir() -> Path:
    return resolve_run_dir(load_section("system", SystemSettings))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/trace",
        description=(
            "Print one order's story from the executor's journal and the services' logs:"
            " the market-data frame behind it, the command, the intent journaled, the request,"
            " the ack, each fill, cancels and statuses, each with its time and its delay"
            " after the frame."
        ),
        epilog="ID: a client order id (orderLinkId), a venue order id, or a trace id.",
    )
    parser.add_argument("id", metavar="ID", help="client order id, venue order id or trace id")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--run-dir", type=Path, help="the run directory (default: the settings' run-dir)"
    )
    args = parser.parse_args(argv)
    try:
        run_dir = args.run_dir or _default_run_dir()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    journal = journal_path(run_dir)
    found = trace(args.id, run_dir, journal)
    if not found["orders"] and not found["log_lines"]:
        why = f" ({found['journal_error']})" if found["journal_error"] else ""
        print(
            f"error: no order or trace {args.id} in {journal} or the logs under {run_dir}{why}",
            file=sys.stderr,
        )
        return 1
    if found["journal_error"]:
        print(f"warning: journal not read: {found['journal_error']}", file=sys.stderr)
    try:
        print(json.dumps(found) if args.json else render(found), flush=True)
    except BrokenPipeError:  # the reader (e.g. head) has what it wanted: no traceback at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
