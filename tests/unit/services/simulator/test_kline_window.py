"""Klines keep to Bybit's start / end window, and the kline topic's candles and frames."""

import json

import msgspec
import numpy as np

from services.simulator.candles import CandleSeries
from services.simulator.kline_topic import candle_end, kline_data
from services.simulator.market import MINUTE_MS, History

T0 = 1_780_000_000_000
NOW_MINUTE = T0 // MINUTE_MS * MINUTE_MS


def _series(minutes: int = 600) -> CandleSeries:
    prices = np.arange(100, 100 + minutes, dtype=np.int64)  # each minute's price is distinct
    history = History(
        first_minute=T0 // MINUTE_MS - minutes,
        open=prices,
        high=prices,
        low=prices,
        close=prices,
        volume=np.full(minutes, 10, dtype=np.int64),
        turnover=np.full(minutes, 10.0),
    )
    return CandleSeries(capacity=1000, unit_value=1.0, history=history, now_ms=T0)


def _starts(rows: list[tuple[int, ...]]) -> list[int]:
    return [r[0] for r in rows]


def test_a_start_gives_the_first_candles_from_it_newest_first() -> None:
    start = NOW_MINUTE - 300 * MINUTE_MS
    rows = _series().klines("1", 3, T0, (start, None))
    assert _starts(rows) == [start + k * MINUTE_MS for k in (2, 1, 0)]


def test_a_start_inside_a_candle_includes_that_candle() -> None:
    hour = 60 * MINUTE_MS
    start = (NOW_MINUTE - 5 * hour) // hour * hour
    rows = _series().klines("60", 2, T0, (start + 17 * MINUTE_MS, None))
    assert _starts(rows) == [start + hour, start]


def test_an_end_gives_the_last_candles_up_to_it() -> None:
    end = NOW_MINUTE - 100 * MINUTE_MS
    rows = _series().klines("1", 3, T0, (None, end + 30_000))
    assert _starts(rows) == [end - k * MINUTE_MS for k in (0, 1, 2)]


def test_start_and_end_bound_both_sides() -> None:
    start = NOW_MINUTE - 50 * MINUTE_MS
    rows = _series().klines("1", 100, T0, (start, start + 4 * MINUTE_MS))
    assert len(rows) == 5
    assert _starts(rows)[-1] == start


def test_no_window_gives_the_newest_candles() -> None:
    rows = _series().klines("1", 2, T0)
    assert _starts(rows) == [NOW_MINUTE, NOW_MINUTE - MINUTE_MS]


def test_candle_ends_follow_the_interval() -> None:
    assert candle_end(0, "1") == MINUTE_MS - 1
    assert candle_end(0, "D") == 86_400_000 - 1
    jan_2025 = 1_735_689_600_000
    feb_2025 = 1_738_368_000_000
    assert candle_end(jan_2025, "M") == feb_2025 - 1


def test_kline_data_has_the_captured_fields_in_order() -> None:
    row = ["1786310760000", "65119.9", "65119.9", "65114.2", "65114.3", "1.576", "102627.995"]
    data = kline_data(row, "1", confirm=False, now_ms=1786310818440)
    encoded = json.loads(msgspec.json.encode(data))
    assert encoded == {
        "start": 1786310760000,
        "end": 1786310819999,
        "interval": "1",
        "open": "65119.9",
        "close": "65114.3",
        "high": "65119.9",
        "low": "65114.2",
        "volume": "1.576",
        "turnover": "102627.995",
        "confirm": False,
        "timestamp": 1786310818440,
    }
    captured = '{"start":1786310760000,"end":1786310819999,"interval":"1","open":"65119.9"'
    assert msgspec.json.encode(data).decode().startswith(captured)
