"""Market-maker benchmarks (issue 16): the MM through the backtest on six minutes of real
ETHUSDT (tests/fixtures/replay/ETHUSDT-2024-08-08-6min.frames.gz; benches read only the
project), its quote cycle, and its calibration out of sample.

Settings: deploy/settings.toml with `kind = "market-maker"`, `strategy-id = "mm1"` and every
`[strategy.market-maker]` key at its default (the file ships that table commented out).
The file's executor limits make a market maker useless (max-orders-per-minute = 60 across
strategies: a two-sided quoter sends more than that), so the bench sets what its comment
tells a user to ship with kind = "market-maker": max-orders-per-minute = 1200 and
strategy-orders-per-minute-by-id = { mm1 = 1200 }. Fees, balance and queue model come
from the file's [simulator] (maker 2 bps, taker 5.5 bps); entry and response latency
5 ms each way (scripts/backtest's default is 0, which flatters a quoter). Every override
is printed in the result lines.

- `mm.net_bps_per_fill`, `mm.slippage_bps`, `mm.fill_ratio`, `mm.taker_share`: the run's
  report metrics (research/report/metrics.py): net PnL after fees (the position marked at
  the last mid) / traded notional; qty-weighted slippage vs the order's arrival mid
  (positive = worse for us); filled qty / sent qty of the limit orders that reached the
  venue; taker fills / fills.
- `mm.quote_cycle_p50_us` / `_p99_us`: wall time of `MarketMaker.on_message` for each
  market update (Quote, BookLevels, Trade) of that run: the update in, every stage
  (estimators, fast-cancel, guards, spread, skew, taker cap, requote), the commands out.
  Nearest-rank percentiles over every update of the run.
- calibration, walk-forward by receive time (research/sweep/walk_forward.py, train
  fraction 0.7): A, k and sigma fitted on the train part (research.calibration), then the
  calibrated settings, each point with A and k as its seed (`intensity-a-per-s`,
  `intensity-k-per-tick`: GLFT quotes from the start instead of waiting for the maker's own
  first fit): the 10 x 10 grid of vol-sensitivity-ratio x liq-sensitivity-ratio (0.1 ..
  1.0; the defaults 0.6 x 0.4 are a grid point) run on the train part (one backtest a
  point, workers = the machine's cores), the best point by net bps per fill (at least
  MIN_FILLS fills), then the shipped defaults (no seed) and the best run once each on the
  held-out part: `mm.out_of_sample_net_bps_gain`
  = best - defaults (bps per fill, after fees). Its line carries the settings fragment.

`--quick`: the first QUICK_SECONDS of the recording and a 2 x 2 grid (a smoke run).
`--minutes N`: only the recording's first N minutes (with the full grid: a shorter run).
The main run's lines are printed as soon as it is done, the calibration's after the grid.
The recording's lines are kept in memory (`gc.freeze()`d: the collector does not walk
them, as it would not walk a live maker's absent recording).
"""

import dataclasses
import gc
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import msgspec

from research.backtest.engine import Engine
from research.backtest.settings import BacktestSettings, Latency, load_settings
from research.calibration.fragment import fit_comments, fragment_text, seed_keys
from research.calibration.intensity import Calibration, calibrate
from research.report.metrics import compute
from research.sweep.data import Recording
from research.sweep.space import Value, toml_value
from research.sweep.walk_forward import Line, Window, span_ns, windows, within
from services.strategy.mm.core import MarketMaker
from services.strategy.settings import StrategySettings
from shared.schema import BookLevels, BusMessage, Quote, Trade
from shared.settings import DEFAULT_SETTINGS_PATH, REPO_ROOT, SettingsError

