"""What one backtest runs with: the services' own sections, the venue's knobs, latencies.

`load_settings` reads a settings.toml as the system does (migrated, strict): [strategy],
[executor] and [feed] become the services' own settings classes, and [simulator] gives the
fees, the starting balance and the queue model, unless the command line says otherwise.
`--set key=value` overrides a [strategy] key (kebab-case; the value is read as TOML, else
taken as a string), and is checked as strictly as the file.
"""

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import msgspec
import msgspec.inspect as mi

from services.executor.settings import ExecutorSettings
from services.feed.settings import FeedSettings
from services.simulator.settings import SimulatorSettings
from services.strategy.settings import StrategySettings
from shared.settings import SettingsError, read_settings

NS_PER_MS = 1_000_000
QueueModel = Literal["risk-averse", "probabilistic"]


@dataclass(frozen=True, slots=True)
class Latency:
    """A latency in ns: `constant_ns`, or drawn (seeded) from `samples_ns` when given."""

    constant_ns: int = 0
    samples_ns: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.constant_ns < 0 or any(s < 0 for s in self.samples_ns):
            raise ValueError("a latency cannot be negative")

    def describe(self) -> str:
        if self.samples_ns:
            return f"{len(self.samples_ns)} samples"
        return f"{self.constant_ns / NS_PER_MS:g} ms"


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestSettings:
    """Everything a run depends on besides its data (the report echoes it).

    `symbol` is the run's first symbol (the scalper's one, the report's name) and
    `more_symbols` the others a market maker quotes alongside (each its own feed session,
    as `[feed] symbols` serves them live); `symbols` is all of them, in that order.
    """

    symbol: str
    more_symbols: tuple[str, ...] = ()
    strategy: StrategySettings
    executor: ExecutorSettings
    feed: FeedSettings
    starting_balance: Decimal = Decimal(100_000)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.00055")
    queue_model: QueueModel = "risk-averse"
    queue_power: float = 2.0
    seed: int = 1
    feed_latency_ns: int = 0  # venue time of a frame = its receive time - this
    entry_latency: Latency = field(default_factory=Latency)  # strategy -> venue
    response_latency: Latency = field(default_factory=Latency)  # venue -> strategy
    timer_interval_ns: int = 20 * NS_PER_MS  # the live loop's upkeep period
    equity_interval_ns: int = 60_000 * NS_PER_MS  # one equity point a minute (and per fill)

    def __post_init__(self) -> None:
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"a symbol is given twice: {', '.join(self.symbols)}")
        if self.feed_latency_ns < 0:
            raise ValueError("feed latency cannot be negative")
        if self.timer_interval_ns <= 0 or self.equity_interval_ns <= 0:
            raise ValueError("timer and equity intervals must be positive")

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol of the run: `symbol` first, then `more_symbols`."""
        return (self.symbol, *self.more_symbols)


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` pairs as a dict (kebab-case keys; values read as TOML, else strings).

    A dotted key (`market-maker.min-spread-bps`) stays one dotted key here: `_section` merges
    it into that table of the file, where a whole table (`market-maker={...}`) replaces it."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = ".".join(part.strip() for part in key.strip().replace("_", "-").split("."))
        if not sep or not key or "" in key.split("."):
            raise SettingsError(f"--set {pair!r}: expected key=value (or table.key=value)")
        try:
            out[key] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = text.strip()
    return out


def _section(
    document: Mapping[str, Any], name: str, kind: type[Any], extra: Mapping[str, Any]
) -> Any:
    """The file's [name] section with the overrides `extra` (in their order: a plain key
    replaces the file's value, a table's included; a dotted key sets that one key of the
    table, keeping its other keys), decoded as strictly as the live loader."""
    values: dict[str, Any] = {"metrics-port": 1, **document.get(name, {})}
    for key, value in extra.items():
        *path, last = key.split(".")
        _table(values, path, kind, name, key)[last] = value
    try:
        return msgspec.convert(values, kind)
    except (msgspec.ValidationError, ValueError) as e:
        raise SettingsError(f"[{name}]: {e}") from None


def _table(
    values: dict[str, Any], path: Sequence[str], kind: type[Any], name: str, key: str
) -> dict[str, Any]:
    """The table a dotted `--set key` writes into, copied (the document is never changed);
    one the file lacks starts empty when `kind` has a table there, else the key refuses."""
    table = values
    for depth, part in enumerate(path):
        inner = table.get(part)
        where = ".".join(path[: depth + 1])
        if inner is None and depth == 0:
            field = _field_type(kind, part)
            if field is None:
                raise SettingsError(f"--set {key}: [{name}] has no key {part!r}")
            if not isinstance(field, mi.StructType | mi.DictType):
                raise SettingsError(f"--set {key}: {where} is not a table of [{name}]")
        if inner is not None and not isinstance(inner, dict):
            raise SettingsError(f"--set {key}: {where} is not a table (it is {inner!r})")
        copied = dict(inner or {})
        table[part] = copied
        table = copied
    return table


def _field_type(kind: type[Any], key: str) -> mi.Type | None:
    """The type of the settings class `kind`'s field `key` (kebab-case), None if it has none."""
    info = mi.type_info(kind)
    fields = info.fields if isinstance(info, mi.StructType) else ()
    return next((f.type for f in fields if f.encode_name == key), None)


def load_settings(
    path: Path, symbol: str | Sequence[str], overrides: Sequence[str] = (), **knobs: Any
) -> BacktestSettings:
    """The backtest's settings from a settings file, `--set` overrides and knobs (the
    BacktestSettings fields the command line gives; None: from the file). `symbol` is the
    run's symbol, or its symbols in order (the first is `BacktestSettings.symbol`)."""
    first, *more = (symbol,) if isinstance(symbol, str) else symbol
    document = read_settings(path).document
    strategy = _section(document, "strategy", StrategySettings, parse_overrides(overrides))
    simulator = _section(document, "simulator", SimulatorSettings, {})
    from_file: dict[str, Any] = {
        "starting_balance": Decimal(str(simulator.starting_balance_usdt)),
        "maker_fee": Decimal(str(simulator.maker_fee_rate)),
        "taker_fee": Decimal(str(simulator.taker_fee_rate)),
        "queue_model": simulator.queue_model,
        "queue_power": simulator.queue_power,
    }
    given = {k: v for k, v in knobs.items() if v is not None}
    return BacktestSettings(
        symbol=first,
        more_symbols=tuple(more),
        strategy=strategy,
        executor=_section(document, "executor", ExecutorSettings, {}),
        feed=_section(document, "feed", FeedSettings, {}),
        **{**from_file, **given},
    )
