"""Bus messages folded into the view: orders, fills, positions, state, scrapes, processes."""

import contextlib
import math
import sqlite3
from decimal import Decimal
from pathlib import Path

from services.dashboard.events import fold, slippage_bps
from services.dashboard.journal import read_day_start
from services.dashboard.market import QuoteSampler
from services.dashboard.metrics import MetricsFold, parse
from services.dashboard.money import fold_daily_loss
from services.dashboard.polls import Supervisor
from services.dashboard.processes import Liveness, ProcessFold, ProcessInfo
from services.dashboard.sources import DETAILS_REFRESH_NS, details_due_s
from services.dashboard.view import Header, View
from shared.schema import (
    ClientOrderId,
    ExecutionSnapshot,
    OpenOrder,
    OrderAccepted,
    OrderDenied,
    OrderFilled,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionChanged,
    Quote,
    RankedSymbol,
    ServiceState,
    ServiceStatus,
    Symbol,
    TimeInForce,
    TradingState,
    TradingStateChanged,
    UniverseChanged,
    VenueOrderId,
)

D = Decimal
HEADER = Header(mode="paper", run_dir="/run", controls_enabled=True, daily_loss_limit_usdt="500")


def _order(cid: str, symbol: str = "BTCUSDT") -> OpenOrder:
    return OpenOrder(
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId("v" + cid),
        strategy_id="mm1",
        symbol=Symbol(symbol),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY,
        qty=D("0.010"),
        limit_price=D("50000.0"),
        cum_filled_qty=D("0"),
        status=OrderStatus.ACCEPTED,
        reduce_only=False,
    )


def _snapshot(*orders: OpenOrder, positions: tuple[Position, ...] = ()) -> ExecutionSnapshot:
    return ExecutionSnapshot(
        open_orders=orders,
        positions=positions,
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=1,
    )


def _fill(cid: str, price: str, side: OrderSide = OrderSide.BUY) -> OrderFilled:
    return OrderFilled(
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId("v" + cid),
        strategy_id="mm1",
        symbol=Symbol("BTCUSDT"),
        side=side,
        exec_id="e1",
        fill_qty=D("0.010"),
        fill_price=D(price),
        cum_filled_qty=D("0.010"),
        leaves_qty=D("0"),
        fee=D("0.1"),
        is_maker=True,
        ts_event_ns=5_000_000,
        ts_trigger_recv_ns=1_000_000,
        ts_request_sent_ns=2_000_000,
        ts_ack_ns=3_500_000,
    )


def test_a_snapshot_sets_orders_positions_and_state_and_drops_what_it_lacks() -> None:
    view = View(HEADER)
    fold(view, _snapshot(_order("a"), _order("b")), 0)
    position = Position(
        symbol=Symbol("BTCUSDT"),
        qty=D("0.02"),
        avg_entry_price=D("50000"),
        unrealised_pnl=D("1.5"),
        realised_pnl=D("0"),
    )
    view.take()

    fold(view, _snapshot(_order("b"), positions=(position,)), 0)

    changes, _ = view.take()
    state = view.state
    assert set(state["orders"]["working"]) == {"b"}
    assert state["orders"]["working"]["b"]["limit_price"] == "50000.0"
    assert state["money"]["positions"]["BTCUSDT"]["qty"] == "0.02"
    assert state["money"]["positions"]["BTCUSDT"]["mark_price"] is None  # no quote yet
    assert state["health"]["trading_state"] == "ACTIVE"
    assert {"path": ["orders", "working", "a"], "op": "delete", "value": None} in changes
    assert not any(c["path"] == ["orders", "working", "b"] for c in changes)  # unchanged


def test_an_accepted_order_shows_what_the_event_says_and_null_for_the_rest() -> None:
    view = View(HEADER)
    fold(
        view,
        _accepted("x"),
        0,
    )
    order = view.state["orders"]["working"]["x"]
    assert (order["symbol"], order["strategy_id"], order["status"]) == (
        "ETHUSDT",
        "mom1",
        "Accepted",
    )
    assert order["side"] is None
    assert order["qty"] is None


