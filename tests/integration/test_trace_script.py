"""scripts/trace, run as an operator would: one order's story from a journal and the logs."""

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from services.executor.journal import Journal
from services.executor.journal_records import EventKind, Fill
from shared.journal_read import JOURNAL_FILE
from shared.schema import ClientOrderId, OrderStatus, VenueOrderId
from shared.settings import REPO_ROOT
from tests.helpers.samples import make_submit

pytestmark = pytest.mark.integration

D = Decimal
MS = 1_000_000
T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z: the frame's receive time
COID = ClientOrderId("mom1-3-lonm1bk0")
VOID = VenueOrderId("1321003749386327552")
TRACE = "loyw3v27-1842"


def _log(ms: int, service: str, logger: str, message: str) -> str:
    seconds, millis = divmod(ms, 1000)
    stamp = f"2023-11-14T22:13:{20 + seconds:02d}.{millis:03d}Z"
    return f"{stamp} INFO service={service} pid=7 {logger}: {message}\n"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run directory with one filled order journaled and the services' log lines about it."""
    command = msgspec.structs.replace(
        make_submit(expires_at_ns=T0 + 1000 * MS, trace_id=TRACE),
        client_order_id=COID,
        ts_trigger_recv_ns=T0,
        ts_trigger_event_ns=T0 - 2 * MS,
        ts_created_ns=T0 + MS // 2,
    )
    journal = Journal(tmp_path / JOURNAL_FILE)
    journal.record_intent(command, T0 + MS, sent_ns=T0 + 2 * MS)
    journal.record_ack(COID, T0 + 6 * MS, VOID, T0 + 2 * MS)
    fill = Fill("e1", COID, VOID, D("0.002"), D("64000.1"), D("0.0128"), True, T0 + 8 * MS)
    journal.record_fill(fill, T0 + 9 * MS, OrderStatus.FILLED)
    journal.record_event(COID, EventKind.STATUS, T0 + 10 * MS, status=OrderStatus.FILLED)
    journal.close()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "strategy.log").write_text(
        _log(0, "strategy", "services.strategy.loop", "joined feed")
        + _log(
            1,
            "strategy",
            "services.strategy.loop",
            f"command sent SubmitOrder order={COID} trace={TRACE}",
        )
        + _log(
            1,
            "strategy",
            "services.strategy.loop",
            f"transition Idle -> EntryPending reason=entry trace={TRACE}",
        )
        + _log(3, "strategy", "services.strategy.loop", f"entry skipped reason=x trace={TRACE}0")
    )
    (logs / "executor.log").write_text(
        _log(
            7,
            "executor",
            "services.executor.service",
            f"order accepted order={COID} venue={VOID} trace={TRACE}",
        )
        + _log(8, "executor", "services.executor.service", "something else entirely")
    )
    return tmp_path


def _trace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / "scripts" / "trace"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _stages(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    (order,) = json.loads(result.stdout)["orders"]
    stages: list[dict[str, Any]] = order["stages"]
    return stages


def test_the_timeline_runs_from_the_frame_to_the_fill_in_order(run_dir: Path) -> None:
    stages = _stages(_trace(TRACE, "--run-dir", str(run_dir), "--json"))

    assert [s["stage"] for s in stages] == [
        "frame received",
        "command sent",
        "intent journaled",
        "log strategy",
        "log strategy",
        "request sent",
        "ack",
        "log executor",
        "fill",
        "status",
    ]
    assert [s["delta_ms"] for s in stages] == [0, 0.5, 1, 1, 1, 2, 6, 7, 9, 10]
    assert stages[0]["time"] == "2023-11-14T22:13:20.000000Z"
    assert TRACE in stages[0]["detail"]
    assert "exec e1 0.002 @ 64000.1" in stages[8]["detail"]
    assert stages[8]["detail"].endswith("-> Filled")
    assert f"venue order {VOID}" == stages[6]["detail"]


def test_the_client_id_the_venue_id_and_the_trace_tell_the_same_story(run_dir: Path) -> None:
    by_trace = _stages(_trace(TRACE, "--run-dir", str(run_dir), "--json"))
    by_coid = _stages(_trace(COID, "--run-dir", str(run_dir), "--json"))
    by_venue = _stages(_trace(VOID, "--run-dir", str(run_dir), "--json"))

    assert by_trace == by_coid == by_venue


def test_the_text_timeline_names_the_order_and_each_stage(run_dir: Path) -> None:
    result = _trace(COID, "--run-dir", str(run_dir))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"order {COID}  venue {VOID}  trace {TRACE}  BTCUSDT  status Filled")
    assert "+0.000 ms  frame received" in lines[1]
    assert "+9.000 ms  fill" in lines[9]


def test_an_unknown_id_is_a_clear_error(run_dir: Path) -> None:
    result = _trace("nothing-1", "--run-dir", str(run_dir))

    assert result.returncode == 1
    journal = run_dir / JOURNAL_FILE
    assert result.stderr.strip() == (
        f"error: no order or trace nothing-1 in {journal} or the logs under {run_dir}"
    )
    assert result.stdout == ""


def test_log_lines_alone_are_shown_when_no_order_has_the_id(run_dir: Path) -> None:
    result = _trace(f"{TRACE}0", "--run-dir", str(run_dir), "--json")

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["orders"] == []
    assert [line["detail"] for line in found["log_lines"]] == [
        f"INFO services.strategy.loop: entry skipped reason=x trace={TRACE}0"
    ]
