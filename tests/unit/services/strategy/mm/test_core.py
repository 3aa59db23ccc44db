"""The market maker core by hand: start-up, quoting, amends, fast-cancel, HARD, halts,
resyncs, the taker cap, several symbols, and the metrics."""

from decimal import Decimal

from services.strategy.api import Resync, Transition
from services.strategy.mm.core import MarketMaker
from services.strategy.mm.pipeline import STAGES
from shared.schema import (
    Alert,
    AlertSeverity,
    OrderDenied,
    OrderSide,
    OrderType,
    SubmitOrders,
    TimeInForce,
    TradingState,
    TradingStateChanged,
)
from tests.unit.services.strategy.mm.core_support import (
    ETH,
    START,
    FakeTimer,
    accepted,
    amends,
    book,
    canceled,
    cancels,
    filled,
    maker,
    mm_settings,
    side_of,
    submits,
)
from tests.unit.services.strategy.support import (
    BTC,
    MS,
    S_NS,
    T0,
    feed_ready,
    make_rules,
    open_order,
    position_changed,
    snapshot,
    universe,
)

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_nothing_is_sent_before_a_reconciled_snapshot() -> None:
    mm = MarketMaker(mm_settings(), last_seq=T0, timer_ns=FakeTimer())
    mm.set_rules(make_rules())
    mm.on_message(universe(BTC, 1), T0)
    mm.on_message(feed_ready(BTC, 1), T0)
    assert book(mm, "50000.0", "50000.1", START) == []
    assert mm.on_message(snapshot(reconciled=False), T0) == []
    assert mm.counters["cycle_waiting"] >= 1
    out = mm.on_message(snapshot(), START)
    assert next(o for o in out if isinstance(o, Transition)).to_state == "Quoting"


def test_both_sides_are_quoted_post_only_around_the_touch() -> None:
    out = book(maker(), "50000.0", "50000.1", START)
    assert len(out) == 1
    assert isinstance(out[0], SubmitOrders)
    bid, ask = side_of(submits(out), BUY), side_of(submits(out), SELL)
    for order in (bid, ask):
        assert order.order_type is OrderType.LIMIT
        assert order.time_in_force is TimeInForce.POST_ONLY
        assert order.qty == D("0.002")
        assert not order.reduce_only
    assert bid.limit_price is not None
    assert ask.limit_price is not None
    assert bid.limit_price <= D("50000.0") < D("50000.1") <= ask.limit_price


def _quoting(mm: MarketMaker) -> tuple[str, str]:
    out = book(mm, "50000.0", "50000.1", START)
    bid, ask = side_of(submits(out), BUY), side_of(submits(out), SELL)
    mm.on_message(accepted(bid, START + MS), START + MS)
    mm.on_message(accepted(ask, START + MS), START + MS)
    return bid.client_order_id, ask.client_order_id


def test_a_small_move_amends_the_working_quotes_in_place() -> None:
    mm = maker()
    ids = _quoting(mm)
    out = book(mm, "50000.1", "50000.2", START + 2 * MS)  # one tick: under fast-cancel's 2
    assert submits(out) == []
    assert cancels(out) == []
    assert {a.client_order_id for a in amends(out)} == set(ids)
    assert all(a.limit_price is not None and a.qty is None for a in amends(out))


def test_a_mid_moving_toward_a_quote_pulls_it_before_the_cycle() -> None:
    mm = maker()
    bid_id, _ = _quoting(mm)
    out = book(mm, "49999.0", "49999.1", START + 2 * MS)  # ten ticks down, toward the bid
    assert [c.client_order_id for c in cancels(out)] == [bid_id]
    assert out.index(next(c for c in out if cancels([c]))) == 0  # fast-cancel comes first
    assert mm.manager.book.counters["fast_cancel"] == 1
    assert [o.side for o in submits(out)] == []  # the bid's slot waits for the cancel


def test_a_new_quote_follows_once_the_cancel_is_acknowledged() -> None:
    mm = maker()
    bid_id, _ = _quoting(mm)
    book(mm, "49999.0", "49999.1", START + 2 * MS)
    mm.on_message(canceled(bid_id, BTC, START + 3 * MS), START + 3 * MS)
    out = book(mm, "49999.0", "49999.1", START + 4 * MS)
    assert [o.side for o in submits(out)] == [BUY]