def test_a_fill_ends_the_order_adds_a_row_with_slippage_latency_and_the_fee() -> None:
    view = View(HEADER)
    fold(view, _snapshot(_order("a")), 0)
    sampler = QuoteSampler(4)
    quote = Quote(
        symbol=Symbol("BTCUSDT"),
        epoch=1,
        bid_price=D("49990"),
        bid_qty=D("1"),
        ask_price=D("50010"),
        ask_qty=D("1"),
        venue_update_id=1,
        ts_event_ns=1,
        ts_recv_ns=1,
    )
    sampler.offer(quote, 1)
    sampler.emit(view, 10**9)

    fold(view, _fill("a", "50005"), 0)

    state = view.state
    assert "a" not in state["orders"]["working"]
    row = state["orders"]["fills"][-1]
    assert row["slippage_bps"] == 1.0  # bought 5 above a 50000 mid
    assert row["latency_ms"] == 2.5  # tick received -> venue ack
    assert row["exec_id"] == "e1"  # the venue's execId: the page's row key
    assert state["money"]["fees_usdt"] is None  # today's fees come from the journal


def test_slippage_is_unknown_without_a_mid_and_signed_by_side() -> None:
    assert slippage_bps(OrderSide.BUY, D("101"), None) is None
    assert slippage_bps(OrderSide.SELL, D("99"), "100") == 100.0
    assert slippage_bps(OrderSide.BUY, D("99"), "100") == -100.0


def test_a_flat_position_goes_and_its_reset_realised_pnl_is_not_the_days() -> None:
    view = View(HEADER)
    for symbol, qty, realised in (("BTCUSDT", "0.01", "2"), ("ETHUSDT", "0", "3")):
        fold(
            view,
            PositionChanged(
                symbol=Symbol(symbol),
                qty=D(qty),
                avg_entry_price=D("1"),
                unrealised_pnl=D("0"),
                realised_pnl=D(realised),
                ts_event_ns=7,
            ),
            0,
        )
    assert set(view.state["money"]["positions"]) == {"BTCUSDT"}
    assert view.state["money"]["positions"]["BTCUSDT"]["realised_pnl"] == "2"  # the venue's
    # curRealisedPnl restarts with each position: the day's figure is the journal's
    assert view.state["money"]["realised_pnl"] == []


def test_an_operator_command_denied_is_kept_for_the_controls() -> None:
    view = View(HEADER)
    fold(
        view,
        OrderDenied(
            client_order_id=ClientOrderId(""),
            strategy_id="executor",
            command_kind="ClosePosition",
            reason="no position in BTCUSDT",
            ts_event_ns=1,
        ),
        0,
    )
    fold(view, TradingStateChanged(state=TradingState.HALTED, reason="r", ts_event_ns=2), 0)
    assert view.scratch["denied_commands"] == [("ClosePosition", "no position in BTCUSDT")]
    assert view.state["orders"]["denials"][-1]["command_kind"] == "ClosePosition"
    assert view.state["health"]["trading_state"] == "HALTED"
    assert view.scratch["state_events"] == 1


EXECUTOR_PAGE = """
# TYPE bus_dropped_messages counter
bus_dropped_messages_total{reason="hwm"} 3.0
# TYPE bus_gaps counter
bus_gaps_total{sender="feed"} 2.0
# TYPE executor_circuit_state gauge
executor_circuit_state{group="orders"} 2.0
# TYPE executor_latency_recent_us gauge
executor_latency_recent_us{quantile="0.5",stage="order_to_ack"} 900.0
executor_latency_recent_us{quantile="0.99",stage="order_to_ack"} 1900.0
# TYPE executor_latency_us histogram
executor_latency_us_bucket{le="500",stage="order_to_ack"} 0.0
executor_latency_us_bucket{le="1000",stage="order_to_ack"} 10.0
executor_latency_us_bucket{le="+Inf",stage="order_to_ack"} 10.0
executor_latency_us_count{stage="order_to_ack"} 10.0
executor_latency_us_sum{stage="order_to_ack"} 9000.0
"""


