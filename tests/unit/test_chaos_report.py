"""The chaos report's figures, from plain values (scripts/chaos_report.py)."""

from dataclasses import replace
from decimal import Decimal

from scripts.chaos_report import (
    ChaosInputs,
    FeedReadyMark,
    Intent,
    JournalFill,
    RestartCheck,
    VenueExecution,
    VenueOrder,
    build_report,
    double_entries,
    fill_mismatches,
    journal_positions,
    late_restarts,
    orphan_orders,
    trades_before_feed_ready,
)

S = 1_000_000_000
END = 1000 * S


def intent(
    coid: str, sent_s: float, done_s: float | None, *, reduce_only: bool = False, **kw: object
) -> Intent:
    fields: dict[str, object] = {
        "client_order_id": coid,
        "strategy_id": "mom1",
        "symbol": "BTCUSDT",
        "epoch": 1,
        "side": "Sell" if reduce_only else "Buy",
        "reduce_only": reduce_only,
        "ts_created_ns": int(sent_s * S) - 1000,
        "ts_sent_ns": int(sent_s * S),
        "ts_terminal_ns": None if done_s is None else int(done_s * S),
    }
    return Intent(**{**fields, **kw})  # type: ignore[arg-type]


def execution(
    exec_id: str, coid: str, qty: str = "0.01", exec_type: str = "Trade"
) -> VenueExecution:
    return VenueExecution(exec_id, coid, "BTCUSDT", "Buy", Decimal(qty), exec_type)


def fill(exec_id: str, coid: str, qty: str = "0.01") -> JournalFill:
    return JournalFill(exec_id, coid, Decimal(qty))


def clean_inputs() -> ChaosInputs:
    return ChaosInputs(
        intents=[intent("e1", 10, 11), intent("x1", 12, 13, reduce_only=True)],
        fills=[fill("a", "e1"), fill("b", "x1")],
        venue_executions=[execution("a", "e1"), execution("b", "x1")],
        venue_orders_seen=[VenueOrder("e1", "v1", "BTCUSDT", "New")],
        venue_orders_at_end=[],
        venue_positions_at_end={},
        feed_ready=[FeedReadyMark("BTCUSDT", 1, 5 * S)],
        restarts=[RestartCheck("round 1 kill executor", 0.4)],
    )


def test_no_violation_when_the_run_is_clean() -> None:
    # Arrange
    inputs = clean_inputs()

    # Act
    report = build_report(inputs, END)

    # Assert
    assert report.violations() == []
    assert report.figures["orders_sent"] == 2
    assert report.figures["entries_sent"] == 1
    assert report.figures["position_equal_max_s"] == 0.4
    assert report.lines()[-2] == "verdict PASS"


def test_double_entry_detected_when_two_entries_overlap() -> None:
    entries = [intent("e1", 10, 12), intent("e2", 11, 13)]

    assert double_entries(entries, END) == ["e1+e2"]


def test_double_entry_detected_when_the_first_entry_never_ended() -> None:
    entries = [intent("e1", 10, None), intent("e2", 50, 51)]

    assert double_entries(entries, END) == ["e1+e2"]


def test_no_double_entry_when_entries_follow_each_other_or_overlap_an_exit() -> None:
    orders = [
        intent("e1", 10, 11),
        intent("x1", 10.5, 12, reduce_only=True),
        intent("e2", 11, 14),  # starts exactly when e1 ended
        intent("e3", 12, 13, strategy_id="other"),  # another strategy's entry
        intent("e4", 15, 16),
    ]

    assert double_entries(orders, END) == []


def test_duplicate_fill_detected_when_the_venue_lists_an_exec_id_twice() -> None:
    result = fill_mismatches([execution("a", "e1"), execution("a", "e1")], [fill("a", "e1")])

    assert result["duplicated"] == ["a"]


def test_missing_and_extra_fills_detected() -> None:
    result = fill_mismatches(
        [execution("a", "e1"), execution("b", "e1"), execution("f", "", exec_type="Funding")],
        [fill("a", "e1"), fill("c", "e1")],
    )

    assert result["missing"] == ["b"]
    assert result["extra"] == ["c"]  # funding is not a fill: not missing either


def test_fill_booked_to_the_wrong_order_or_qty_detected() -> None:
    result = fill_mismatches(
        [execution("a", "e1"), execution("b", "e2", "0.02")],
        [fill("a", "e2"), fill("b", "e2", "0.01")],
    )

    assert result["wrong_order"] == ["a", "b"]


def test_a_venue_stop_fill_journaled_as_external_matches_and_counts_in_the_position() -> None:
    stop = JournalFill("s", "venue-123", Decimal("0.01"), ("BTCUSDT", "Sell"))
    entry = intent("e1", 10, 11)

    result = fill_mismatches([execution("a", "e1"), execution("s", "")], [fill("a", "e1"), stop])

    assert result == {"missing": [], "extra": [], "duplicated": [], "wrong_order": []}
    assert journal_positions([entry], [fill("a", "e1"), stop]) == {"BTCUSDT": Decimal(0)}


def test_orphan_detected_when_the_venue_has_an_order_the_journal_lacks() -> None:
    orders = [VenueOrder("e1", "v1", "BTCUSDT", "New"), VenueOrder("", "v9", "BTCUSDT", "New")]

    assert orphan_orders(orders, {"e1"}) == ["orderId=v9"]


def test_trade_before_feed_ready_detected_per_symbol_and_epoch() -> None:
    marks = [FeedReadyMark("BTCUSDT", 1, 5 * S), FeedReadyMark("ETHUSDT", 2, 30 * S)]
    orders = [
        intent("ok", 10, 11),
        intent("early", 4, 4.5),  # before epoch 1's FeedReady
        intent("old_epoch", 20, 21, epoch=0),  # no FeedReady of epoch 0 at all
        intent("eth", 25, 26, symbol="ETHUSDT", epoch=2),  # ETH ready only at 30 s
    ]

    found = trades_before_feed_ready(orders, marks)

    assert found == ["early(BTCUSDT epoch 1)", "old_epoch(BTCUSDT epoch 0)", "eth(ETHUSDT epoch 2)"]


def test_late_restart_detected_when_positions_disagree_past_the_limit() -> None:
    checks = [RestartCheck("a", 4.9), RestartCheck("b", 5.1), RestartCheck("c", None)]

    assert late_restarts(checks, 5.0) == ["b: 5.10 s", "c: never"]


def test_report_fails_and_names_each_broken_invariant() -> None:
    # Arrange
    inputs = replace(
        clean_inputs(),
        intents=[*clean_inputs().intents, intent("e2", 10.5, None)],
        fills=[fill("a", "e1")],
        venue_orders_at_end=[VenueOrder("zz", "v2", "BTCUSDT", "New")],
        venue_positions_at_end={"BTCUSDT": Decimal("0.02")},
        restarts=[RestartCheck("round 2 kill all", 7.0)],
    )

    # Act
    report = build_report(inputs, END)
    report.figures["run_exit_code"] = 1

    # Assert
    assert report.violations() == [
        "double_entries",
        "orphan_orders",
        "open_orders_at_end",
        "journal_open_at_end",
        "fill_mismatches",
        "final_position_mismatches",
        "restarts_position_late",
        "run_exit_code",
    ]
    assert report.examples["fills_missing"] == ["b"]
    assert report.lines()[-2].startswith("verdict FAIL double_entries,")
