"""A scripted strategy, hand-built frames and settings for the backtest's tests."""

import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from research.backtest.settings import BacktestSettings, Latency
from services.executor.settings import ExecutorSettings
from services.feed.settings import FeedSettings
from services.strategy.api import Output
from services.strategy.settings import StrategySettings
from shared.bybit.translate import InstrumentRules
from shared.order_ids import client_order_id
from shared.schema import (
    BusMessage,
    OrderSide,
    OrderType,
    StrategyStatus,
    SubmitOrder,
    Symbol,
    TimeInForce,
)

MS = 1_000_000
T0 = 1_723_161_255_000 * MS  # a receive time (ns) on the fixture's day
ETH = Symbol("ETHUSDT")


def settings(**knobs: Any) -> BacktestSettings:
    strategy = knobs.pop("strategy", None) or StrategySettings(metrics_port=1)
    return BacktestSettings(
        symbol="ETHUSDT",
        strategy=strategy,
        executor=ExecutorSettings(metrics_port=1),
        feed=FeedSettings(metrics_port=1),
        **knobs,
    )


def latency(ms: float) -> Latency:
    return Latency(constant_ns=round(ms * MS))


def book(recv_ns: int, bid: str, ask: str, qty: str = "5") -> tuple[int, bytes]:
    ts = recv_ns // MS
    frame = {
        "topic": "orderbook.1.ETHUSDT",
        "type": "snapshot",
        "ts": ts,
        "data": {"s": "ETHUSDT", "b": [[bid, qty]], "a": [[ask, qty]], "u": ts, "seq": ts},
        "cts": ts,
    }
    return recv_ns, json.dumps(frame).encode()


def trade(recv_ns: int, side: str, price: str, qty: str, trade_id: str) -> tuple[int, bytes]:
    ts = recv_ns // MS
    data = {"T": ts, "s": "ETHUSDT", "S": side, "v": qty, "p": price, "L": "", "i": trade_id}
    frame = {"topic": "publicTrade.ETHUSDT", "type": "snapshot", "ts": ts, "data": [data]}
    return recv_ns, json.dumps(frame).encode()


class Scripted:
    """A Strategy that logs what it is told and answers with `react`'s outputs."""

    def __init__(self, react: Callable[["Scripted", BusMessage, int], list[Output]]) -> None:
        self.counters: Counter[str] = Counter()
        self.log: list[tuple[int, str, BusMessage | None]] = []
        self.timers: list[int] = []
        self.react = react
        self.rules: InstrumentRules | None = None
        self.sent = 0

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        self.log.append((now_ns, type(message).__name__, message))
        return self.react(self, message, now_ns)

    def on_timer(self, now_ns: int) -> list[Output]:
        self.timers.append(now_ns)
        return []

    def executor_silent(self, now_ns: int) -> list[Output]:
        return []

    def set_rules(self, rules: InstrumentRules) -> None:
        self.rules = rules

    def status(self, now_ns: int) -> StrategyStatus:
        raise NotImplementedError

    def order(
        self, side: OrderSide, qty: str, now_ns: int, price: str | None = None
    ) -> SubmitOrder:
        self.sent += 1
        limit = price is not None
        return SubmitOrder(
            client_order_id=client_order_id("bt", 1, self.sent),
            strategy_id="bt",
            epoch=1,
            symbol=ETH,
            side=side,
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            time_in_force=TimeInForce.POST_ONLY if limit else TimeInForce.IOC,
            qty=Decimal(qty),
            limit_price=Decimal(price) if price is not None else None,
            ts_created_ns=now_ns,
            expires_at_ns=now_ns + 1_000 * MS,
            ts_trigger_recv_ns=now_ns,
            ts_trigger_event_ns=now_ns,
        )