def test_a_scrape_sums_bus_counters_and_reads_breakers_and_latency() -> None:
    view, metrics = View(HEADER), MetricsFold()
    metrics.scraped(view, "executor", parse(EXECUTOR_PAGE), 10**9)
    metrics.scraped(view, "feed", parse('bus_dropped_messages_total{reason="hwm"} 4.0\n'), 10**9)

    health, latency = view.state["health"], view.state["latency"]["order_to_ack_ms"]
    assert health["bus"]["dropped"] == {"hwm": 7}
    assert health["bus"]["gaps"] == {"feed": 2}
    assert health["breakers"] == {"orders": {"state": "open"}}
    assert (latency["p50"], latency["p99"]) == (0.9, 1.9)
    assert latency["p90"] is None  # not among the executor's exact figures: unknown
    assert latency["series"] == [[10**9, 0.9, 1.9]]
    assert view.state["latency"]["tick_to_order_ms"]["p50"] is None  # never seen: unknown


def test_a_failed_scrape_is_named_and_a_good_one_clears_it() -> None:
    view, metrics = View(HEADER), MetricsFold()
    metrics.failed(view, "feed", "refused")
    assert view.state["health"]["metrics_errors"] == {"feed": "refused"}
    metrics.scraped(view, "feed", [], 1)
    assert view.state["health"]["metrics_errors"] == {}


def test_a_new_pid_counts_as_a_restart_and_liveness_comes_from_the_bus() -> None:
    view, processes = View(HEADER), ProcessFold()
    processes.seed({})  # supervisord's log read: no spawn before the dashboard
    live = {"executor": Liveness(last_heard_ns=5, alive=True)}

    processes.polled(view, [ProcessInfo("executor", "RUNNING", 10, 3.0, "pid 10")], live, 9)
    processes.polled(view, [ProcessInfo("executor", "RUNNING", 11, 1.0, "pid 11")], live, 9)
    processes.polled(view, [ProcessInfo("simulator", "RUNNING", 12, 1.0, "pid 12")], {}, 9)

    executor = view.state["health"]["services"]["executor"]
    assert (executor["state"], executor["pid"], executor["restarts"]) == ("RUNNING", 11, 1)
    assert (executor["last_heartbeat_ns"], executor["alive"]) == (5, True)
    assert view.state["health"]["services"]["simulator"]["alive"] is None  # not on the bus


def test_supervisord_unreachable_makes_process_state_unknown_not_stopped() -> None:
    view, processes = View(HEADER), ProcessFold()
    processes.polled(view, [ProcessInfo("feed", "RUNNING", 10, 3.0, "")], {}, 1)
    processes.unreachable(view, "no socket")
    feed = view.state["health"]["services"]["feed"]
    assert (feed["state"], feed["pid"], feed["supervisor_error"]) == (None, None, "no socket")


def test_daily_loss_is_the_start_of_day_equity_minus_now_and_unknown_without_either(
    tmp_path: Path,
) -> None:
    view = View(HEADER)
    fold_daily_loss(view, D("1000"))
    assert view.state["money"]["daily_loss_usdt"] is None  # no equity heard yet
    view.set(("money", "balance"), {"wallet": "990", "available": "900", "equity": "980.5"})
    fold_daily_loss(view, D("1000"))
    assert view.state["money"]["daily_loss_usdt"] == "19.5"
    fold_daily_loss(view, D("900"))
    assert view.state["money"]["daily_loss_usdt"] == "0"  # a gain is no loss
    fold_daily_loss(view, None)
    assert view.state["money"]["daily_loss_usdt"] is None


