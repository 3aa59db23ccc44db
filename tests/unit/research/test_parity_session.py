"""Parity's readers and report: the live journal, the strategy's window, the session's
latencies, the comparison's figures and text."""

import json
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from research.parity.clock import DelayedStrategy, decision_delay_ns
from research.parity.compare import ParityReport, compare, passed, report_text
from research.parity.latency import session_latencies
from research.parity.live import Intent, SessionUnreadable, read_journal
from research.parity.records import Decision, Fill
from research.parity.session import frame_days, session_lines
from research.parity.window import Window, window_of_log
from services.executor.journal_records import SCHEMA
from services.strategy.api import Output
from shared.bybit.translate import InstrumentRules
from shared.recordings import FRAMES, open_next_part
from shared.schema import BusMessage, StrategyStatus, TradingState, TradingStateChanged

MS = 1_000_000
REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
T0 = 1_796_596_411_000 * MS


def decision(side: str = "Buy", qty: str = "0.001", at: int = 0, coid: str = "c") -> Decision:
    return Decision(side, "Market IOC", None, Decimal(qty), False, T0 + at, coid)


def command(coid: str, side: str, reduce_only: bool, created: int) -> str:
    return json.dumps(
        {
            "kind": "SubmitOrder",
            "client_order_id": coid,
            "strategy_id": "mom1",
            "epoch": 1,
            "symbol": "BTCUSDT",
            "side": side,
            "order_type": "Limit",
            "time_in_force": "PostOnly",
            "qty": "0.002",
            "limit_price": "97000.10",
            "reduce_only": reduce_only,
            "ts_created_ns": created,
            "expires_at_ns": created + 1000 * MS,
            "ts_trigger_recv_ns": created,
            "ts_trigger_event_ns": created,
        }
    )


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "executor-journal.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO schema_version VALUES (2)")
        rows = [
            ("a", "mom1", command("a", "Buy", False, T0), T0 + 1 * MS, T0 + 2 * MS, T0 + 4 * MS),
            ("x", "exec", command("x", "Sell", True, T0), T0 + 2 * MS, T0 + 3 * MS, 0),
            ("b", "mom1", command("b", "Sell", True, T0 + 9 * MS), T0 + 10 * MS, 0, 0),
        ]
        db.executemany(
            "INSERT INTO intents (client_order_id, strategy_id, symbol, command,"
            " ts_recorded_ns, status, ts_request_sent_ns, ts_ack_ns)"
            " VALUES (?, ?, 'BTCUSDT', ?, ?, 'Filled', ?, ?)",
            rows,
        )
        db.execute(
            "INSERT INTO fills VALUES ('e1', 'a', 'v1', '0.002', '97000.10', '0.01', 1, ?, ?)",
            (T0 + 5 * MS, T0 + 6 * MS),
        )
        db.commit()
    return path


def test_the_journal_gives_the_strategys_intents_in_order_and_its_fills(journal: Path) -> None:
    live = read_journal(journal, "mom1")
    assert [i.decision.client_order_id for i in live.intents] == ["a", "b"]
    first = live.intents[0].decision
    assert first.key() == ("Buy", "Limit PostOnly", Decimal("97000.10"), Decimal("0.002"), False)
    assert live.intents[1].decision.reduce_only
    assert live.other_strategies == 1
    assert live.symbols == ["BTCUSDT"]
    assert [f.key() for f in live.fills] == [("Buy", Decimal("0.002"), Decimal("97000.10"), True)]


def test_a_missing_journal_is_named(tmp_path: Path) -> None:
    with pytest.raises(SessionUnreadable, match="no such journal"):
        read_journal(tmp_path / "nope.sqlite", "mom1")


def test_latency_samples_split_the_round_trip_and_add_the_recorded_hop(journal: Path) -> None:
    intents = read_journal(journal, "mom1").intents
    lat = session_latencies(intents, {"a": T0 + 5 * MS}, ())
    # a: created T0, sent +2 ms, acked +4 ms, recorded +5 ms; b was never sent: no sample
    assert lat.entry.samples_ns == (2 * MS + 1 * MS,)
    assert lat.response.samples_ns == (1 * MS + 1 * MS,)
    assert lat.order_to_ack_ns == (2 * MS,)
    without_events = session_latencies(intents, None, ())
    assert without_events.response.samples_ns == (1 * MS,)
    assert "bus hop left out" in without_events.describe()


def test_no_answered_order_gives_no_latency_and_says_what_to_do() -> None:
    unanswered = Intent(decision(), "BTCUSDT", T0, T0, T0, 0, 0)
    with pytest.raises(SessionUnreadable, match="--latency zero"):
        session_latencies([unanswered], None, ())


def test_the_window_is_the_last_start_to_the_stop_after_it() -> None:
    log = [
        "2026-12-06T22:33:00.000Z INFO service=strategy pid=1 shared.runtime.service:"
        " starting service=strategy",
        "2026-12-06T22:33:30.096Z INFO service=strategy pid=2 shared.runtime.service:"
        " starting service=strategy",
        "2026-12-06T22:33:31.000Z INFO service=strategy pid=2 services.strategy.loop: x",
        "2026-12-06T22:34:45.123Z INFO service=strategy pid=2 shared.runtime.service:"
        " stop requested service=strategy",
    ]
    window = window_of_log(log)
    assert window.start_ns == 1_796_596_410_096 * MS
    assert window.end_ns == 1_796_596_485_123 * MS
    assert window.holds(window.start_ns)
    assert not window.holds(window.end_ns + 1)
    assert window_of_log(log[:3]).end_ns is None  # still running: unknown, not guessed
    assert Window(None, None).holds(0)