def test_hard_inventory_cancels_alerts_stops_and_takes_back_to_the_limit() -> None:
    mm = maker()
    _quoting(mm)
    mm.on_message(position_changed(BTC, "0.04", "50000"), START + 2 * MS)  # 2000 > 1.5 x 1000
    out = book(mm, "50000.0", "50000.1", START + 3 * MS)
    alerts = [o for o in out if isinstance(o, Alert)]
    assert len(alerts) == 1
    assert alerts[0].severity is AlertSeverity.CRITICAL
    assert "symbol_inventory" in alerts[0].detail
    assert len(cancels(out)) == 2
    (take,) = [o for o in submits(out) if o.order_type is OrderType.MARKET]
    assert (take.side, take.qty, take.reduce_only) == (SELL, D("0.02"), True)
    assert take.time_in_force is TimeInForce.IOC
    later = book(mm, "50000.0", "50000.1", START + 4 * MS)
    assert [o for o in submits(later) if o.order_type is OrderType.LIMIT] == []
    assert mm.metrics()["guard_triggers"] == {"HARD:symbol_inventory": 1}


def test_one_taker_order_at_a_time_and_the_cap_refuses_beyond_it() -> None:
    mm = maker(
        mm_settings(taker_cap_calm_fills=1, taker_cap_normal_fills=1, taker_cap_volatile_fills=1)
    )
    mm.on_message(position_changed(BTC, "0.04", "50000"), START)
    (take,) = submits(book(mm, "50000.0", "50000.1", START + MS))
    assert submits(book(mm, "50000.0", "50000.1", START + 2 * MS)) == []
    assert mm.counters["taker_waiting"] == 1
    mm.on_message(filled(take, START + 3 * MS, maker=False), START + 3 * MS)
    mm.on_message(position_changed(BTC, "0.04", "50000"), START + 4 * MS)  # still over
    assert submits(book(mm, "50000.0", "50000.1", START + 5 * MS)) == []
    assert mm.counters["taker_capped"] >= 1
    assert mm.metrics()["fills"] == {"maker": 0, "taker": 1}


def test_a_halt_withdraws_the_quotes_and_active_quotes_again() -> None:
    mm = maker()
    ids = _quoting(mm)
    halt = TradingStateChanged(state=TradingState.HALTED, reason="op", ts_event_ns=START)
    out = mm.on_message(halt, START + 2 * MS)
    assert {c.client_order_id for c in cancels(out)} == set(ids)
    assert mm.status(START).state == "Halted"
    for order_id in ids:
        mm.on_message(canceled(order_id, BTC, START + 3 * MS), START + 3 * MS)
    assert submits(book(mm, "50000.0", "50000.1", START + 4 * MS)) == []
    active = TradingStateChanged(state=TradingState.ACTIVE, reason="op", ts_event_ns=START)
    assert len(submits(mm.on_message(active, START + 5 * MS))) == 2


def test_open_orders_of_a_snapshot_are_cancelled_before_quoting() -> None:
    first = maker()
    (order, _) = submits(book(first, "50000.0", "50000.1", START))
    mm = MarketMaker(mm_settings(), last_seq=T0, timer_ns=FakeTimer())
    mm.set_rules(make_rules())
    mm.on_message(universe(BTC, 1), T0)
    mm.on_message(feed_ready(BTC, 1), T0)
    out = mm.on_message(snapshot(orders=(open_order(order),)), START)
    assert [c.client_order_id for c in cancels(out)] == [order.client_order_id]
    assert submits(book(mm, "50000.0", "50000.1", START + MS)) == []
    mm.on_message(canceled(order.client_order_id, BTC, START + 2 * MS), START + 2 * MS)
    assert len(submits(book(mm, "50000.0", "50000.1", START + 3 * MS))) == 2


def test_an_order_unheard_of_rebuilds_from_the_executor() -> None:
    mm = maker()
    book(mm, "50000.0", "50000.1", START)  # two quotes sent, never answered
    out = mm.on_timer(START + 16 * S_NS)
    assert next(o for o in out if isinstance(o, Resync)).peers == ("executor",)
    assert mm.status(START).state == "Syncing"
    assert submits(book(mm, "50000.0", "50000.1", START + 17 * S_NS)) == []


def test_executor_silent_waits_for_a_snapshot_without_asking() -> None:
    mm = maker()
    _quoting(mm)
    out = mm.executor_silent(START + 2 * MS)
    assert [o for o in out if isinstance(o, Resync)] == []
    assert mm.status(START).state == "Syncing"


def test_each_configured_symbol_is_quoted_on_its_own() -> None:
    mm = maker(mm_settings(symbols=("BTCUSDT", "ETHUSDT")), symbols=(BTC, ETH))
    btc = submits(book(mm, "50000.0", "50000.1", START))
    eth = submits(book(mm, "50000.0", "50000.1", START + MS, symbol=ETH))
    assert {o.symbol for o in btc} == {BTC}
    assert {o.symbol for o in eth} == {ETH}
    mm.on_message(position_changed(ETH, "0.01", "50000"), START + 2 * MS)
    assert mm.metrics()["inventory_qty"] == {BTC: 0.0, ETH: 0.01}


