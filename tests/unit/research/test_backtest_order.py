"""THE CONTRACT of research/backtest/engine.py: the order of market events, strategy
callbacks and in-flight orders, on a hand-built recording where the order matters."""

from typing import Any

from research.backtest.engine import Engine
from research.backtest.settings import BacktestSettings
from services.strategy.api import Output
from shared.schema import BusMessage, OrderSide, Trade
from tests.unit.research.support import MS, T0, Scripted, book, latency, settings, trade

ENTRY_MS, RESPONSE_MS = 5, 3
T_TRADE = T0 + 10 * MS  # a small trade: the executor learns a price; the strategy bids
T_THROUGH = T0 + 50 * MS  # a sell trades through our bid: it fills us at the venue


def _lines() -> list[tuple[int, bytes]]:
    return [
        book(T0, "2000.00", "2000.10"),
        trade(T_TRADE, "Buy", "2000.10", "0.01", "a"),
        trade(T_THROUGH, "Sell", "1999.99", "1.0", "b"),
        book(T0 + 100 * MS, "1999.99", "2000.05"),
    ]


def _bid_on_first_trade(strategy: Scripted, message: BusMessage, now: int) -> list[Output]:
    if isinstance(message, Trade) and strategy.sent == 0:
        return [strategy.order(OrderSide.BUY, "0.1", now, price="2000.00")]
    return []


def _run(s: BacktestSettings) -> tuple[Engine, Scripted, list[tuple[int, str, Any]]]:
    strategy = Scripted(_bid_on_first_trade)
    engine = Engine(s, _lines(), strategy=strategy)
    venue_log: list[tuple[int, str, Any]] = []
    on_market, perform = engine.venue.on_market, engine.desk.perform

    def logged_market(event: Any) -> None:
        on_market(event)
        fills = [p for _, topic, p in engine.venue.state.private if topic == "execution"]
        venue_log.append((engine.now_ns, type(event).__name__, fills))

    def logged_perform(call: Any, venue: Any, now_ns: int) -> Any:
        venue_log.append((now_ns, f"call_{call.kind}", call.record.client_order_id))
        return perform(call, venue, now_ns)

    engine.venue.on_market = logged_market  # type: ignore[method-assign]
    engine.desk.perform = logged_perform  # type: ignore[method-assign]
    engine.run()
    return engine, strategy, venue_log


def _told(strategy: Scripted) -> list[tuple[int, str]]:
    return [(t, kind) for t, kind, _ in strategy.log]


def test_the_strategy_starts_as_the_live_system_starts_it() -> None:
    _, strategy, _ = _run(settings())
    assert _told(strategy)[:4] == [
        (T0, "UniverseChanged"),
        (T0, "FeedStatus"),
        (T0, "ExecutionSnapshot"),
        (T0, "TradingStateChanged"),
    ]
    assert [kind for _, kind in _told(strategy)[4:6]] == ["FeedReady", "FeedStatus"]


def test_a_command_arrives_after_the_entry_latency_and_its_ack_after_the_response() -> None:
    s = settings(entry_latency=latency(ENTRY_MS), response_latency=latency(RESPONSE_MS))
    _, strategy, venue_log = _run(s)
    (created,) = [entry for entry in venue_log if entry[1] == "call_create"]
    assert created[0] == T_TRADE + ENTRY_MS * MS
    accepted = [t for t, kind in _told(strategy) if kind == "OrderAccepted"]
    assert accepted == [T_TRADE + (ENTRY_MS + RESPONSE_MS) * MS]


def test_a_trade_fills_the_resting_order_before_the_strategy_sees_it() -> None:
    s = settings(entry_latency=latency(ENTRY_MS), response_latency=latency(RESPONSE_MS))
    _, strategy, venue_log = _run(s)
    trades_at_venue = [(t, fills) for t, kind, fills in venue_log if kind == "RecordedTrade"]
    assert trades_at_venue[1][0] == T_THROUGH
    (fill,) = trades_at_venue[1][1]
    assert (fill.exec_price, fill.exec_qty, fill.is_maker) == (
        fill.exec_price.__class__("2000.00"),
        fill.exec_qty.__class__("0.1"),
        True,
    )
    told = _told(strategy)
    trade_seen = told.index((T_THROUGH, "Trade"))
    filled = told.index((T_THROUGH + RESPONSE_MS * MS, "OrderFilled"))
    assert trade_seen < filled, "the strategy sees the print, then its fill report"


def test_with_no_latency_venue_then_market_data_then_reports_at_the_same_ns() -> None:
    _, strategy, venue_log = _run(settings())
    (created,) = [t for t, kind, _ in venue_log if kind == "call_create"]
    assert created == T_TRADE  # entry latency 0: at the venue at once ...
    told = _told(strategy)
    assert told.index((T_TRADE, "Trade")) < told.index((T_TRADE, "OrderAccepted"))
    # ... and the fill of the next trade is reported at its time, after its print
    assert told.index((T_THROUGH, "Trade")) < told.index((T_THROUGH, "OrderFilled"))


def test_the_venue_applies_a_frame_at_receive_time_minus_the_feed_latency() -> None:
    s = settings(feed_latency_ns=7 * MS)
    engine, strategy, venue_log = _run(s)
    at_venue = [t for t, kind, _ in venue_log if kind == "RecordedTrade"]
    assert at_venue == [T_TRADE - 7 * MS, T_THROUGH - 7 * MS]
    assert [t for t, kind in _told(strategy) if kind == "Trade"] == [T_TRADE, T_THROUGH]
    assert engine.start_ns == T0 - 7 * MS


def test_timers_fire_every_interval_while_frames_remain() -> None:
    _, strategy, _ = _run(settings(timer_interval_ns=20 * MS))
    assert strategy.timers == [T0 + k * 20 * MS for k in range(1, 6)]


def test_a_channel_keeps_its_order_whatever_it_draws() -> None:
    from research.backtest.latency import Channel
    from research.backtest.settings import Latency

    channel = Channel(Latency(samples_ns=(9, 1, 5, 0)), seed=3, name="entry")
    arrivals = [channel.arrival(t) for t in range(0, 40, 2)]
    assert arrivals == sorted(arrivals)
    again = Channel(Latency(samples_ns=(9, 1, 5, 0)), seed=3, name="entry")
    assert [again.arrival(t) for t in range(0, 40, 2)] == arrivals