def test_the_report_lists_every_difference_with_both_sides() -> None:
    live = [decision(coid="l1"), decision("Sell", coid="l2", at=MS), decision(coid="l3")]
    backtest = [decision(coid="b1"), decision(coid="b3", at=2 * MS)]
    decisions = compare(live, backtest, lambda d: d.key(), T0)
    assert (decisions.equal, decisions.places, decisions.share_equal) == (2, 3, 2 / 3)
    (difference,) = decisions.differences
    assert difference.kind == "live_only"
    assert difference.live is not None
    assert difference.live.client_order_id == "l2"
    assert difference.backtest is None
    fill = Fill("Buy", Decimal(1), Decimal(2), False, T0, "l1")
    fills = compare([fill], [fill], lambda f: f.key(), T0)
    report = ParityReport(
        method="m",
        min_equal=0.99,
        passed=passed(decisions, 0.99),
        decisions=decisions,
        fills=fills,
        denied_live=None,
        denied_backtest=0,
        session={},
    )
    text = report_text(report)
    assert "2 equal of 3 places = 66.67%" in text
    assert "FAIL" in text
    assert "live_only" in text
    assert "(l2)" in text
    assert "denied     live unknown" in text
    assert json.loads(report.to_json())["decisions"]["equal"] == 2
    assert not passed(compare([], [], lambda d: d.key(), T0), 0.5)  # nothing compared


def test_only_the_frames_inside_the_window_are_replayed_in_time_order(tmp_path: Path) -> None:
    day = "2026-12-06"
    for part, times in ((1, (1, 3, 5)), (2, (2, 4, 6))):  # a restart: two parts, interleaved
        writer = open_next_part(tmp_path / day, "BTCUSDT", FRAMES)
        for t in times:
            writer.write(T0 + t * MS, b'{"part": %d}' % part)
        writer.close()
    assert frame_days(tmp_path, "BTCUSDT", None) == (day,)
    window = Window(T0 + 2 * MS, T0 + 5 * MS)
    lines = list(session_lines(tmp_path, "BTCUSDT", [day], window))
    assert [t - T0 for t, _ in lines] == [2 * MS, 3 * MS, 4 * MS, 5 * MS]
    every = list(session_lines(tmp_path, "BTCUSDT", [day], Window(None, None)))
    assert len(every) == 6
    with pytest.raises(SessionUnreadable, match="no ETHUSDT"):
        frame_days(tmp_path, "ETHUSDT", None)
    with pytest.raises(SessionUnreadable, match="no BTCUSDT frames recorded that day"):
        frame_days(tmp_path, "BTCUSDT", "2026-12-07")


class Clock:
    """A strategy that notes the time it is given."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.seen: list[int] = []

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        self.seen.append(now_ns)
        return []

    def on_timer(self, now_ns: int) -> list[Output]:
        self.seen.append(now_ns)
        return []

    def executor_silent(self, now_ns: int) -> list[Output]:
        return []

    def set_rules(self, rules: InstrumentRules) -> None:
        return None

    def status(self, now_ns: int) -> StrategyStatus:
        raise NotImplementedError


def test_the_strategy_acts_the_sessions_median_delay_after_the_receive_time(
    journal: Path,
) -> None:
    intents = read_journal(journal, "mom1").intents
    # the commands were made at their trigger's receive time in the fixture: no delay
    assert decision_delay_ns(intents) == 0
    late = [
        replace(i, ts_created_ns=i.ts_trigger_recv_ns + d)
        for i, d in zip(intents, (3, 5), strict=True)
    ]
    assert decision_delay_ns([*late, replace(late[0], ts_created_ns=0)]) == 4  # 0: no trigger
    assert decision_delay_ns([]) is None
    inner = Clock()
    delayed = DelayedStrategy(inner, 7)
    message = TradingStateChanged(state=TradingState.ACTIVE, reason="t", ts_event_ns=T0)
    delayed.on_message(message, T0)
    delayed.on_timer(T0 + 1)
    assert inner.seen == [T0 + 7, T0 + 8]
    assert delayed.counters is inner.counters
    with pytest.raises(ValueError, match="negative"):
        DelayedStrategy(inner, -1)


def test_equal_decisions_whose_orders_ended_differently_are_listed_not_counted() -> None:
    live = [replace(decision(coid="l1"), outcome="Filled")]
    backtest = [replace(decision(coid="b1"), outcome="Canceled EC_NoImmediateQtyToFill")]
    decisions = compare(live, backtest, lambda d: d.key(), T0)
    assert decisions.share_equal == 1.0
    (outcome,) = decisions.outcome_differences
    assert outcome.backtest is not None
    assert outcome.backtest.what.endswith("-> Canceled EC_NoImmediateQtyToFill")
    same = compare(live, [replace(backtest[0], outcome="Filled")], lambda d: d.key(), T0)
    assert same.outcome_differences == []


def test_a_backtest_draws_its_latencies_from_a_recorded_run(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from research.backtest.cli import main

    run_dir = journal.parent  # the default settings' strategy is mom1, as the journal's
    (run_dir / "recordings").mkdir()
    out = run_dir / "r.json"
    args = [str(REPLAY), "--out", str(out), "--quiet", "--latency-from-run", str(run_dir)]
    assert main(args) == 0
    echoed = json.loads(out.read_bytes())["settings"]
    assert echoed["entry_latency"] == echoed["response_latency"] == "1 samples"
    # a: created T0, sent +2 ms, acked +4 ms; no recorded events: the hop is left out
    told = capsys.readouterr().err
    assert "entry 1 samples, p50 3.000 ms" in told
    assert "response 1 samples, p50 1.000 ms" in told
    assert "bus hop left out" in told
    assert main([*args, "--entry-latency-ms", "2"]) == 2
    assert "cannot go together" in capsys.readouterr().err