Result = dict[str, Any]
RECORDING: Final = REPO_ROOT / "tests" / "fixtures" / "replay" / "ETHUSDT-2024-08-08-6min.frames.gz"
SYMBOL: Final = "ETHUSDT"
TICK: Final = 0.01  # ETHUSDT's price tick
STRATEGY_SETS: Final = ("kind=market-maker", "strategy-id=mm1")
EXECUTOR_OVERRIDES: Final[Mapping[str, Any]] = {
    "max_orders_per_minute": 1200,
    "strategy_orders_per_minute_by_id": {"mm1": 1200},
}
LATENCY_MS: Final = 5.0
TRAIN_FRACTION: Final = 0.7
QUICK_SECONDS: Final = 60.0
GRID: Final = tuple(round(0.1 * i, 1) for i in range(1, 11))  # 0.1 .. 1.0
QUICK_VOL_GRID: Final = (0.3, 0.6)
QUICK_LIQ_GRID: Final = (0.4, 0.8)
SWEPT: Final = ("vol-sensitivity-ratio", "liq-sensitivity-ratio")
MIN_FILLS: Final = 5  # a grid point with fewer fills on the train part is not ranked
MARKET_UPDATES: Final = (Quote, BookLevels, Trade)
NS_PER_S: Final = 1_000_000_000

_PARTS: dict[str, list[Line]] = {}  # set before the pool forks: the workers inherit them
_OPTIONS: dict[str, float | None] = {}
_BASE: dict[str, BacktestSettings] = {}  # deploy/settings.toml as first read (settings_for)


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    """One backtest's figures (None: unknown, e.g. no fill)."""

    net_bps_per_fill: float | None
    slippage_bps: float | None
    fill_ratio: float | None
    taker_share: float | None
    fills: int
    maker_fills: int
    orders_at_venue: int
    orders_denied: int
    pnl_net_usdt: float
    fees_usdt: float
    traded_notional_usdt: float
    adverse_1s_bps: float | None
    cycle_ns: tuple[int, ...]  # wall time, one per market update
    cycle_cpu_ns: tuple[int, ...]  # the thread's CPU time, one per market update
    stage_ns: dict[str, list[float]]  # the core's own stage timings (its last samples)
    seconds: float
    frames: int


def overrides_text() -> str:
    """The bench's settings beyond deploy/settings.toml, as one line."""
    executor = ", ".join(
        f"{k.replace('_', '-')} = {_toml(v)}" for k, v in EXECUTOR_OVERRIDES.items()
    )
    return (
        f"[strategy] {', '.join(STRATEGY_SETS)}; [executor] {executor};"
        f" latency {LATENCY_MS:g} ms each way"
    )


