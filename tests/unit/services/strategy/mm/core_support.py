"""Builders for the market maker core's tests: settings, a started maker, venue answers."""

from decimal import Decimal
from typing import Any

from services.strategy.api import Output
from services.strategy.mm.core import MarketMaker
from services.strategy.settings import MarketMakerSection, StrategySettings
from shared.schema import (
    AmendOrder,
    AmendOrders,
    CancelOrder,
    CancelOrders,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSide,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    VenueOrderId,
)
from tests.unit.services.strategy.support import (
    BTC,
    MS,
    T0,
    feed_ready,
    make_rules,
    quote,
    snapshot,
    universe,
)

D = Decimal
SID = "mm1"
ETH = Symbol("ETHUSDT")


class FakeTimer:
    """A monotonic ns counter that moves `step_ns` on every read."""

    def __init__(self, step_ns: int = 7) -> None:
        self.now, self.step = 0, step_ns

    def __call__(self) -> int:
        self.now += self.step
        return self.now


def mm_settings(**mm: Any) -> StrategySettings:
    """Quoting settings for BTC at ~50000: one quote is 0.002 (150 USDT); no latency or
    volatility widening, a feed that does not go stale within a test."""
    section = {
        "order_notional_usdt": 150.0,
        "latency_sensitivity_ratio": 0.0,
        "vol_sensitivity_ratio": 0.0,
        "liq_sensitivity_ratio": 0.0,
        "feed_stale_ms": 600_000.0,
        **mm,
    }
    return StrategySettings(
        metrics_port=9103,
        kind="market-maker",
        strategy_id=SID,
        market_maker=MarketMakerSection(**section),
    )


def maker(
    settings: StrategySettings | None = None, *, symbols: tuple[Symbol, ...] = (BTC,)
) -> MarketMaker:
    """A maker with rules for BTC and ETH that has joined: universe, snapshot, FeedReady."""
    mm = MarketMaker(settings or mm_settings(), last_seq=T0, timer_ns=FakeTimer())
    mm.set_rules(make_rules("BTCUSDT"))
    mm.set_rules(make_rules("ETHUSDT"))
    mm.on_message(universe(symbols[0], 1), T0)
    mm.on_message(snapshot(), T0)
    for symbol in symbols:
        mm.on_message(feed_ready(symbol, 1), T0)
    return mm


def book(mm: MarketMaker, bid: str, ask: str, ts: int, symbol: Symbol = BTC) -> list[Output]:
    return mm.on_message(quote(bid, ask, ts, symbol=symbol, bid_qty="5", ask_qty="5"), ts)


def submits(out: list[Output]) -> list[SubmitOrder]:
    found = [o for c in out if isinstance(c, SubmitOrders) for o in c.orders]
    return found + [c for c in out if isinstance(c, SubmitOrder)]


def amends(out: list[Output]) -> list[AmendOrder]:
    return [a for c in out if isinstance(c, AmendOrders) for a in c.amends]


def cancels(out: list[Output]) -> list[CancelOrder]:
    return [x for c in out if isinstance(c, CancelOrders) for x in c.cancels]


def accepted(order: SubmitOrder, ts: int) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=order.client_order_id,
        venue_order_id=VenueOrderId("v-" + order.client_order_id),
        strategy_id=SID,
        symbol=order.symbol,
        ts_event_ns=ts,
        ts_trigger_recv_ns=order.ts_trigger_recv_ns,
        ts_request_sent_ns=ts - MS,
        ts_ack_ns=ts,
    )


def canceled(order_id: str, symbol: Symbol, ts: int) -> OrderCanceled:
    return OrderCanceled(
        client_order_id=order_id,  # type: ignore[arg-type]
        venue_order_id=VenueOrderId("v"),
        strategy_id=SID,
        symbol=symbol,
        cum_filled_qty=D(0),
        reason="CancelByUser",
        ts_event_ns=ts,
    )


def filled(order: SubmitOrder, ts: int, *, maker: bool = True) -> OrderFilled:
    price = order.limit_price if order.limit_price is not None else D(50_000)
    return OrderFilled(
        client_order_id=order.client_order_id,
        venue_order_id=VenueOrderId("v"),
        strategy_id=SID,
        symbol=order.symbol,
        side=order.side,
        exec_id=f"e-{order.client_order_id}",
        fill_qty=order.qty,
        fill_price=price,
        cum_filled_qty=order.qty,
        leaves_qty=D(0),
        fee=order.qty * price * D("0.0002"),
        is_maker=maker,
        ts_event_ns=ts,
        ts_trigger_recv_ns=ts,
        ts_request_sent_ns=ts,
        ts_ack_ns=ts,
    )


def side_of(orders: list[SubmitOrder], side: OrderSide) -> SubmitOrder:
    (found,) = [o for o in orders if o.side is side]
    return found


START = T0 + 10 * MS