def test_the_start_of_day_equity_is_read_from_the_journal_read_only(tmp_path: Path) -> None:
    now_ns = 1_796_601_600_000_000_000 + 3_600_000_000_000  # 2026-12-07T01:00Z
    assert read_day_start(tmp_path, now_ns) is None  # no journal yet
    with contextlib.closing(sqlite3.connect(tmp_path / "executor-journal.sqlite")) as db:
        db.execute("CREATE TABLE day_start_equity (day TEXT, equity_usdt TEXT, ts_ns INTEGER)")
        db.execute("INSERT INTO day_start_equity VALUES ('2026-12-06', '5', 1)")
        db.commit()
    assert read_day_start(tmp_path, now_ns) is None  # yesterday's is not today's
    with contextlib.closing(sqlite3.connect(tmp_path / "executor-journal.sqlite")) as db:
        db.execute("INSERT INTO day_start_equity VALUES ('2026-12-07', '100000.5', 1)")
        db.commit()
    assert read_day_start(tmp_path, now_ns) == D("100000.5")


def test_restarts_before_the_dashboard_came_are_seeded_from_supervisords_log() -> None:
    view, processes = View(HEADER), ProcessFold()
    processes.seed({"executor": 3, "feed": 1})
    processes.polled(view, [ProcessInfo("executor", "RUNNING", 10, 3.0, "")], {}, 1)
    processes.polled(view, [ProcessInfo("feed", "RUNNING", 11, 3.0, "")], {}, 1)
    services = view.state["health"]["services"]
    assert (services["executor"]["restarts"], services["feed"]["restarts"]) == (2, 0)


def test_restarts_are_unknown_without_supervisords_log_and_those_seen_are_a_lower_bound() -> None:
    view, processes = View(HEADER), ProcessFold()
    processes.seed(None)  # the log could not be read
    processes.polled(view, [ProcessInfo("executor", "RUNNING", 10, 3.0, "")], {}, 1)
    processes.polled(view, [ProcessInfo("executor", "RUNNING", 12, 1.0, "")], {}, 1)
    executor = view.state["health"]["services"]["executor"]
    assert (executor["restarts"], executor["restarts_seen"]) == (None, 1)


def test_spawns_are_counted_from_the_log_of_the_last_supervisord(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "supervisord.log").write_text(
        "x INFO supervisord started with pid 1\n"
        "x INFO spawned: 'executor' with pid 5\n"
        "x INFO supervisord started with pid 2\n"
        "x INFO spawned: 'executor' with pid 7\n"
        "x INFO spawned: 'executor' with pid 9\n"
    )
    assert Supervisor(tmp_path).spawn_counts() == {"executor": 2}
    assert Supervisor(tmp_path / "none").spawn_counts() is None  # unknown, not none


def _status(service: str, state: ServiceState) -> ServiceStatus:
    return ServiceStatus(service=service, state=state, detail="d", ts_event_ns=1)


def test_bus_state_comes_from_heartbeats_when_no_service_status_was_heard() -> None:
    # Arrange: the feed's heartbeats are heard, its ServiceStatus (sent at its start) is not
    view, processes = View(HEADER), ProcessFold()
    now_ns = 100 * 10**9
    live = {
        "feed": Liveness(last_heard_ns=now_ns - 10**8, alive=True),
        "executor": Liveness(last_heard_ns=now_ns - 12 * 10**9, alive=False),
    }
    infos = [
        ProcessInfo("feed", "RUNNING", 10, 3.0, ""),
        ProcessInfo("executor", "RUNNING", 11, 3.0, ""),
        ProcessInfo("simulator", "RUNNING", 12, 3.0, ""),
    ]

    # Act
    processes.polled(view, infos, live, now_ns)

    # Assert
    services = view.state["health"]["services"]
    assert (services["feed"]["bus_state"], services["feed"]["bus_state_source"]) == (
        "alive",
        "heartbeats",
    )
    assert services["executor"]["bus_state"] == "silent 12 s"
    assert services["executor"]["bus_state_source"] == "heartbeats"
    assert services["simulator"]["bus_state"] is None  # not on the bus: unknown
    assert services["simulator"]["bus_state_source"] is None


