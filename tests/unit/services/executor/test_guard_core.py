"""The guard's decisions, driven directly: ticks, the venue's answers, and the effects they
return (guard.py only carries them out)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.executor.backstops import utc_day
from services.executor.effects import Count, RaiseAlert, Reconcile
from services.executor.guard_core import (
    CancelOrders,
    CheckVenue,
    GuardCore,
    Halt,
    JournalDayStart,
    PollVenue,
    Protected,
    SettleInDoubt,
    SetVenueStop,
    TakePosition,
    Watch,
    ZeroPosition,
)
from services.executor.order_state import OrderRecord
from services.executor.ports import SOURCE
from shared.schema import AlertSeverity, OrderStatus, Position, Symbol, TradingState
from tests.unit.services.executor.test_backstops import RULES, SECOND, position, record

BTC = Symbol("BTCUSDT")
D = Decimal
DAY_NS = 86_400 * SECOND
NOON = 20_000 * DAY_NS + DAY_NS // 2  # some UTC noon


def core(now: int = 0, limit: Decimal | None = None) -> GuardCore:
    return GuardCore(
        now_ns=now,
        dead_man_after_ns=3 * SECOND,
        check_interval_ns=5 * SECOND,
        poll_interval_ns=SECOND,
        stop_pct=D(2),
        daily_loss_limit_usdt=D(500) if limit is None else limit,
    )


def watch(
    now: int,
    *,
    reconciled: bool = True,
    stream_up: bool = True,
    working: tuple[OrderRecord, ...] = (),
    unprotected: frozenset[Symbol] = frozenset(),
    positions: dict[Symbol, Position] | None = None,
) -> Watch:
    return Watch(now, reconciled, stream_up, working, unprotected, positions or {}, {BTC: RULES})


def kinds(effects: list[object]) -> list[type]:
    return [type(e) for e in effects]


def test_the_first_tick_checks_the_venue_then_every_interval() -> None:
    guard = core()
    assert kinds(guard.tick(watch(0))) == [SettleInDoubt, CheckVenue]
    assert kinds(guard.tick(watch(5 * SECOND - 1))) == [SettleInDoubt]
    assert kinds(guard.tick(watch(5 * SECOND))) == [SettleInDoubt, CheckVenue]


def test_before_the_first_reconciliation_nothing_is_polled_nor_settled() -> None:
    assert kinds(core().tick(watch(0, reconciled=False, stream_up=False))) == [CheckVenue]


def test_while_the_stream_is_down_rest_polls_take_over_once_per_period() -> None:
    guard = core()
    effects = guard.tick(watch(0, stream_up=False))
    assert effects[:2] == [Count("rest_polls"), PollVenue()]
    assert kinds(guard.tick(watch(SECOND - 1, stream_up=False))) == [SettleInDoubt]
    assert guard.tick(watch(SECOND, stream_up=False))[:2] == [Count("rest_polls"), PollVenue()]


def test_the_dead_mans_switch_cancels_the_strategies_working_orders_only() -> None:
    guard = core()
    guard.heard_strategy(10 * SECOND)
    ours = record("mine", OrderStatus.ACCEPTED, 0)
    executor_own = record("exit", OrderStatus.ACCEPTED, 0)
    executor_own.strategy_id = SOURCE
    done = record("filled", OrderStatus.FILLED, 0)
    working = (ours, executor_own, done)

    assert CancelOrders not in kinds(guard.tick(watch(13 * SECOND - 1, working=working)))
    effects = guard.tick(watch(13 * SECOND, working=working))

    assert effects[0] == Count("dead_mans_switch")
    alert = effects[1]
    assert isinstance(alert, RaiseAlert)
    assert (alert.severity, alert.code) == (AlertSeverity.CRITICAL, "dead_mans_switch")
    assert "silent for 3.0 s with 1 working orders" in alert.detail
    assert effects[2] == CancelOrders(("mine",))  # type: ignore[arg-type]
    assert CancelOrders not in kinds(guard.tick(watch(13 * SECOND, working=(done,))))


def test_each_strategy_instance_has_its_own_dead_mans_switch() -> None:
    # the scalper (first instance) keeps talking; the market maker mm1 (its own endpoint,
    # its id named by its StrategyStatus) goes silent: only mm1's quotes are cancelled
    guard = core()
    guard.heard_strategy(10 * SECOND, "strategy", {"mom1"})
    guard.heard_strategy(10 * SECOND, "strategy-mm1", {"mm1"})
    scalper = record("mom-1", OrderStatus.ACCEPTED, 0)
    quote = record("mm-1", OrderStatus.ACCEPTED, 0)
    quote.strategy_id = "mm1"
    working = (scalper, quote)

    guard.heard_strategy(12 * SECOND, "strategy")  # a heartbeat: names no id
    effects = guard.tick(watch(13 * SECOND, working=working))

    assert effects[2] == CancelOrders(("mm-1",))  # type: ignore[arg-type]
    alert = effects[1]
    assert isinstance(alert, RaiseAlert)
    assert alert.detail.endswith("(instance strategy-mm1)")
    assert CancelOrders(("mom-1",)) not in effects  # type: ignore[arg-type]
    # and the other way round: the scalper silent, mm1 talking
    guard.heard_strategy(16 * SECOND, "strategy-mm1")
    effects = guard.tick(watch(16 * SECOND, working=working))
    assert effects[2] == CancelOrders(("mom-1",))  # type: ignore[arg-type]


def test_a_command_of_an_instance_keeps_its_switch_from_firing() -> None:
    # mm1 restarted: its first quotes come before the executor hears its events socket again
    guard = core()
    guard.heard_strategy(10 * SECOND, "strategy-mm1", {"mm1"})
    quote = record("mm-2", OrderStatus.ACCEPTED, 0)
    quote.strategy_id = "mm1"

    guard.heard_command(12 * SECOND, "mm1")
    assert CancelOrders(("mm-2",)) not in guard.tick(watch(14 * SECOND, working=(quote,)))  # type: ignore[arg-type]
    # silent again, commands included: the switch fires
    assert CancelOrders(("mm-2",)) in guard.tick(watch(15 * SECOND, working=(quote,)))  # type: ignore[arg-type]


def test_an_order_of_an_id_no_instance_named_falls_to_the_first_instance() -> None:
    guard = core()
    guard.heard_strategy(10 * SECOND, "strategy-mm1", {"mm1"})
    stranger = record("x-1", OrderStatus.ACCEPTED, 0)
    stranger.strategy_id = "other"  # never named by a status: the first instance's switch

    effects = guard.tick(watch(3 * SECOND, working=(stranger,)))

    assert CancelOrders(("x-1",)) in effects  # type: ignore[arg-type]


def test_an_unprotected_position_gets_a_venue_stop_a_flat_one_is_forgotten() -> None:
    guard, long = core(), position(D("0.01"), D(60_000))
    effects = guard.tick(watch(SECOND, unprotected=frozenset({BTC}), positions={BTC: long}))
    assert SetVenueStop(BTC, D("0.01"), D("58800.0")) in effects
    flat = position(D(0), D(0))
    effects = guard.tick(watch(SECOND, unprotected=frozenset({BTC}), positions={BTC: flat}))
    assert Protected(BTC) in effects
    eth = Symbol("ETHUSDT")  # no instrument rules yet: the next report brings them
    effects = guard.tick(watch(SECOND, unprotected=frozenset({eth}), positions={eth: long}))
    assert not [e for e in effects if isinstance(e, SetVenueStop | Protected)]


@pytest.mark.parametrize(
    ("refusal", "qty_now", "expected"),
    [
        (None, D("0.01"), [Count("venue_stops_set")]),
        ("position closed", D(0), [Count("venue_stops_not_needed")]),
        ("flipped", D("-0.01"), [Count("venue_stops_not_needed")]),
        # the venue closed it, our report of that still on the way
        (
            "can not set tp/sl/ts for zero position",
            D("0.01"),
            [Count("venue_stops_position_gone")],
        ),
    ],
)
def test_a_stop_answer_set_or_not_needed(
    refusal: str | None, qty_now: Decimal, expected: list[object]
) -> None:
    stop = SetVenueStop(BTC, D("0.01"), D(58_800))
    assert GuardCore.stop_answered(stop, refusal, qty_now) == expected


def test_a_refused_stop_on_a_position_still_held_is_critical() -> None:
    stop = SetVenueStop(BTC, D("0.01"), D(58_800))
    (alert,) = GuardCore.stop_answered(stop, "too close", D("0.02"))
    assert isinstance(alert, RaiseAlert)
    assert (alert.severity, alert.code) == (AlertSeverity.CRITICAL, "venue_stop_failed")
    assert "refused: too close" in alert.detail


def test_the_venues_positions_win_except_where_the_stream_spoke_since_or_a_report_was_refused() -> (
    None
):
    ours = {"BTCUSDT": D("0.01"), "ETHUSDT": D(1), "SOLUSDT": D(5), "XRPUSDT": D(3)}
    venue = [("BTCUSDT", D("0.02")), ("ETHUSDT", D(0)), ("DOGEUSDT", D(100))]

    differ, effects = GuardCore.positions_answered(ours, venue, {"XRPUSDT"}, {"ETHUSDT"})

    assert differ
    alerts = [e for e in effects if isinstance(e, RaiseAlert)]
    assert [a.detail.split(":")[0] for a in alerts] == ["BTCUSDT", "DOGEUSDT", "SOLUSDT"]
    assert {e.severity for e in alerts} == {AlertSeverity.WARNING}
    assert [e for e in effects if isinstance(e, TakePosition)] == [
        TakePosition(Symbol("BTCUSDT")),
        TakePosition(Symbol("DOGEUSDT")),
    ]
    assert [e for e in effects if isinstance(e, ZeroPosition)] == [ZeroPosition(Symbol("SOLUSDT"))]
    assert effects[0] == Count("position_checks")


def test_matching_positions_and_listed_orders_ask_for_nothing() -> None:
    differ, effects = GuardCore.positions_answered(
        {"BTCUSDT": D(1)}, [("BTCUSDT", D(1))], set(), set()
    )
    assert not differ
    assert not [e for e in effects if isinstance(e, RaiseAlert)]
    assert GuardCore.drifted(False, 0) == []
    assert kinds(GuardCore.drifted(True, 0)) == [Count, Reconcile]
    assert kinds(GuardCore.drifted(False, 2)) == [Count, Reconcile]


def test_orders_in_flight_are_left_to_their_answers() -> None:
    lost = record("lost", OrderStatus.ACCEPTED, 0)
    sending = record("sending", OrderStatus.ACCEPTED, 0)
    sending.in_flight = 1  # an amend or cancel request on its way
    assert GuardCore.orders_missing([lost, sending], set(), 10 * SECOND) == ["lost"]


def test_the_day_starts_from_the_journal_or_from_the_first_equity_seen() -> None:
    guard = core(NOON)
    day = guard.day_to_open(NOON, rebase=False)
    assert day == utc_day(NOON)
    effects = guard.equity_answered(D(10_000), NOON, TradingState.ACTIVE, day, None)
    assert effects == [JournalDayStart(utc_day(NOON), D(10_000), NOON)]
    assert guard.day_to_open(NOON + SECOND, rebase=False) is None
    assert guard.day_to_open(NOON + SECOND, rebase=True) == utc_day(NOON)

    again = core(NOON)  # a restart the same day takes the journaled start
    assert again.equity_answered(D(9_600), NOON, TradingState.ACTIVE, day, D(10_000)) == []
    halted = again.equity_answered(D(9_500), NOON, TradingState.ACTIVE, None, None)
    assert kinds(halted) == [Count, RaiseAlert, Halt]


def test_a_journaled_start_that_is_not_finite_is_refused_and_the_day_starts_afresh() -> None:
    guard = core(NOON)
    day = utc_day(NOON)
    effects = guard.equity_answered(D(10_000), NOON, TradingState.ACTIVE, day, D("NaN"))
    assert effects[0] == Count("refused_day_start_not_finite")
    assert isinstance(effects[1], RaiseAlert)
    assert effects[1].code == "invalid_venue_report"
    assert effects[2] == JournalDayStart(day, D(10_000), NOON)


@given(
    start=st.decimals(min_value=D(1), max_value=D(10**7), places=2),
    change=st.decimals(min_value=D(-(10**6)), max_value=D(10**6), places=2),
    limit=st.decimals(min_value=D(1), max_value=D(10**5), places=2),
    state=st.sampled_from(TradingState),
)
def test_the_guard_halts_exactly_when_todays_loss_reaches_the_limit_and_not_halted_yet(
    start: Decimal, change: Decimal, limit: Decimal, state: TradingState
) -> None:
    guard = core(NOON, limit)
    guard.equity_answered(start, NOON, TradingState.ACTIVE, utc_day(NOON), start)

    effects = guard.equity_answered(start + change, NOON + SECOND, state, None, None)

    should_halt = -change >= limit and state is not TradingState.HALTED
    assert (Halt in kinds(effects)) == should_halt
    if should_halt:
        (halt,) = [e for e in effects if isinstance(e, Halt)]
        assert f"-{limit} USDT" in halt.reason


def test_a_command_says_whose_the_id_is_before_any_status_named_it() -> None:
    # mm1 froze before the executor heard a StrategyStatus of it: its quotes, known from
    # its commands' sender, are pulled once it is silent, while the scalper talks on
    guard = core()
    quote = record("mm-3", OrderStatus.ACCEPTED, 0)
    quote.strategy_id = "mm1"

    guard.heard_command(10 * SECOND, "mm1", "strategy-mm1")
    guard.heard_strategy(13 * SECOND, "strategy")  # the scalper's heartbeat
    effects = guard.tick(watch(13 * SECOND, working=(quote,)))  # type: ignore[arg-type]

    assert CancelOrders(("mm-3",)) in effects  # type: ignore[arg-type]
    alert = next(e for e in effects if isinstance(e, RaiseAlert))
    assert alert.detail.endswith("(instance strategy-mm1)")
    # a command from elsewhere (the dashboard) claims no id
    guard.heard_command(14 * SECOND, "mom1", "dashboard")
    stray = record("x-2", OrderStatus.ACCEPTED, 0)
    stray.strategy_id = "mom1"
    assert CancelOrders(("x-2",)) not in guard.tick(watch(14 * SECOND, working=(stray,)))  # type: ignore[arg-type]
