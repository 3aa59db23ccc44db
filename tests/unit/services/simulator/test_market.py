from decimal import Decimal

import msgspec
import numpy as np
import pytest

from services.simulator.candles import CandleSeries, group_start_minutes
from services.simulator.exchange import Exchange, ExchangeConfig
from services.simulator.instruments import (
    DEFAULT_UNIVERSE,
    InstrumentSpec,
    places_of,
    select,
    to_instrument,
)
from services.simulator.market import (
    MINUTE_MS,
    History,
    PriceProcess,
    SymbolModel,
    synthetic_history,
)
from shared.bybit import wire

T0 = 1_780_000_000_000


def _process(
    seed: int, symbols: tuple[str, ...] = ("BTCUSDT", "DOGEUSDT", "WOBBLEUSDT")
) -> PriceProcess:
    specs = select(symbols)
    models = tuple(
        SymbolModel.of(s, step_ms=100, volatility_scale=1.0, trade_rate_scale=1.0) for s in specs
    )
    return PriceProcess(specs, models, seed=seed, step_ms=100)


# ---------------------------------------------------------------- universe


def test_the_default_universe_has_30_plus_distinct_symbols() -> None:
    specs = DEFAULT_UNIVERSE
    assert len(specs) >= 32
    assert len({s.symbol for s in specs}) == len(specs)
    assert len({s.start_price for s in specs}) == len(specs)
    assert len({s.turnover_24h for s in specs}) == len(specs)
    assert len({s.tick_size for s in specs}) >= 6
    assert len({s.qty_step for s in specs}) >= 5
    assert len({s.volatility for s in specs}) >= 10
    # Ticks stay >= 1e-6: str(Decimal) writes smaller ones as "1E-7", which the venue never sends.
    assert min(s.start_price for s in specs) <= Decimal("0.005")
    assert min(s.tick_size for s in specs) >= Decimal("0.000001")
    assert max(s.start_price for s in specs) >= Decimal(50_000)
    assert min(s.turnover_24h for s in specs) <= 1e5
    assert max(s.turnover_24h for s in specs) >= 5e9


@pytest.mark.parametrize("spec", DEFAULT_UNIVERSE, ids=lambda s: s.symbol)
def test_every_spec_is_consistent(spec: InstrumentSpec) -> None:
    assert spec.symbol.endswith("USDT")
    assert spec.start_price % spec.tick_size == 0
    assert spec.min_qty % spec.qty_step == 0
    assert spec.max_qty % spec.qty_step == 0
    assert spec.max_mkt_qty <= spec.max_qty
    assert spec.min_notional == 5
    ticks = spec.start_price / spec.tick_size
    assert ticks >= 1000, "at least 1000 ticks to the price, so the book has room"