def _toml(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return toml_value(value)


def settings_for(mm: Mapping[str, Value]) -> BacktestSettings:
    """The bench's settings with `mm` as `[strategy.market-maker]` keys (the rest default).

    deploy/settings.toml is read once per process (the first call) and kept: a run of many
    trials must not see the file change under it (others edit it; a key added there before
    its class is reloaded would fail the strict loader mid-sweep)."""
    base = _BASE.get("settings")
    if base is None:
        base = _BASE["settings"] = _load_base()
    if not mm:
        return base
    strategy = msgspec.to_builtins(base.strategy)
    strategy["market-maker"] = {**strategy["market-maker"], **mm}
    try:
        chosen = msgspec.convert(strategy, StrategySettings)
    except (msgspec.ValidationError, ValueError) as e:
        raise SettingsError(f"[strategy.market-maker]: {e}") from None
    return dataclasses.replace(base, strategy=chosen)


def _load_base() -> BacktestSettings:
    settings = load_settings(DEFAULT_SETTINGS_PATH, SYMBOL, list(STRATEGY_SETS))
    executor = msgspec.structs.replace(settings.executor, **EXECUTOR_OVERRIDES)
    latency = Latency(constant_ns=round(LATENCY_MS * 1_000_000))
    return dataclasses.replace(
        settings, executor=executor, entry_latency=latency, response_latency=latency
    )


def _timed(
    on_message: Callable[[BusMessage, int], Any], wall: list[int], cpu: list[int]
) -> Callable[[BusMessage, int], Any]:
    """`on_message` with the wall and the thread CPU time of each market update appended
    to `wall` and `cpu` (ns)."""
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns

    def wrapper(message: BusMessage, now_ns: int) -> Any:
        if not isinstance(message, MARKET_UPDATES):
            return on_message(message, now_ns)
        cpu_started = cpu_clock()
        started = clock()
        out = on_message(message, now_ns)
        wall.append(clock() - started)
        cpu.append(cpu_clock() - cpu_started)
        return out

    return wrapper


def backtest(lines: Sequence[Line], mm: Mapping[str, Value], *, timed: bool = False) -> Run:
    """One backtest of the MM over `lines` with `mm` keys; its figures."""
    engine = Engine(settings_for(mm), iter(lines))
    wall: list[int] = []
    cpu: list[int] = []
    if timed:
        strategy: Any = engine.strategy
        strategy.on_message = _timed(strategy.on_message, wall, cpu)
    started = time.perf_counter()
    result = engine.run()
    seconds = time.perf_counter() - started
    stages: dict[str, list[float]] = {}
    if timed and isinstance(engine.strategy, MarketMaker):
        stages = engine.strategy.metrics()["stage_latency_ns"]
    m = compute(result)
    return Run(
        net_bps_per_fill=m.net_bps_per_notional,
        slippage_bps=m.slippage_mean_bps,
        fill_ratio=None if m.limit_fill_ratio_pct is None else m.limit_fill_ratio_pct / 100,
        taker_share=None if m.taker_share_pct is None else m.taker_share_pct / 100,
        fills=m.fills,
        maker_fills=m.maker_fills,
        orders_at_venue=m.orders_at_venue,
        orders_denied=m.orders_denied,
        pnl_net_usdt=float(m.pnl_net_usdt),
        fees_usdt=float(m.fees_usdt),
        traded_notional_usdt=float(m.traded_notional_usdt),
        adverse_1s_bps=m.adverse_1s_mean_bps,
        cycle_ns=tuple(wall),
        cycle_cpu_ns=tuple(cpu),
        stage_ns=stages,
        seconds=seconds,
        frames=result.summary.frames,
    )


def percentile(samples: Sequence[int], q: float) -> float | None:
    """Nearest-rank percentile (None without samples)."""
    if not samples:
        return None
    ordered = sorted(samples)
    return float(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)])


def split(lines: Sequence[Line], fraction: float) -> tuple[list[Line], list[Line]]:
    """(train, test) of `lines` by receive time (research/sweep/walk_forward.py)."""
    first, last, _ = span_ns(lines)
    train, test = windows(first, last, fraction)
    return list(within(lines, train)), list(within(lines, test))


def load_lines(seconds: float | None) -> list[Line]:
    """The recording's lines (its first `seconds` of receive time when given)."""
    lines = list(Recording(files=(RECORDING,)).lines())
    if seconds is None:
        return lines
    end = lines[0][0] + int(seconds * NS_PER_S)
    return list(within(lines, Window(end_ns=end)))


def fit(lines: Sequence[Line]) -> Calibration:
    """A, k and sigma of `lines` (research.calibration, the MM's own estimators)."""
    return calibrate(lines, TICK)


def _trial(job: tuple[str, tuple[tuple[str, Value], ...], bool]) -> tuple[str, Any, Run]:
    part, mm, timed = job
    return part, mm, backtest(_PARTS[part], dict(mm), timed=timed)


def grid_points(quick: bool) -> list[tuple[tuple[str, Value], ...]]:
    vols, liqs = (QUICK_VOL_GRID, QUICK_LIQ_GRID) if quick else (GRID, GRID)
    return [tuple(sorted(((SWEPT[0], v), (SWEPT[1], q)))) for v in vols for q in liqs]


def best_point(
    runs: Mapping[tuple[tuple[str, Value], ...], Run],
) -> tuple[tuple[str, Value], ...] | None:
    """The point with the highest net bps per fill (at least MIN_FILLS fills; ties: the
    higher net PnL); None when no point filled enough."""
    ranked = [
        (run.net_bps_per_fill, run.pnl_net_usdt, point)
        for point, run in runs.items()
        if run.net_bps_per_fill is not None and run.fills >= MIN_FILLS
    ]
    if not ranked:
        return None
    return max(ranked, key=lambda r: (r[0], r[1]))[2]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _us(value: float | None) -> float | None:
    return None if value is None else round(value / 1_000, 1)


