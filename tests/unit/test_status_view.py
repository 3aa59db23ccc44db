"""scripts/status_view: unknowns named, never zero; a screen for people, never a repr."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scripts import status_view as view
from scripts.control import spawn_counts
from services.executor.day_summary import DaySummary
from shared.schema import ExecutionSnapshot, Position, Symbol, TradingState

D = Decimal
PAGE = {'bus_dropped_messages_total{reason="superseded"}': 2.0, "bus_gaps_total": 1.0}


def test_a_silent_metrics_page_makes_the_bus_counters_unknown_naming_it() -> None:
    counters = view.counters({"executor": PAGE, "feed": "metrics on port 9 did not answer"})

    assert counters["dropped"] == {"unknown": "feed: metrics on port 9 did not answer"}
    assert view.human(counters) == "unknown (feed: metrics on port 9 did not answer)"


def test_bus_counters_sum_every_page_and_name_each_drop() -> None:
    counters = view.counters({"a": PAGE, "b": PAGE})

    assert counters == {
        "dropped": 4,
        "gaps": 2,
        "lost": 0,
        "dropped_by": {"a superseded": 2, "b superseded": 2},
    }
    assert view._bus(counters) == "dropped 4 (a superseded 2, b superseded 2)  gaps 2  lost 0"


def test_breakers_show_each_groups_state_and_an_open_one_stands_out() -> None:
    page = {
        'executor_circuit_state{group="orders"}': 2.0,
        'executor_circuit_state{group="queries"}': 0.0,
        'executor_circuit_state{group="private_stream"}': 1.0,
    }

    shown = view.human(view.breakers(page))

    assert shown == "orders OPEN  private stream half-open  queries closed"
    assert view.human(view.breakers("metrics on port 9 did not answer")) == (
        "breakers unknown (executor: metrics on port 9 did not answer)"
    )


def test_the_recording_line_says_what_was_written_and_lost() -> None:
    page = {
        'recorder_written_lines_total{kind="frames"}': 1200.0,
        'recorder_written_lines_total{kind="events"}': 7.0,
        'recorder_dropped_lines_total{kind="frames"}': 3.0,
        'recorder_dropped_lines_total{kind="events"}': 1.0,
        'recorder_write_errors_total{kind="write"}': 1.0,
    }

    assert view.human(view.recording(page)) == "frames 1200  events 7  dropped 4  write errors 1"
    assert view.human(view.recording("metrics on port 9 did not answer")) == (
        "recording unknown (recorder: metrics on port 9 did not answer)"
    )


def test_an_unreadable_journal_makes_todays_orders_and_pnl_unknown() -> None:
    day = "journal: run/executor-journal.sqlite does not exist"
    orders = view.orders(day, "metrics on port 9 did not answer", "executor: no snapshot")
    money = view.pnl(day, "executor: no snapshot")

    assert orders["today"] == {"unknown": day}
    assert orders["denied_since_executor_start"] == {
        "unknown": "executor: metrics on port 9 did not answer"
    }
    assert money["realised_today_usdt"] == {"unknown": day}


def test_a_pnl_the_journal_cannot_explain_is_unknown_with_its_reason() -> None:
    day = DaySummary("2026-12-06", 1, 1, 0, 0, 1, None, "fill x has no side")
    snapshot = ExecutionSnapshot(
        open_orders=(),
        positions=(
            Position(
                symbol=Symbol("BTCUSDT"),
                qty=D("0.002"),
                avg_entry_price=D("100"),
                unrealised_pnl=D("-0.00004"),
                realised_pnl=D(0),
            ),
        ),
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=0,
    )
    money = view.pnl(day, snapshot)

    assert money == {
        "realised_today_usdt": {"unknown": "journal: fill x has no side"},
        "unrealised_usdt": "0",  # -0.00004 rounds to 0.0000, shown as 0 (not -0)
    }


def test_usdt_is_four_decimals_without_exponent() -> None:
    assert view.usdt(D("1E-7")) == "0"
    assert view.usdt(D("-1.23456")) == "-1.2346"
    assert view.usdt(D("12E+2")) == "1200.0000"


# Any value a status could hold, including what a bug might leave in it.
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz :.-", max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz :", max_size=30).map(view.unknown),
)
_position = st.fixed_dictionaries({"symbol": _leaf, "qty": _leaf, "avg_entry_price": _leaf})
_service = st.fixed_dictionaries(
    {k: _leaf for k in ("state", "pid", "uptime_s", "restarts", "last_heartbeat_s")}
)
_statuses = st.fixed_dictionaries(
    {
        "mode": _leaf,
        "symbol": _leaf,
        "strategy_state": _leaf,
        "position": st.fixed_dictionaries(
            {
                "venue": st.one_of(st.lists(_position, max_size=3), _leaf),
                "strategy_qty": _leaf,
                "trading_state": _leaf,
            }
        ),
        "pnl": st.fixed_dictionaries({"realised_today_usdt": _leaf, "unrealised_usdt": _leaf}),
        "orders": st.fixed_dictionaries(
            {
                "today": st.one_of(
                    _leaf,
                    st.fixed_dictionaries(
                        {k: _leaf for k in ("day", "sent", "accepted", "rejected", "fills")}
                    ),
                ),
                "working": _leaf,
                "denied_since_executor_start": _leaf,
                "in_doubt_resolved_since_executor_start": _leaf,
            }
        ),
        "services": st.dictionaries(st.sampled_from(["feed", "simulator"]), _service),
        "counters": st.one_of(
            st.fixed_dictionaries({k: _leaf for k in ("dropped", "gaps", "lost")})
        ),
        "latency_us": st.fixed_dictionaries(
            {
                f"{stage}_{p}": _leaf
                for stage in ("tick_to_order", "order_to_ack")
                for p in ("p50", "p99")
            }
        ),
    }
)


@given(_statuses)
def test_the_screen_never_shows_a_python_repr(status: dict[str, Any]) -> None:
    screen = view.render(status)

    for repr_mark in ("None", "Decimal(", "datetime.", "date(", "{'", "[]", "True", "False"):
        assert repr_mark not in screen


def test_human_values() -> None:
    assert view.human(None) == "unknown"
    assert view.human(D("1.50")) == "1.5"
    assert view.human(D("1E+3")) == "1000"
    assert view.human(datetime(2026, 12, 6, 12, tzinfo=UTC)) == "2026-12-06 12:00:00+00:00"
    assert view.human(date(2026, 12, 6)) == "2026-12-06"
    assert view.human([]) == "none"
    assert view.human({"in_doubt": 1, "fills": 2}) == "in doubt 1  fills 2"


def test_restarts_are_unknown_when_supervisords_log_cannot_be_read(tmp_path: Path) -> None:
    beats = {"now_ns": 10 * 10**9, "heard_ns": {}}
    assert spawn_counts(tmp_path) is None  # no log: unknown, not none
    unread = view.services(("executor",), {}, spawn_counts(tmp_path), beats)
    assert unread["executor"]["restarts"] is None
    assert view.human(unread["executor"]["restarts"]) == "unknown"
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "supervisord.log").write_text(
        "x INFO supervisord started with pid 1\n"
        "x INFO spawned: 'executor' with pid 5\n"
        "x INFO spawned: 'executor' with pid 9\n"
    )
    read = view.services(("executor", "feed"), {}, spawn_counts(tmp_path), beats)
    assert (read["executor"]["restarts"], read["feed"]["restarts"]) == (1, 0)
