"""Market statistics: exact on constructed tapes, sane on 45 s of real ETHUSDT."""

import gzip
import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.simulator.market_stats import (
    STAT_ROWS,
    Tape,
    book_depth,
    depth_within,
    statistics_of,
    table_lines,
    tape_of_frames,
)

REAL_SLICE = Path(__file__).parents[3] / "fixtures/market/ETHUSDT-2024-08-08-45s.frames.gz"
T0 = 1_723_161_256_000


def _tape(mids_ticks: list[float], spread_ticks: int, tick: float = 0.01) -> Tape:
    """One top per 100 ms: the mids given, a constant spread."""
    tape = Tape(tick=tick)
    for i, mid in enumerate(mids_ticks):
        half = spread_ticks * tick / 2
        tape.tops.append((T0 + 100 * i, mid * tick - half, mid * tick + half))
    return tape


@given(st.integers(1, 20), st.integers(11, 400), st.floats(100.0, 1e6))
def test_a_constant_spread_is_its_own_median_and_mean(spread: int, n: int, mid: float) -> None:
    stats = statistics_of(_tape([mid] * n, spread))
    assert stats.spread_ticks_median == pytest.approx(spread, rel=1e-6)
    assert stats.spread_ticks_mean == pytest.approx(spread, rel=1e-6)
    assert stats.spread_bps_median == pytest.approx(spread / mid * 1e4, rel=1e-6)
    assert stats.return_sd_1s_bps == 0.0


@given(st.lists(st.sampled_from([-1.0, 1.0]), min_size=20, max_size=200), st.floats(-2.0, 2.0))
def test_the_one_second_return_spread_is_the_rms_of_the_one_second_log_returns(
    steps_bps: list[float], scale: float
) -> None:
    # one mid per second, held for ten 100 ms samples: the 1 s returns are the steps
    log_mids = [0.0]
    for step in steps_bps:
        log_mids.append(log_mids[-1] + step * scale / 1e4)
    mids = [math.exp(m) * 300_000 for m in log_mids for _ in range(10)]
    stats = statistics_of(_tape(mids, 1))
    assert stats.return_sd_1s_bps == pytest.approx(abs(scale), rel=1e-6, abs=1e-9)


@given(st.integers(0, 500), st.integers(10, 600))
def test_trades_per_second_count_the_trades_inside_the_tape(trades: int, seconds: int) -> None:
    tape = _tape([100_000.0] * (seconds * 10 + 1), 1)
    tape.trades = [(T0 + (i * 997) % (seconds * 1000), 1000.0, 0.5) for i in range(trades)]
    tape.trades.append((T0 + seconds * 1000 + 1, 1000.0, 1.0))  # after the last top: not counted
    stats = statistics_of(tape)
    assert stats.trades_per_s == pytest.approx(trades / seconds)
    if trades:
        assert stats.trade_usdt_mean == pytest.approx(500.0)


@given(st.lists(st.tuples(st.floats(90.0, 100.0), st.floats(0.001, 50.0)), min_size=1, max_size=40))
def test_depth_grows_with_the_band_and_ends_at_the_whole_side(
    levels: list[tuple[float, float]],
) -> None:
    best = max(p for p, _ in levels)
    near, far, whole = depth_within(levels, best, is_bid=True, bands_bps=(1.0, 50.0, 5000.0))
    assert near <= far <= whole
    assert whole == pytest.approx(sum(p * q for p, q in levels))
    assert near >= sum(p * q for p, q in levels if p == best) * (1 - 1e-12)


def test_book_depth_is_the_mean_of_the_two_sides_and_none_for_a_one_sided_book() -> None:
    bids = [(100.0, 2.0), (99.0, 5.0)]
    asks = [(100.01, 1.0), (101.0, 3.0)]
    assert book_depth(bids, asks, (1.0, 200.0)) == pytest.approx(
        ((200.0 + 100.01) / 2, (695.0 + 403.01) / 2)
    )
    assert book_depth(bids, []) is None


def _frame(topic: str, kind: str, ts: int, data: object) -> str:
    return f"{ts * 1_000_000} " + json.dumps({"topic": topic, "type": kind, "ts": ts, "data": data})


def test_frames_rebuild_the_deep_book_and_take_tops_from_orderbook_1() -> None:
    book = "orderbook.500.ETHUSDT"
    lines = [
        _frame(
            book, "snapshot", T0, {"b": [["100.00", "1"], ["99.99", "2"]], "a": [["100.01", "3"]]}
        ),
        _frame(book, "delta", T0 + 200, {"b": [["100.00", "0"]], "a": [["100.02", "4"]]}),
        _frame(
            "publicTrade.ETHUSDT",
            "snapshot",
            T0 + 250,
            [{"T": T0 + 250, "p": "100.01", "v": "0.5"}],
        ),
        _frame("publicTrade.BTCUSDT", "snapshot", T0 + 260, [{"T": T0 + 260, "p": "9", "v": "1"}]),
        _frame(
            "orderbook.1.ETHUSDT",
            "snapshot",
            T0 + 300,
            {"b": [["99.99", "2"]], "a": [["100.01", "3"]]},
        ),
    ]
    tape = tape_of_frames(lines, symbol="ETHUSDT", tick=0.01)
    assert tape.tops == [(T0 + 300, 99.99, 100.01)]
    assert tape.trades == [(T0 + 250, 100.01, 0.5)]
    assert [ts for ts, _ in tape.depths] == [T0, T0 + 200]
    _, (within_1bps, _, _) = tape.depths[1]  # the bid at 100.00 deleted, an ask at 100.02 added
    assert within_1bps == pytest.approx((99.99 * 2 + 100.01 * 3 + 100.02 * 4) / 2)


def test_real_ethusdt_gives_sane_numbers() -> None:
    with gzip.open(REAL_SLICE, "rt") as lines:
        tape = tape_of_frames(lines, symbol="ETHUSDT", tick=0.01)
    stats = statistics_of(tape)
    assert 40 < stats.duration_s <= 45.1
    assert stats.spread_ticks_median == 1.0  # ETHUSDT sits at one tick
    assert 1.0 <= stats.spread_ticks_mean < 1.2
    assert 10 < stats.trades_per_s < 100
    assert 0.3 < stats.return_sd_1s_bps < stats.return_sd_10s_bps < 10
    assert stats.return_windows_60s == 0
    assert math.isnan(stats.return_sd_60s_bps)
    assert 1e4 < stats.depth_usdt_1bps < stats.depth_usdt_5bps < stats.depth_usdt_10bps < 1e8


def test_the_table_has_a_row_per_statistic_and_a_dash_for_what_is_missing() -> None:
    lines = table_lines({"real": {"trades_per_s": 40.8}, "other": {"trades_per_s": math.nan}})
    assert len(lines) == 1 + len(STAT_ROWS)
    row = next(line for line in lines if line.startswith("trades per s"))
    assert row.split()[-2:] == ["40.8", "-"]