def test_market_data_of_a_symbol_not_quoted_is_counted() -> None:
    mm = maker()
    assert book(mm, "50000.0", "50000.1", START, symbol=ETH) == []
    assert mm.counters["other_symbol_md"] == 1


def test_metrics_hold_stage_durations_scores_and_distance_to_the_touch() -> None:
    mm = maker()
    _quoting(mm)
    metrics = mm.metrics()
    assert set(metrics["stage_latency_ns"]) == set(STAGES)
    assert all(v and set(v) == {7.0} for v in metrics["stage_latency_ns"].values())
    assert set(metrics["spread_scores"][BTC]) == {
        "volatility",
        "liquidity",
        "latency",
        "pnl",
        "spread_bps",
    }
    ticks = metrics["quote_ticks_from_touch"][BTC]
    assert ticks["Buy"] is not None
    assert ticks["Buy"] >= 0
    assert ticks["Sell"] >= 0
    assert mm.metrics()["stage_latency_ns"]["guards"] == []  # samples since the last call


def test_a_maker_fill_moves_inventory_pnl_and_net_bps() -> None:
    mm = maker()
    out = book(mm, "50000.0", "50000.1", START)
    bid = side_of(submits(out), BUY)
    mm.on_message(accepted(bid, START + MS), START + MS)
    mm.on_message(filled(bid, START + 2 * MS), START + 2 * MS)
    metrics = mm.metrics()
    assert metrics["inventory_qty"][BTC] == 0.002
    assert metrics["fills"] == {"maker": 1, "taker": 0}
    assert len(metrics["net_bps_per_fill"]) == 1
    status = mm.status(START)
    assert status.position_qty == D("0.002")
    assert status.realised_pnl_usdt < 0


def test_a_refused_taker_order_waits_for_the_backoff_and_none_goes_out_halted() -> None:
    mm = maker()
    mm.on_message(position_changed(BTC, "0.04", "50000"), START)
    (take,) = submits(book(mm, "50000.0", "50000.1", START + MS))
    denial = OrderDenied(
        client_order_id=take.client_order_id,
        strategy_id="mm1",
        command_kind="SubmitOrder",
        reason="price_stale",
        ts_event_ns=START + 2 * MS,
    )
    mm.on_message(denial, START + 2 * MS)
    assert submits(book(mm, "50000.0", "50000.1", START + 3 * MS)) == []
    later = START + 2 * MS + S_NS
    assert [o.reduce_only for o in submits(book(mm, "50000.0", "50000.1", later))] == [True]
    halted = maker()
    halt = TradingStateChanged(state=TradingState.HALTED, reason="op", ts_event_ns=START)
    halted.on_message(halt, START)
    halted.on_message(position_changed(BTC, "0.04", "50000"), START)
    assert submits(book(halted, "50000.0", "50000.1", START + MS)) == []


def test_a_crossed_book_withdraws_the_quotes_while_it_lasts_not_until_a_restart() -> None:
    mm = maker()
    _quoting(mm)
    out = book(mm, "50000.2", "50000.1", START + 2 * MS)  # crossed: a passing HARD
    assert len(cancels(out)) == 2
    (alert,) = [o for o in out if isinstance(o, Alert)]
    assert (alert.code, alert.severity) == ("mm_hard_pause", AlertSeverity.WARNING)
    assert mm.hard_scopes == set()  # not the sticky HARD
    for cancel in cancels(out):
        mm.on_message(canceled(cancel.client_order_id, BTC, START + 3 * MS), START + 3 * MS)
    again = book(mm, "50000.0", "50000.1", START + 4 * MS)  # the book is sane again
    assert {o.side for o in submits(again)} == {BUY, SELL}
    assert mm.counters["hard_pause_ended"] == 1


def test_a_quote_size_under_one_lot_is_said_once_not_sat_on_silently() -> None:
    # 20 USDT at 50,000 is 0.0004 BTC, under the 0.001 lot: no quote can be placed.
    mm = maker(mm_settings(order_notional_usdt=20.0))

    first = book(mm, "50000.0", "50000.1", START)
    again = book(mm, "50000.1", "50000.2", START + MS)

    assert submits(first) == submits(again) == []
    (alert,) = [o for o in first if isinstance(o, Alert)]
    assert alert.code == "mm_quote_below_lot"
    assert "BTCUSDT: order-notional-usdt 20 is under one lot (0.001" in alert.detail
    assert not [o for o in again if isinstance(o, Alert)]  # said once a symbol
    assert mm.counters["quote_below_lot"] == 2
    assert not [o for o in book(maker(), "50000.0", "50000.1", START) if isinstance(o, Alert)]
