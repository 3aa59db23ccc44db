"""The whole system in paper mode under supervisord, as `scripts/run` starts it.

Boots every service, waits for the strategy's entries and exits on the simulator, then
stops: every service exits 0, no order is left working, and the journal agrees with the
venue about the position.
"""

import shutil
import signal
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.control import Supervisor
from scripts.paper_system import System, running_system
from services.executor.order_state import TERMINAL_STATUSES
from shared.recordings import day_dirs, read_day, read_events
from shared.schema import OrderFilled, OrderPartiallyFilled
from tests.helpers.waiting import eventually_sync

pytestmark = pytest.mark.system
TERMINAL = tuple(str(s) for s in TERMINAL_STATUSES)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """ipc paths are limited to 107 bytes: a short directory under /tmp."""
    path = Path(tempfile.mkdtemp(prefix="sys-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def entries_and_exits(system: System) -> bool:
    assert system.process.poll() is None, (system.run_dir.parent / "run.out").read_text()
    rows = system.journal(
        "SELECT json_extract(i.command, '$.reduce_only') FROM fills f"
        " JOIN intents i USING (client_order_id)"
    )
    return any(reduce for (reduce,) in rows) and any(not reduce for (reduce,) in rows)


def venue_net_qty(system: System, symbol: str) -> Decimal:
    positions = system.venue("/v5/position/list", {"category": "linear", "symbol": symbol})
    return sum(
        (Decimal(p["size"]) * (1 if p["side"] == "Buy" else -1) for p in positions if p["side"]),
        start=Decimal(0),
    )


def test_paper_system_trades_and_stops_cleanly(short_dir: Path) -> None:
    with running_system(short_dir) as system:
        eventually_sync(lambda: entries_and_exits(system), timeout_s=90, interval_s=0.5)
        supervisor = Supervisor(system.run_dir)
        recorder_state = supervisor.rpc.getProcessInfo("recorder")["statename"]
        for name in ("strategy", "executor"):  # the venue stays up: ask it afterwards
            supervisor.rpc.stopProcess(name, True)
        open_orders = system.venue(
            "/v5/order/realtime", {"category": "linear", "settleCoin": "USDT"}
        )
        symbols = {s for (s,) in system.journal("SELECT DISTINCT symbol FROM intents")}
        journal_fills = {e for (e,) in system.journal("SELECT exec_id FROM fills")}
        positions = {s: (venue_net_qty(system, s), system.journal_net_qty(s)) for s in symbols}
        journal_open = system.journal(
            f"SELECT client_order_id, status FROM intents WHERE status NOT IN"
            f" ({', '.join('?' * len(TERMINAL))})",
            *TERMINAL,
        )
        system.process.send_signal(signal.SIGTERM)
        exit_code = system.process.wait(timeout=60)
        run_out = (short_dir / "run.out").read_text()
        executor_log = system.log("executor")
    assert exit_code == 0, run_out
    assert "stopped cleanly" in run_out
    assert open_orders == []
    assert journal_open == []
    assert all(venue == ours for venue, ours in positions.values()), positions
    assert "shutdown: no working orders at the venue" in executor_log
    assert "left open" in run_out  # the positions at the venue, and their venue stops
    # The others start once the paper venue answers: no connection warnings at start.
    assert "scan failed" not in system.log("scanner")
    assert "bybit stream disconnected" not in system.log("feed") + executor_log
    # The recorder ran beside them and closed its files at the stop: the traded symbols'
    # frames, and every fill the executor journaled among its recorded events.
    assert recorder_state == "RUNNING"
    root = system.run_dir / "recordings"
    for symbol in symbols:
        days = [d for d in day_dirs(root) if (root / d / f"{symbol}.frames.gz").exists()]
        frames = [frame for day in days for _, frame in read_day(root, day, symbol)]
        assert len(frames) > 100, symbol
        assert any(frame.startswith(b'{"topic":"orderbook.') for frame in frames)
    events = [m for day in day_dirs(root) for _, m in read_events(root, day)]
    fills = {m.exec_id for m in events if isinstance(m, OrderFilled | OrderPartiallyFilled)}
    assert journal_fills
    assert journal_fills <= fills
    strategy_log = system.log("strategy")
    assert "transition Idle -> EntryPending" in strategy_log
