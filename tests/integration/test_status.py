"""scripts/status against real metrics pages on loopback and a real journal in a run dir.

The bus and supervisord are replaced (nothing runs): what is tested is what the screen
says when a metrics page does not answer and when the executor restarted during the day.
"""

import subprocess
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest

from scripts import status
from scripts.control import free_port
from services.executor.journal import Journal
from services.executor.journal_records import Fill
from shared.schema import (
    ClientOrderId,
    ExecutionSnapshot,
    OrderSide,
    OrderStatus,
    StrategyStatus,
    Symbol,
    TradingState,
    VenueOrderId,
)
from shared.settings import SystemSettings
from tests.helpers.samples import make_submit

pytestmark = pytest.mark.integration

# What an executor that restarted after its first two fills says about itself.
EXECUTOR_PAGE = """# HELP executor_events_total events
executor_events_total{kind="accepted"} 1.0
executor_events_total{kind="fills"} 1.0
bus_dropped_messages_total{endpoint="x"} 0.0
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = EXECUTOR_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # no access log on the test's stderr


@pytest.fixture
def executor_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executor_port: int) -> Path:
    """No supervisord, no bus: an executor snapshot only; the feed's page does not answer."""
    now = time.time_ns()
    snapshot = ExecutionSnapshot(
        open_orders=(),
        positions=(),
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=now,
    )
    view = {"heard_ns": {}, "now_ns": now, "executor": [snapshot]}
    monkeypatch.setattr(status, "run_dir_from_settings", lambda: (SystemSettings(), tmp_path))
    monkeypatch.setattr(status, "_bus_view", lambda run_dir, timeout_s: view)
    monkeypatch.setattr(status, "_ports", lambda: {"executor": executor_port, "feed": free_port()})
    return tmp_path


def _journal_three_fills(path: Path) -> None:
    """Three fills today, the executor killed and started again after each."""
    now = time.time_ns()
    for n, (side, price) in enumerate(
        [(OrderSide.BUY, "100"), (OrderSide.SELL, "101"), (OrderSide.BUY, "102")], start=1
    ):
        journal = Journal(path)  # a fresh writer for each: the executor restarted between
        coid = ClientOrderId(f"mom1-3-{n}")
        journal.record_intent(
            msgspec.structs.replace(make_submit(), client_order_id=coid, side=side),
            now,
            sent_ns=now,
        )
        journal.record_ack(coid, now, VenueOrderId(f"v{n}"), now)
        journal.record_fill(
            Fill(
                f"e{n}",
                coid,
                VenueOrderId(f"v{n}"),
                Decimal("0.001"),
                Decimal(price),
                Decimal("0.0001"),
                True,
                now + n,
            ),
            now + n,
            OrderStatus.FILLED,
        )
        journal.close()


def test_an_unanswered_metrics_page_is_unknown_naming_the_service(run_dir: Path) -> None:
    screen = status.render(status.collect(run_dir, timeout_s=0))

    bus_line = next(line for line in screen.splitlines() if line.startswith("bus "))
    assert "unknown (feed" in bus_line, screen
    assert "dropped 0" not in bus_line, screen


def test_counts_and_pnl_come_from_the_journal_across_a_restart(run_dir: Path) -> None:
    _journal_three_fills(run_dir / "executor-journal.sqlite")

    screen = status.render(status.collect(run_dir, timeout_s=0))

    orders_line = next(line for line in screen.splitlines() if line.startswith("orders "))
    assert "fills 3" in orders_line, screen
    assert "accepted 3" in orders_line, screen
    pnl_line = next(line for line in screen.splitlines() if line.startswith("pnl "))
    assert "realised today 0.0007 USDT" in pnl_line, screen  # 0.001 * (101 - 100) - 3 * 0.0001


def test_the_screen_has_no_python_none(run_dir: Path) -> None:
    screen = status.render(status.collect(run_dir, timeout_s=0))

    assert "None" not in screen, screen
    assert "[]" not in screen, screen
    assert "{" not in screen, screen


def test_processes_of_a_run_whose_supervisord_is_gone_are_named_not_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(status, "run_dir_from_settings", lambda: (SystemSettings(), tmp_path))
    # A stand-in for a service left behind: the environment supervisord gives its children.
    env = {"TRADING_RUN_DIR": str(tmp_path), "SUPERVISOR_PROCESS_NAME": "strategy"}
    with subprocess.Popen(["sleep", "60"], env=env) as orphan:
        try:
            assert status.main([]) == 1
        finally:
            orphan.kill()
    err = capsys.readouterr().err
    assert f"strategy pid {orphan.pid}" in err
    assert "scripts/stop" in err


def test_every_strategy_instance_is_listed_with_its_own_snapshot(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: a further instance [strategy-mm1] whose snapshot answered, and [strategy-mm2]
    # whose did not.
    now = time.time_ns()
    quoting = StrategyStatus(
        strategy_id="mm1",
        state="Quoting",
        symbol=Symbol("ETHUSDT"),
        epoch=1,
        position_qty=Decimal(0),
        entry_price=None,
        realised_pnl_usdt=Decimal(0),
        reason="reconciled snapshot",
        ts_event_ns=now,
    )
    view = status._bus_view(run_dir, 0)
    view["strategy-mm1"] = [quoting]
    monkeypatch.setattr(status, "_bus_view", lambda run_dir, timeout_s: view)
    monkeypatch.setattr(status, "_instances", lambda: ("mm1", "mm2"))

    # Act
    collected = status.collect(run_dir, timeout_s=0)
    screen = status.render(collected)

    # Assert
    lines = screen.splitlines()
    assert "instance strategy-mm1  id mm1  Quoting  ETHUSDT" in lines, screen
    mm2 = next(line for line in lines if line.startswith("instance strategy-mm2"))
    assert "unknown (strategy-mm2: no snapshot reply" in mm2, screen
    assert set(collected["services"]) >= {"strategy", "strategy-mm1", "strategy-mm2"}
    assert any(line.startswith("strategy-mm1 ") for line in lines), screen
