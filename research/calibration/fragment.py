"""The calibrated market-maker settings as a `[strategy.market-maker]` settings fragment.

`fragment_text` writes the chosen keys (kebab-case, checked against `MarketMakerSection`:
a key the market maker does not have is refused, never written) under
`[strategy.market-maker]`, with the fitted A, k and sigma as comments. The market maker
fits A and k online (estimators.py, every intensity-refit-s over intensity-window-s); a
fragment that sets `intensity-a-per-s` and `intensity-k-per-tick` (`seed_keys`) seeds them
until its first own fit. `check_fragment` reads a fragment back through the strict loader's
types (`StrategySettings`).
"""

import tomllib
from collections.abc import Mapping, Sequence

import msgspec

from research.calibration.intensity import Calibration
from research.sweep.space import Value, toml_value
from services.strategy.settings import MarketMakerSection, StrategySettings

TABLE = "strategy.market-maker"


def market_maker_keys() -> frozenset[str]:
    """The `[strategy.market-maker]` keys (kebab-case)."""
    return frozenset(name.replace("_", "-") for name in MarketMakerSection.__struct_fields__)


def fit_comments(calibration: Calibration) -> list[str]:
    """A, k and sigma of a calibration as comment lines (unknown values said so)."""
    if calibration.a_per_s is None or calibration.k_per_tick is None:
        fit = f"A, k: not fitted ({calibration.refusal})"
    else:
        fit = (
            f"A = {calibration.a_per_s:.6g} per s, k = {calibration.k_per_tick:.6g} per tick"
            f" ({calibration.k_per_price:.6g} per price unit), R^2 = {calibration.r_squared:.3f}"
            f" over {calibration.fit_points} depth levels"
        )
    sigma = calibration.sigma_bps_per_sqrt_s
    vol = "sigma: unknown" if sigma is None else f"sigma = {sigma:.4g} bps per sqrt(s)"
    span = (
        f"from {calibration.duration_s:.1f} s, {calibration.trades} trades,"
        f" {calibration.steps} steps of {calibration.step_s:g} s, tick {calibration.tick:g}"
    )
    return [fit, vol, span, "(A and k seed the market maker until its own first fit online)"]


def seed_keys(calibration: Calibration) -> dict[str, Value]:
    """The fitted A and k as the keys that seed the market maker's intensity until its own
    first fit online (none when the fit was refused)."""
    if calibration.a_per_s is None or calibration.k_per_tick is None:
        return {}
    return {
        "intensity-a-per-s": round(calibration.a_per_s, 6),
        "intensity-k-per-tick": round(calibration.k_per_tick, 6),
    }


def fragment_text(values: Mapping[str, Value], comments: Sequence[str] = ()) -> str:
    """`# comment` lines, then `[strategy.market-maker]` with `values` (sorted keys)."""
    known = market_maker_keys()
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"not [{TABLE}] keys: {', '.join(unknown)}")
    head = [f"# {line}".rstrip() for line in comments]
    body = [f"{key} = {toml_value(values[key])}" for key in sorted(values)]
    return "\n".join([*head, f"[{TABLE}]", *body]) + "\n"


def check_fragment(text: str) -> MarketMakerSection:
    """The fragment's `[strategy.market-maker]` as the strategy would read it (ValueError
    when it is not one, or a value is out of its bounds)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"not TOML: {e}") from None
    strategy = document.get("strategy")
    if set(document) != {"strategy"} or not isinstance(strategy, dict):
        raise ValueError(f"a fragment holds one [{TABLE}] table only")
    if set(strategy) != {"market-maker"}:
        raise ValueError(f"a fragment holds one [{TABLE}] table only")
    try:
        settings = msgspec.convert({"metrics-port": 1, **strategy}, StrategySettings)
    except (msgspec.ValidationError, ValueError) as e:
        raise ValueError(f"[{TABLE}]: {e}") from None
    return settings.market_maker
