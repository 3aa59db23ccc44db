"""The market maker backtested on the ETHUSDT fixture: PostOnly quotes, maker fills, amends
rather than cancel-and-replace, books that match the venue, the same bytes run to run; and
the desk's amend and batch decisions."""

from decimal import Decimal
from pathlib import Path

from research.backtest.desk import BacktestDesk
from research.backtest.engine import Engine
from research.backtest.market import recording_lines
from research.backtest.result import BacktestResult
from research.backtest.settings import BacktestSettings
from services.executor.settings import ExecutorSettings
from services.feed.settings import FeedSettings
from services.strategy.mm.core import MarketMaker
from services.strategy.settings import MarketMakerSection, StrategySettings
from shared.bybit.translate import InstrumentRules
from shared.schema import (
    AmendOrder,
    AmendOrders,
    BusMessage,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    OrderDenied,
    OrderSide,
    OrderStatus,
    OrderType,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    TimeInForce,
    Trade,
)
from tests.unit.research.support import latency

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
D = Decimal
ETH = Symbol("ETHUSDT")
# The fixture's spread is one tick (0.04 bps): a floor of 0.01 bps quotes at the touch; the
# feed (depth 1) updates often enough for any staleness limit; trades at our price do not
# pull the quote (so the queue can fill it).
QUOTING = MarketMakerSection(
    min_spread_bps=0.01,
    max_spread_bps=0.5,
    vol_sensitivity_ratio=0.0,
    liq_sensitivity_ratio=0.0,
    latency_sensitivity_ratio=0.0,
    pnl_sensitivity_ratio=0.0,
    feed_stale_ms=60_000.0,
    order_notional_usdt=500.0,
    deny_backoff_ms=200,
    fast_cancel_on_trade_at_price=False,
)


def _settings() -> BacktestSettings:
    strategy = StrategySettings(
        metrics_port=1, kind="market-maker", strategy_id="mm1", market_maker=QUOTING
    )
    executor = ExecutorSettings(
        metrics_port=1, max_orders_per_minute=10_000, strategy_orders_per_minute=10_000
    )
    return BacktestSettings(
        symbol="ETHUSDT",
        strategy=strategy,
        executor=executor,
        feed=FeedSettings(metrics_port=1),
        entry_latency=latency(2),
        response_latency=latency(2),
    )


def _run() -> tuple[Engine, BacktestResult]:
    engine = Engine(_settings(), recording_lines([REPLAY]))
    return engine, engine.run()


def test_the_market_maker_quotes_the_fixture_fills_as_maker_and_amends() -> None:
    engine, result = _run()
    assert isinstance(engine.strategy, MarketMaker)
    summary = result.summary
    limits = [o for o in result.orders if o.order_type == "Limit"]
    assert limits
    assert {o.time_in_force for o in limits} == {"PostOnly"}
    assert summary.maker_fills >= 3
    assert summary.taker_fills == 0
    engine_counts = result.counters["engine"]
    assert engine_counts["sent_AmendOrders"] > 0
    assert engine_counts["sent_AmendOrders"] >= engine_counts.get("sent_CancelOrders", 0)
    assert engine.desk.counters["amended"] > 0
    assert summary.ledger_matches_venue
    assert summary.venue_wallet_change == engine.wallet_change()
    assert engine.alerts == {}
    metrics = engine.strategy.metrics()
    assert metrics["fills"]["maker"] == summary.maker_fills


def test_two_runs_give_the_same_bytes() -> None:
    assert _run()[1].to_json() == _run()[1].to_json()


def test_an_amended_order_row_shows_its_new_price() -> None:
    _, result = _run()
    amended = [o for o in result.orders if o.status == "Filled" and o.order_type == "Limit"]
    assert amended  # filled rows carry the price the venue filled them at
    by_id = {f.client_order_id: f.price for f in result.fills}
    assert all(by_id[o.client_order_id] == o.limit_price for o in amended)


# -- the desk: amends and batches, decided as the executor does


def _rules() -> InstrumentRules:
    return InstrumentRules(
        symbol="ETHUSDT",
        tick_size=D("0.01"),
        qty_step=D("0.01"),
        min_qty=D("0.01"),
        max_qty=D("1000"),
        max_mkt_qty=D("500"),
        min_notional=D("5"),
    )