def test_instruments_look_like_bybit() -> None:
    btc = to_instrument(select(("BTCUSDT",))[0])
    raw = msgspec.json.decode(msgspec.json.encode(btc))
    assert raw["contractType"] == "LinearPerpetual"
    assert raw["status"] == "Trading"
    assert raw["priceScale"] == "2"
    assert raw["priceFilter"] == {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"}
    assert raw["lotSizeFilter"]["qtyStep"] == "0.001"
    assert raw["lotSizeFilter"]["minNotionalValue"] == "5"
    assert raw["leverageFilter"]["maxLeverage"] == "100.00"
    assert raw["settleCoin"] == "USDT"
    assert raw["launchTime"].isdigit()
    doge = to_instrument(select(("DOGEUSDT",))[0])
    assert str(doge.price_filter.tick_size) == "0.00001"
    assert str(doge.lot_size_filter.qty_step) == "1"
    # the same Struct decodes from its own JSON (what clients do)
    assert msgspec.json.decode(msgspec.json.encode(doge), type=wire.Instrument) == doge


def test_select_picks_by_name_and_refuses_unknown_names() -> None:
    assert [s.symbol for s in select(("ETHUSDT", "BTCUSDT"))] == ["ETHUSDT", "BTCUSDT"]
    assert select(None) == DEFAULT_UNIVERSE
    with pytest.raises(ValueError, match="NOPEUSDT"):
        select(("BTCUSDT", "NOPEUSDT"))


def test_places_of() -> None:
    assert places_of(Decimal("0.10")) == 2
    assert places_of(Decimal("0.0010")) == 4
    assert places_of(Decimal("100")) == 0


# ---------------------------------------------------------------- price process


def _path(process: PriceProcess, steps: int) -> list[tuple[list[int], list[int], list[int]]]:
    out = []
    for _ in range(steps):
        step = process.step()
        out.append((step.bid0, step.counts, step.lots))
    return out


def test_the_price_process_is_reproducible_for_a_seed() -> None:
    assert _path(_process(11), 300) == _path(_process(11), 300)


def test_another_seed_gives_another_path() -> None:
    assert _path(_process(11), 300) != _path(_process(12), 300)


def test_the_book_top_keeps_the_spread_and_tracks_the_mid() -> None:
    process = _process(5)
    for _ in range(200):
        step = process.step()
        for bid, ask, mid in zip(step.bid0, step.ask0, process.mid_ticks(), strict=True):
            assert ask > bid >= 1
            assert bid - 1 <= mid <= ask + 1


def test_bursts_happen_and_move_prices_more() -> None:
    process = _process(3, ("WOBBLEUSDT", "BTCUSDT"))
    moves: dict[tuple[int, bool], list[float]] = {}
    previous = np.log(process.mid_ticks())
    for _ in range(12_000):  # 20 simulated minutes
        process.step()
        now = np.log(process.mid_ticks())
        for i, (moved, bursting) in enumerate(
            zip(np.abs(now - previous), process.bursting(), strict=True)
        ):
            moves.setdefault((i, bursting), []).append(float(moved))
        previous = now
    bursting_symbols = [i for i in (0, 1) if (i, True) in moves]
    assert bursting_symbols, "no burst in 20 minutes"
    for i in bursting_symbols:
        assert np.mean(moves[i, True]) > 3 * np.mean(moves[i, False])


def test_busier_symbols_trade_more_often() -> None:
    process = _process(9, ("BTCUSDT", "MOONPIEUSDT"))
    counts = np.zeros(2)
    for _ in range(3000):
        counts += process.step().counts
    assert counts[0] > 5 * counts[1] > 0


# ---------------------------------------------------------------- history and candles


def test_history_ends_at_the_start_price_and_carries_a_day_of_turnover() -> None:
    spec = select(("ETHUSDT",))[0]
    history = synthetic_history(
        spec, np.random.default_rng(1), end_minute=T0 // MINUTE_MS, minutes=3000
    )
    assert int(history.close[-1]) == int(spec.start_price / spec.tick_size)
    assert (history.high >= np.maximum(history.open, history.close)).all()
    assert (history.low <= np.minimum(history.open, history.close)).all()
    day = float(history.turnover[-1440:].sum())
    assert 0.6 * spec.turnover_24h < day < 1.5 * spec.turnover_24h


def _flat_history(minutes: int, price: int) -> History:
    ints = np.full(minutes, price, dtype=np.int64)
    return History(
        first_minute=T0 // MINUTE_MS - minutes,
        open=ints,
        high=ints,
        low=ints,
        close=ints,
        volume=np.full(minutes, 10, dtype=np.int64),
        turnover=np.full(minutes, 10.0 * price),
    )


def test_candles_roll_minutes_and_build_klines_newest_first() -> None:
    series = CandleSeries(capacity=200, unit_value=1.0, history=_flat_history(100, 100), now_ms=T0)
    start = T0 // MINUTE_MS * MINUTE_MS
    series.record(start + 1000, 105, 2)
    series.record(start + 2000, 98, 3)
    series.record(start + 3 * MINUTE_MS + 5, 101, 1)  # two empty minutes in between
    rows = series.klines("1", 5, start + 3 * MINUTE_MS + 10)
    assert [r[0] for r in rows] == [start + k * MINUTE_MS for k in (3, 2, 1, 0, -1)]
    newest, empty, _, first, before = rows
    assert newest[1:6] == (98, 101, 98, 101, 1)
    assert empty[1:6] == (98, 98, 98, 98, 0)
    assert first[1:6] == (100, 105, 98, 98, 5)
    assert before[1:6] == (100, 100, 100, 100, 10)
    five = series.klines("5", 2, start + 3 * MINUTE_MS + 10)
    assert len(five) == 2
    assert five[0][0] % (5 * MINUTE_MS) == 0


def test_rolling_24h_statistics() -> None:
    history = _flat_history(2000, 100)
    history.close[-1440] = 90  # the close 24 h before the current minute
    history.high[-50] = 130
    series = CandleSeries(capacity=3000, unit_value=0.5, history=history, now_ms=T0)
    series.record(T0 + 1, 120, 4)
    stats = series.stats(T0 + 2)
    assert stats.prev_price_24h == 90
    assert stats.high == 130
    assert stats.low == 100
    assert stats.volume == 1439 * 10 + 4
    assert stats.turnover == pytest.approx(1439 * 1000.0 + 120 * 4 * 0.5)


def test_kline_groups_are_aligned_like_bybit() -> None:
    minute = np.array([T0 // MINUTE_MS], dtype=np.int64)
    day = group_start_minutes(minute, "D")[0]
    assert day % 1440 == 0
    week = int(group_start_minutes(minute, "W")[0])
    assert np.datetime64(week, "m").astype("datetime64[D]").item().weekday() == 0  # Monday
    month = int(group_start_minutes(minute, "M")[0])
    assert np.datetime64(month, "m").astype("datetime64[D]").item().day == 1


# ---------------------------------------------------------------- through the exchange


def test_tickers_have_a_24h_history_from_the_start() -> None:
    exchange = Exchange(ExchangeConfig(seed=4, symbols=("BTCUSDT", "SOLUSDT")), T0)
    for ticker in exchange.tickers():
        assert ticker.prev_price24h > 0
        assert ticker.high_price24h >= ticker.last_price >= ticker.low_price24h
        assert ticker.turnover24h > 0
        assert ticker.volume24h > 0
        assert Decimal(ticker.bid1_price) < Decimal(ticker.ask1_price)
        assert ticker.price24h_pcnt == (ticker.last_price / ticker.prev_price24h - 1).quantize(
            Decimal("0.000001")
        )


def _tickers_after(seed: int, ms: int) -> list[wire.Ticker]:
    exchange = Exchange(ExchangeConfig(seed=seed, symbols=("BTCUSDT", "WIFUSDT")), T0)
    exchange.advance(T0 + ms)
    return exchange.tickers()


def test_the_market_is_reproducible_for_a_seed_and_differs_for_another() -> None:
    assert _tickers_after(21, 20_000) == _tickers_after(21, 20_000)
    assert _tickers_after(21, 20_000) != _tickers_after(22, 20_000)


def test_24h_change_and_turnover_evolve_so_the_ranking_changes() -> None:
    names = ("ZORPUSDT", "WOBBLEUSDT", "KRAKLEUSDT", "GLIMMERUSDT", "MOONPIEUSDT", "TIAUSDT")
    exchange = Exchange(ExchangeConfig(seed=8, symbols=names, step_ms=2000), T0)

    def ranking() -> list[str]:
        scored = [(t.turnover24h * abs(t.price24h_pcnt), t.symbol) for t in exchange.tickers()]
        return [symbol for _, symbol in sorted(scored, reverse=True)]

    first = exchange.tickers()
    rankings = {tuple(ranking())}
    for half_hour in range(1, 7):
        exchange.advance(T0 + half_hour * 1_800_000)
        rankings.add(tuple(ranking()))
    later = exchange.tickers()
    assert len(rankings) > 1
    for a, b in zip(first, later, strict=True):
        assert a.price24h_pcnt != b.price24h_pcnt
        assert a.turnover24h != b.turnover24h
