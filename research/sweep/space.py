"""What a sweep varies: `--param` specs read against the strategy's settings class.

A spec is `key=lo:hi` (a range; integers for an integer key), `key=lo:hi:step` (a range on a
grid), or `key=a,b,c` (choices). The key is a `[strategy]` key of `StrategySettings`
(kebab-case, as in deploy/settings.toml), or a `[strategy.market-maker]` key of
`MarketMakerSection` written dotted, `market-maker.min-spread-bps` (the form `--set` takes,
so a swept value reaches the trial as any override does). Every bound, step and choice is
checked against that key's own type and limits, so a bad name or value refuses before any
trial runs, with the key and the reason. `grid_space` enumerates the values of a grid sweep
(`--grid`): each range needs a step, and values are computed in decimal so 0.00001 steps
stay exact.
"""

import typing
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from services.strategy.settings import MarketMakerSection, StrategySettings

Value = int | float | str | bool
NOT_SWEPT: Final = frozenset({"metrics-port", "log-level"})  # not the strategy's behaviour
MARKET_MAKER: Final = "market-maker"  # the dotted keys' prefix: [strategy.market-maker]


class SpaceError(ValueError):
    """A `--param` that cannot be swept; the message names the key and the reason."""


@dataclass(frozen=True, slots=True)
class Field:
    """A sweepable key (`vwap-trades`, `market-maker.min-spread-bps`): its kind (int, float,
    str or bool) and full type, with the limits the loader checks."""

    key: str
    kind: type[Value]
    annotation: Any
    default: Value


@dataclass(frozen=True, slots=True)
class Range:
    """`key=lo:hi[:step]` of an int or float key (bounds included)."""

    key: str
    kind: type[int] | type[float]
    low: Decimal
    high: Decimal
    step: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Choices:
    """`key=a,b,c`: these values only."""

    key: str
    values: tuple[Value, ...]


Param = Range | Choices
_KINDS: Final[dict[type[Any], type[Value]]] = {
    mi.IntType: int,
    mi.FloatType: float,
    mi.StrType: str,
    mi.BoolType: bool,
}


def sweepable() -> dict[str, Field]:
    """The keys a sweep can vary, by kebab-case key: the scalar [strategy] keys, then the
    scalar [strategy.market-maker] keys as `market-maker.<key>`."""
    return {
        **_scalar_fields(StrategySettings, prefix=""),
        **_scalar_fields(MarketMakerSection, prefix=f"{MARKET_MAKER}."),
    }


def _scalar_fields(settings: type[Any], prefix: str) -> dict[str, Field]:
    """The int, float, str and bool fields of a settings class (a Literal, an optional or a
    list is not a sweepable scalar), keyed `prefix + kebab-case name`."""
    hints = typing.get_type_hints(settings, include_extras=True)
    info = mi.type_info(settings)
    assert isinstance(info, mi.StructType)
    out: dict[str, Field] = {}
    for f in info.fields:
        kind = _KINDS.get(type(f.type))
        if kind is None or f.encode_name in NOT_SWEPT:
            continue
        key = prefix + f.encode_name
        out[key] = Field(key, kind, hints[f.name], f.default)
    return out


def known_keys() -> str:
    """The sweepable keys, comma-separated, for help texts and refusals."""
    return ", ".join(sweepable())


def parse_param(spec: str) -> Param:
    """One `--param` spec, checked against the settings class (SpaceError otherwise)."""
    key, sep, text = spec.partition("=")
    key = key.strip().replace("_", "-")
    if not sep or not key or not text.strip():
        raise SpaceError(f"--param {spec!r}: expected key=lo:hi[:step] or key=a,b,c")
    fields = sweepable()
    field = fields.get(key)
    if field is None:
        raise SpaceError(
            f"--param {key}: not a sweepable [strategy] key nor {MARKET_MAKER}.KEY"
            f" (known: {known_keys()})"
        )
    text = text.strip()
    if ":" in text:
        return _range(field, text)
    values = tuple(_value(field, part.strip()) for part in text.split(","))
    if len(set(values)) != len(values):
        raise SpaceError(f"--param {key}: a choice is given twice in {text!r}")
    return Choices(key, values)