def _desk() -> BacktestDesk:
    desk = BacktestDesk(ExecutorSettings(metrics_port=1), _rules())
    desk.on_market(
        Trade(
            symbol=ETH,
            epoch=1,
            price=D("2681.6"),
            qty=D("1"),
            taker_side=OrderSide.BUY,
            trade_id="t",
            ts_event_ns=1,
            ts_recv_ns=1,
        )
    )
    return desk


def _denied(messages: list[BusMessage]) -> list[OrderDenied]:
    found = [m for m in messages if isinstance(m, OrderDenied)]
    assert len(found) == len(messages)
    return found


def _submit(n: int, side: OrderSide = OrderSide.BUY, price: str = "2680.00") -> SubmitOrder:
    return SubmitOrder(
        client_order_id=ClientOrderId(f"mm1-1-{n}"),
        strategy_id="mm1",
        epoch=1,
        symbol=ETH,
        side=side,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY,
        qty=D("0.1"),
        limit_price=D(price),
        ts_created_ns=1,
        expires_at_ns=10**18,
        ts_trigger_recv_ns=1,
        ts_trigger_event_ns=1,
    )


def _batch(*orders: SubmitOrder) -> SubmitOrders:
    return SubmitOrders(strategy_id="mm1", orders=orders, ts_created_ns=1, expires_at_ns=10**18)


def test_a_submit_batch_becomes_one_create_per_order_and_each_is_denied_alone() -> None:
    desk = _desk()
    bad = _submit(3, price="9999.00")  # far outside the price band
    step = desk.command(_batch(_submit(1), _submit(2, OrderSide.SELL, "2683.00"), bad), 2)
    denials, calls = _denied(step[0]), step[1]
    assert [c.kind for c in calls] == ["create", "create"]
    assert [d.client_order_id for d in denials] == [bad.client_order_id]
    assert denials[0].command_kind == "SubmitOrder"  # the order's own kind, as the executor


def test_a_batch_of_another_strategy_is_denied_whole() -> None:
    foreign = SubmitOrders(
        strategy_id="other", orders=(_submit(1),), ts_created_ns=1, expires_at_ns=10**18
    )
    step = _desk().command(foreign, 2)
    denials, calls = _denied(step[0]), step[1]
    assert calls == []
    assert len(denials) == 1
    assert "carries orders of" in denials[0].reason


def _amend(n: int, price: str) -> AmendOrder:
    return AmendOrder(
        client_order_id=ClientOrderId(f"mm1-1-{n}"),
        strategy_id="mm1",
        symbol=ETH,
        limit_price=D(price),
        ts_created_ns=3,
        expires_at_ns=10**18,
    )


def test_an_amend_of_an_unknown_order_is_denied_and_of_a_working_one_is_a_venue_call() -> None:
    desk = _desk()
    _, (create,) = desk.command(_submit(1), 2)
    create.record.venue_order_id = "v1"  # type: ignore[assignment]
    create.record.apply_status(OrderStatus.ACCEPTED)
    create.record.in_flight = 0
    amends = AmendOrders(
        strategy_id="mm1",
        amends=(_amend(1, "2680.50"), _amend(9, "2680.50")),
        ts_created_ns=3,
        expires_at_ns=10**18,
    )
    step = desk.command(amends, 3)
    denials, calls = _denied(step[0]), step[1]
    assert [(c.kind, c.record.client_order_id) for c in calls] == [("amend", "mm1-1-1")]
    assert calls[0].plan is not None
    assert calls[0].plan.limit_price == D("2680.50")
    assert [d.client_order_id for d in denials] == ["mm1-1-9"]
    assert denials[0].command_kind == "AmendOrder"


def test_a_cancel_batch_cancels_each_known_order() -> None:
    desk = _desk()
    desk.command(_batch(_submit(1), _submit(2, OrderSide.SELL, "2683.00")), 2)
    cancels = CancelOrders(
        strategy_id="mm1",
        cancels=tuple(
            CancelOrder(
                client_order_id=ClientOrderId(f"mm1-1-{n}"),
                strategy_id="mm1",
                symbol=ETH,
                ts_created_ns=3,
                expires_at_ns=10**18,
            )
            for n in (1, 2)
        ),
        ts_created_ns=3,
        expires_at_ns=10**18,
    )
    denials, calls = desk.command(cancels, 3)
    assert denials == []
    assert calls == []  # not acknowledged yet: cancelled once acked, as the executor does
    assert desk.counters["cancels_after_ack"] == 2