def test_the_bus_column_is_liveness_for_every_service_and_a_status_goes_beside_it() -> None:
    # The scanner publishes a ServiceStatus, the feed only heartbeats: both columns say
    # their liveness; the scanner's own state is a separate field (the page shows it when it
    # is not RUNNING).
    view, processes = View(HEADER), ProcessFold()
    fold(view, _status("scanner", ServiceState.RUNNING), 0)
    info = [
        ProcessInfo("scanner", "RUNNING", 10, 3.0, ""),
        ProcessInfo("feed", "RUNNING", 11, 3.0, ""),
    ]
    live = {
        "scanner": Liveness(5 * 10**9, alive=True),
        "feed": Liveness(5 * 10**9, alive=True),
    }

    processes.polled(view, info, live, 6 * 10**9)
    services = view.state["health"]["services"]
    for name in ("scanner", "feed"):
        assert (services[name]["bus_state"], services[name]["bus_state_source"]) == (
            "alive",
            "heartbeats",
        )
    assert (services["scanner"]["bus_status"], services["feed"]["bus_status"]) == ("RUNNING", None)

    fold(view, _status("scanner", ServiceState.DEGRADED), 0)
    assert services["scanner"]["bus_status"] == "DEGRADED"  # at once, not at the next poll
    assert services["scanner"]["bus_state"] == "alive"

    processes.polled(view, info[:1], {"scanner": Liveness(5 * 10**9, alive=False)}, 9 * 10**9)
    scanner = view.state["health"]["services"]["scanner"]
    assert (scanner["bus_state"], scanner["bus_state_source"]) == ("silent 4 s", "heartbeats")
    assert scanner["bus_status"] == "DEGRADED"  # its last word, shown beside the silence


def test_a_sender_supervisord_does_not_list_gets_its_bus_state_from_its_heartbeats() -> None:
    view, processes = View(HEADER), ProcessFold()
    processes.heard(view, {"strategy-mm2": Liveness(10**9, alive=True)}, 2 * 10**9)
    entry = view.state["health"]["services"]["strategy-mm2"]
    assert (entry["bus_state"], entry["bus_state_source"]) == ("alive", "heartbeats")


def test_the_executors_snapshot_is_due_at_once_for_an_order_without_details_rate_limited() -> None:
    view = View(HEADER)
    assert details_due_s(view, 0, 10**9) == math.inf  # no order: no need
    fold(view, _snapshot(_order("a")), 0)
    assert details_due_s(view, 0, 10**9) == math.inf  # its details are known
    fold(
        view,
        _accepted("x"),
        0,
    )
    last_snapshot_ns = 10 * 10**9
    assert details_due_s(view, last_snapshot_ns, last_snapshot_ns + 600_000_000) == 0
    assert details_due_s(view, last_snapshot_ns, last_snapshot_ns + 100_000_000) == 0.4
    assert DETAILS_REFRESH_NS <= 500_000_000  # the page shows them within a second


def test_the_ranking_carries_the_scans_time_its_last_prices_are_from() -> None:
    view = View(HEADER)
    assert view.state["market"]["ranking_ts_ns"] is None  # no scan heard: unknown
    ranked = RankedSymbol(
        symbol=Symbol("BTCUSDT"),
        score=2.0,
        turnover_24h=D("1"),
        price_24h_pcnt=D("0.01"),
        boost=1.0,
        last_price=D("97150.4"),
    )
    scan = UniverseChanged(
        symbol=Symbol("BTCUSDT"), epoch=3, ranking=(ranked,), reason="r", ts_event_ns=42 * 10**9
    )
    fold(view, scan, 50 * 10**9)
    assert view.state["market"]["ranking"][0]["last_price"] == "97150.4"
    assert view.state["market"]["ranking_ts_ns"] == 42 * 10**9


def _accepted(cid: str) -> OrderAccepted:
    """An OrderAccepted as the executor publishes it: no side, qty or price."""
    return OrderAccepted(
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId("v" + cid),
        strategy_id="mom1",
        symbol=Symbol("ETHUSDT"),
        ts_event_ns=1,
        ts_trigger_recv_ns=1,
        ts_request_sent_ns=1,
        ts_ack_ns=1,
    )
