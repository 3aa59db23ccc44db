"""The public `kline.{interval}.{symbol}` topic, as captured from Bybit's linear stream.

Every frame is type "snapshot" with the current candle (confirm false); when a candle
closes, one frame carries the closed candle (confirm true) and the new one. Pushed when the
candle changed, at most every PUSH_INTERVAL_MS, and at once when a candle closes; a new
subscriber gets the current candle straight away.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np

from services.simulator.connections import ConnectionRegistry
from services.simulator.venue import Venue
from services.simulator.ws_frames import encode
from shared.bybit import wire

INTERVALS: Final = "1|3|5|15|30|60|120|240|360|720|D|W|M"
PUSH_INTERVAL_MS: Final = 1000
_MINUTE_MS: Final = 60_000
_FIXED_MS: Final = {"D": 86_400_000, "W": 7 * 86_400_000}


class KlineData(wire.Wire, kw_only=True):
    start: int
    end: int
    interval: str
    open: str
    close: str
    high: str
    low: str
    volume: str
    turnover: str
    confirm: bool
    timestamp: int


class KlineMessage(wire.Wire, kw_only=True):
    topic: str
    data: list[KlineData]
    ts: int
    type: str = "snapshot"


def candle_end(start_ms: int, interval: str) -> int:
    """The last ms of the candle of `interval` starting at `start_ms`."""
    if interval == "M":
        month = np.datetime64(start_ms, "ms").astype("datetime64[M]") + 1
        return int(month.astype("datetime64[ms]").astype(np.int64)) - 1
    length = _FIXED_MS.get(interval) or int(interval) * _MINUTE_MS
    return start_ms + length - 1


def kline_data(row: list[str], interval: str, *, confirm: bool, now_ms: int) -> KlineData:
    """One REST kline row ([start, open, high, low, close, volume, turnover]) as pushed."""
    start = int(row[0])
    return KlineData(
        start=start,
        end=candle_end(start, interval),
        interval=interval,
        open=row[1],
        close=row[4],
        high=row[2],
        low=row[3],
        volume=row[5],
        turnover=row[6],
        confirm=confirm,
        timestamp=now_ms,
    )


@dataclass
class _Sent:
    row: list[str]
    at_ms: int


class KlineTopics:
    """What each kline topic last pushed, and the frames its changes make."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self._sent: dict[str, _Sent] = {}

    def first(self, topic: str, now_ms: int, ts: int) -> str:
        """The frame a new subscriber of `topic` gets: the current candle."""
        _, interval, symbol = topic.split(".")
        row = self._venue.klines(symbol, interval, 1, now_ms)[0]
        if topic not in self._sent:
            self._sent[topic] = _Sent(row, now_ms)
        data = [kline_data(row, interval, confirm=False, now_ms=ts)]
        return encode(KlineMessage(topic=topic, data=data, ts=ts))

    def publish(self, registry: ConnectionRegistry, topics: set[str], now_ms: int, ts: int) -> None:
        """Push the changed candles of the subscribed kline topics."""
        for topic in topics:
            if not topic.startswith("kline."):
                continue
            frame = self._frame(topic, now_ms, ts)
            if frame is not None:
                for conn in registry.subscribers(topic):
                    conn.send(frame)

    def _frame(self, topic: str, now_ms: int, ts: int) -> str | None:
        _, interval, symbol = topic.split(".")
        sent = self._sent.get(topic)
        new_minute = sent is not None and now_ms // _MINUTE_MS != sent.at_ms // _MINUTE_MS
        if sent is not None and not new_minute and now_ms - sent.at_ms < PUSH_INTERVAL_MS:
            return None
        rows = self._venue.klines(symbol, interval, 2, now_ms)
        current = rows[0]
        self._sent[topic] = _Sent(current, now_ms)
        data = [kline_data(current, interval, confirm=False, now_ms=ts)]
        if sent is not None and sent.row[0] != current[0] and len(rows) > 1:
            data.insert(0, kline_data(rows[1], interval, confirm=True, now_ms=ts))
        elif sent is not None and sent.row == current:
            return None
        return encode(KlineMessage(topic=topic, data=data, ts=ts))