def configure(minutes: float | None = None) -> None:
    """`scripts/bench mm --minutes N`: only the recording's first N minutes (both modes)."""
    if minutes is not None and minutes <= 0:
        raise ValueError(f"--minutes {minutes}: must be positive")
    _OPTIONS["minutes"] = minutes


def run(quick: bool) -> Iterator[Result]:
    minutes = _OPTIONS.get("minutes")
    seconds = QUICK_SECONDS if quick else None
    if minutes is not None:
        seconds = minutes * 60 if seconds is None else min(seconds, minutes * 60)
    lines = load_lines(seconds)
    train, test = split(lines, TRAIN_FRACTION)
    _PARTS.update(all=lines, train=train, test=test)
    calibration = fit(train)
    settings_for({})  # deploy/settings.toml read once, before the workers fork
    gc.freeze()  # the recording in memory is the harness's: the collector skips it
    seed = seed_keys(calibration)
    points = [tuple(sorted({**dict(p), **seed}.items())) for p in grid_points(quick)]
    defaults = dict(zip(SWEPT, (0.6, 0.4), strict=True))
    workers = os.cpu_count() or 1
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending = pool.apply_async(_trial, (("all", (), True),))
        grid = pool.map_async(_trial, [("train", p, False) for p in points], chunksize=1)
        yield from _main_lines(pending.get(), lines)
        in_sample = {tuple(mm): r for _, mm, r in grid.get()}
        best = best_point(in_sample)
        held_out: dict[str, Run] = {}
        if best is not None:
            oos = [("test", tuple(sorted(defaults.items())), False), ("test", best, False)]
            answers = pool.map(_trial, oos, chunksize=1)
            held_out = {"defaults": answers[0][2], "best": answers[1][2]}
    sweep_s = time.monotonic() - started
    yield from _calibration_lines(calibration, in_sample, best, held_out, defaults, sweep_s)


def _main_lines(done: tuple[str, Any, Run], lines: Sequence[Line]) -> Iterator[Result]:
    main = done[2]
    common = {
        "frames": main.frames,
        "seconds_of_data": round((lines[-1][0] - lines[0][0]) / NS_PER_S, 1),
        "fills": main.fills,
        "maker_fills": main.maker_fills,
        "orders_at_venue": main.orders_at_venue,
        "orders_denied": main.orders_denied,
        "settings": "deploy/settings.toml + " + overrides_text(),
    }
    yield {
        "name": "mm.net_bps_per_fill",
        "value": _round(main.net_bps_per_fill, 3),
        "unit": "bps",
        "pnl_net_usdt": round(main.pnl_net_usdt, 4),
        "fees_usdt": round(main.fees_usdt, 4),
        "traded_notional_usdt": round(main.traded_notional_usdt, 2),
        "adverse_1s_bps": _round(main.adverse_1s_bps, 3),
        **common,
        "note": "net PnL after fees (position marked at the last mid) / traded notional,"
        " research/report/metrics.py net_bps_per_notional",
    }
    yield {
        "name": "mm.slippage_bps",
        "value": _round(main.slippage_bps, 3),
        "unit": "bps",
        "target": "<= 2.5",
        **common,
        "note": "qty-weighted fill price vs the order's arrival mid, positive = worse for us",
    }
    yield {
        "name": "mm.fill_ratio",
        "value": _round(main.fill_ratio, 4),
        "unit": "ratio",
        **common,
        "note": "filled qty / sent qty of the limit orders that reached the venue",
    }
    yield {
        "name": "mm.taker_share",
        "value": _round(main.taker_share, 4),
        "unit": "ratio",
        **common,
        "note": "taker fills / fills",
    }
    for q in (50, 99):
        yield {
            "name": f"mm.quote_cycle_p{q}_us",
            "value": _us(percentile(main.cycle_ns, q)),
            "unit": "us",
            **({"target": "<= 200"} if q == 99 else {}),
            "cpu_us": _us(percentile(main.cycle_cpu_ns, q)),
            "stages_us": {
                stage: _us(percentile([round(v) for v in samples], q))
                for stage, samples in main.stage_ns.items()
            },
            "market_updates": len(main.cycle_ns),
            "backtest_seconds": round(main.seconds, 1),
            "note": "MarketMaker.on_message wall time per Quote / BookLevels / Trade: every"
            " stage, commands out; nearest rank over every update of the run; cpu_us: the"
            " same on the thread's CPU clock (without the shared machine's preemption);"
            " stages_us: the core's own timer per stage (its last 10,000 samples each)",
        }


