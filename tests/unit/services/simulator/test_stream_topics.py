"""The kline topic's frames over a candle close, and execution.fast's reduced fills."""

import json
from typing import Any

from services.simulator.execution_fast import fast_message
from services.simulator.kline_topic import KlineTopics
from services.simulator.venue import ExchangeConfig, Venue
from shared.bybit import wire

T0 = 1_780_000_000_000 // 60_000 * 60_000  # on a minute
TOPIC = "kline.1.BTCUSDT"


class _Conn:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def send(self, frame: str, *, faultable: bool = True) -> None:
        self.frames.append(json.loads(frame))


class _Registry:
    def __init__(self, conn: _Conn) -> None:
        self._conn = conn

    def subscribers(self, topic: str) -> list[_Conn]:
        return [self._conn]


def test_kline_frames_carry_the_current_candle_then_the_closed_and_the_new() -> None:
    venue = Venue(ExchangeConfig(seed=3, symbols=("BTCUSDT",)), now_ms=T0 + 1_000)
    klines = KlineTopics(venue)
    conn = _Conn()
    registry: Any = _Registry(conn)
    first = json.loads(klines.first(TOPIC, T0 + 1_000, T0 + 1_000))
    assert [c["start"] for c in first["data"]] == [T0]
    assert first["data"][0]["confirm"] is False
    for now in range(T0 + 1_100, T0 + 60_000, 100):  # within the minute: throttled pushes
        venue.advance(now)
        klines.publish(registry, {TOPIC}, now, now)
    assert 0 < len(conn.frames) <= 60
    assert all([c["confirm"] for c in f["data"]] == [False] for f in conn.frames)
    venue.advance(T0 + 60_050)
    klines.publish(registry, {TOPIC}, T0 + 60_050, T0 + 60_050)
    closing = conn.frames[-1]["data"]
    assert [(c["start"], c["confirm"]) for c in closing] == [(T0, True), (T0 + 60_000, False)]
    assert closing[0]["end"] == T0 + 59_999


def _fill(*, is_maker: bool, exec_type: str = "Trade") -> wire.ExecutionEvent:
    return wire.ExecutionEvent(
        symbol="BTCUSDT",
        order_type="Limit",
        order_link_id="mine-1",
        side="Buy",
        order_id="o-1",
        leaves_qty=0,
        exec_time="1780000000123",
        is_maker=is_maker,
        exec_fee=0,
        exec_id="e-1",
        exec_price=97000,
        order_qty=1,
        order_price=97000,
        exec_value=97000,
        exec_type=exec_type,
        exec_qty=1,
        seq=42,
    )


def test_execution_fast_keeps_trade_fills_and_hides_a_maker_link_id() -> None:
    fills = [
        _fill(is_maker=True),
        _fill(is_maker=False),
        _fill(is_maker=False, exec_type="Funding"),
    ]
    message = fast_message("execution.fast", fills, 1_780_000_000_200)
    assert message is not None
    assert [(f.is_maker, f.order_link_id) for f in message.data] == [(True, ""), (False, "mine-1")]
    assert fast_message("execution.fast", fills[2:], 0) is None