def parse_params(specs: Sequence[str]) -> tuple[Param, ...]:
    """Several specs; a key given twice refuses."""
    params = tuple(parse_param(s) for s in specs)
    keys = [p.key for p in params]
    for key in keys:
        if keys.count(key) > 1:
            raise SpaceError(f"--param {key}: given more than once")
    return params


def _range(field: Field, text: str) -> Range:
    if field.kind not in (int, float):
        raise SpaceError(f"--param {field.key}: a {field.kind.__name__} key takes choices a,b,c")
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SpaceError(f"--param {field.key}: expected lo:hi or lo:hi:step, got {text!r}")
    low, high = (_number(field, p.strip()) for p in parts[:2])
    step = _number(field, parts[2].strip(), bound=False) if len(parts) == 3 else None
    if low >= high:
        raise SpaceError(f"--param {field.key}: lo ({low}) must be below hi ({high})")
    if step is not None and (step <= 0 or step > high - low):
        raise SpaceError(f"--param {field.key}: step {step} must be > 0 and <= hi - lo")
    kind: type[int] | type[float] = int if field.kind is int else float
    return Range(field.key, kind, low, high, step)


def _number(field: Field, text: str, *, bound: bool = True) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise SpaceError(f"--param {field.key}: not a number: {text!r}") from None
    if not number.is_finite():
        raise SpaceError(f"--param {field.key}: not a finite number: {text!r}")
    if field.kind is int and number != number.to_integral_value():
        raise SpaceError(f"--param {field.key}: an integer key, got {text!r}")
    if bound:
        _check(field, int(number) if field.kind is int else float(number))
    return number


def _value(field: Field, text: str) -> Value:
    value: Value
    if field.kind is bool:
        if text not in ("true", "false"):
            raise SpaceError(f"--param {field.key}: expected true or false, got {text!r}")
        value = text == "true"
    elif field.kind is str:
        value = text
    else:
        number = _number(field, text, bound=False)
        value = int(number) if field.kind is int else float(number)
    _check(field, value)
    return value


def _check(field: Field, value: Value) -> None:
    """The value against the key's own type and limits (msgspec's reason)."""
    try:
        msgspec.convert(value, field.annotation)
    except msgspec.ValidationError as e:
        raise SpaceError(f"--param {field.key}: {value!r} refused: {e}") from None


def range_values(param: Range) -> tuple[int | float, ...]:
    """The grid of a stepped range: lo, lo + step, ... up to hi (included when on the grid)."""
    if param.step is None:
        raise SpaceError(f"--param {param.key}: a grid needs a step (lo:hi:step) or choices")
    count = int((param.high - param.low) / param.step) + 1
    points = (param.low + k * param.step for k in range(count))
    return tuple(int(v) if param.kind is int else float(v) for v in points)


def grid_space(params: Sequence[Param]) -> dict[str, list[Value]]:
    """Every key's grid values, for optuna's GridSampler."""
    return {p.key: list(range_values(p) if isinstance(p, Range) else p.values) for p in params}


def grid_size(params: Sequence[Param]) -> int:
    """How many points the grid of these params has."""
    size = 1
    for values in grid_space(params).values():
        size *= len(values)
    return size


def toml_value(value: Value) -> str:
    """A value as TOML text (for `--set` overrides and the settings fragment)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return '"' + "".join(_toml_char(c) for c in value) + '"'


def _toml_char(c: str) -> str:
    """One character of a TOML basic string: quotes, backslashes and controls escaped."""
    if c in ('"', "\\"):
        return "\\" + c
    if ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\u{ord(c):04x}"
    return c