def _calibration_lines(
    calibration: Calibration,
    in_sample: Mapping[tuple[tuple[str, Value], ...], Run],
    best: tuple[tuple[str, Value], ...] | None,
    held_out: Mapping[str, Run],
    defaults: Mapping[str, Value],
    sweep_s: float,
) -> Iterator[Result]:
    yield {
        "name": "mm.fit_a_per_s",
        "value": _round(calibration.a_per_s, 4),
        "unit": "1/s",
        "k_per_tick": _round(calibration.k_per_tick, 4),
        "k_per_price": _round(calibration.k_per_price, 4),
        "r_squared": _round(calibration.r_squared, 4),
        "sigma_bps_per_sqrt_s": _round(calibration.sigma_bps_per_sqrt_s, 4),
        "trades": calibration.trades,
        "train_seconds": round(calibration.duration_s, 1),
        "refusal": calibration.refusal,
        "note": "lambda(delta) = A exp(-k delta) and sigma fitted on the train part"
        " (research.calibration); they seed the calibrated runs (intensity-a-per-s,"
        " intensity-k-per-tick) until the market maker's own first fit online",
    }
    default_key = tuple(sorted({**defaults, **seed_keys(calibration)}.items()))
    table = {
        f"{dict(p)[SWEPT[0]]}x{dict(p)[SWEPT[1]]}": [_round(r.net_bps_per_fill, 3), r.fills]
        for p, r in sorted(in_sample.items())
    }
    result: Result = {
        "name": "mm.out_of_sample_net_bps_gain",
        "value": None,
        "unit": "bps",
        "target": ">= 0",
        "train_fraction": TRAIN_FRACTION,
        "grid_points": len(in_sample),
        "grid_net_bps_and_fills": table,
        "defaults": dict(defaults),
        "in_sample_defaults_net_bps": _round(_bps(in_sample.get(default_key)), 3),
        "sweep_seconds": round(sweep_s, 1),
    }
    if best is None or not held_out:
        result["note"] = f"not measured: no grid point had {MIN_FILLS} fills on the train part"
        yield result
        return
    chosen = dict(best)
    d, b = held_out["defaults"], held_out["best"]
    gain = None
    if d.net_bps_per_fill is not None and b.net_bps_per_fill is not None:
        gain = b.net_bps_per_fill - d.net_bps_per_fill
    comments = [
        f"calibrated by scripts/bench mm on {RECORDING.name} (train {TRAIN_FRACTION})",
        *fit_comments(calibration),
    ]
    result.update(
        value=_round(gain, 3),
        best=chosen,
        in_sample_best_net_bps=_round(in_sample[best].net_bps_per_fill, 3),
        out_of_sample_defaults_net_bps=_round(d.net_bps_per_fill, 3),
        out_of_sample_best_net_bps=_round(b.net_bps_per_fill, 3),
        out_of_sample_defaults_fills=d.fills,
        out_of_sample_best_fills=b.fills,
        out_of_sample_defaults_pnl_net_usdt=round(d.pnl_net_usdt, 4),
        out_of_sample_best_pnl_net_usdt=round(b.pnl_net_usdt, 4),
        fragment=fragment_text(chosen, comments),
        note="best grid point minus the defaults, net bps per fill after fees, on the"
        " held-out 30 % (unknown when either run had no fill)",
    )
    yield result


def _bps(run: Run | None) -> float | None:
    return None if run is None else run.net_bps_per_fill
