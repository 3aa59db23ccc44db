"""Guards (stage 1): from observations to a level (NONE, SOFT, HARD), its reasons and scope.

SOFT widens the spread (x soft-widen-ratio, still inside the bounds) and shrinks the size
(x soft-size-ratio). HARD cancels the quotes of the symbol (scope SYMBOL) or of every symbol
(scope ALL), stops quoting (size factor 0) and alerts.

| check                     | SOFT when                | HARD when                     | scope  |
|---------------------------|--------------------------|-------------------------------|--------|
| symbol inventory (USDT)   | > max-symbol-inventory   | > that x inventory-hard-ratio | SYMBOL |
| total inventory (USDT)    | > max-total-inventory    | > that x inventory-hard-ratio | ALL    |
| realised loss over window | ≥ window-loss-soft-usdt  | ≥ window-loss-hard-usdt       | SYMBOL |
| order-to-ack p95 (ms)     | ≥ ack-p95-soft-ms        | ≥ ack-p95-hard-ms             | ALL    |
| feed age (ms)             |                          | > feed-stale-ms, or None      | SYMBOL |
| book crossed or locked    |                          | yes                           | SYMBOL |
| reject rate over window   | ≥ reject-rate-soft-ratio | ≥ reject-rate-hard-ratio      | ALL    |
| venue circuit breaker     |                          | open                          | ALL    |
| daily loss (USDT)         | ≥ daily-loss-soft-usdt   | ≥ daily-loss-hard-usdt        | ALL    |

Every check is a threshold on one input, so the level is monotone: a worse input never
gives a lower level. An unknown ack p95 (None: no acks yet) gives no latency reason (the
spread's latency score already treats it as the worst); an unknown feed age is stale.
"""

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final

from services.strategy.mm.settings import MarketMakerSettings


class Level(IntEnum):
    NONE = 0
    SOFT = 1
    HARD = 2


class Scope(StrEnum):
    SYMBOL = "symbol"
    ALL = "all"


# Reasons (metric labels; constants, so the hot path does not format).
SYMBOL_INVENTORY = "symbol_inventory"
TOTAL_INVENTORY = "total_inventory"
WINDOW_LOSS = "window_loss"
ACK_LATENCY = "ack_latency"
FEED_STALE = "feed_stale"
BOOK_CROSSED = "book_crossed"
REJECT_RATE = "reject_rate"
CIRCUIT_BREAKER = "circuit_breaker"
DAILY_LOSS = "daily_loss"
_ALL_SCOPE = frozenset({TOTAL_INVENTORY, ACK_LATENCY, REJECT_RATE, CIRCUIT_BREAKER, DAILY_LOSS})


@dataclass(frozen=True, slots=True)
class Observations:
    """One symbol's view of its risks at one instant (losses are positive numbers)."""

    symbol_inventory_usdt: float  # |position| · mid
    total_inventory_usdt: float  # Σ |position| · mid over the symbols
    window_loss_usdt: float  # realised loss over pnl-window-s (a gain: ≤ 0)
    daily_loss_usdt: float  # realised + unrealised loss since the UTC day began
    ack_p95_ms: float | None  # None: no acks in the window
    feed_age_ms: float | None  # since the last book update; None: never had one
    book_crossed: bool
    reject_rate_ratio: float  # rejected / sent over reject-window-s (0 when none sent)
    circuit_breaker_open: bool


@dataclass(frozen=True, slots=True)
class Decision:
    level: Level
    reasons: tuple[str, ...]  # every check at SOFT or HARD, in table order
    scope: Scope  # ALL when a HARD reason (or, at SOFT, any reason) concerns every symbol
    spread_widen_ratio: float  # ≥ 1
    size_ratio: float  # in [0, 1]; 0: do not quote
    alert: bool  # HARD


_CALM: Final = Decision(Level.NONE, (), Scope.SYMBOL, 1.0, 1.0, alert=False)  # immutable


def _ramp(value: float, soft: float, hard: float) -> Level:
    if value >= hard:
        return Level.HARD
    return Level.SOFT if value >= soft else Level.NONE


def _over(value: float, limit: float, hard_ratio: float) -> Level:
    if value > limit * hard_ratio:
        return Level.HARD
    return Level.SOFT if value > limit else Level.NONE


def _feed_level(obs: Observations, stale_ms: float) -> list[tuple[str, Level]]:
    stale = obs.feed_age_ms is None or obs.feed_age_ms > stale_ms
    return [
        (FEED_STALE, Level.HARD if stale else Level.NONE),
        (BOOK_CROSSED, Level.HARD if obs.book_crossed else Level.NONE),
    ]


def check_levels(obs: Observations, settings: MarketMakerSettings) -> list[tuple[str, Level]]:
    """Return every check's (reason, level), in the table's order."""
    s = settings
    ack = (
        Level.NONE
        if obs.ack_p95_ms is None
        else _ramp(obs.ack_p95_ms, s.ack_p95_soft_ms, s.ack_p95_hard_ms)
    )
    return [
        (
            SYMBOL_INVENTORY,
            _over(obs.symbol_inventory_usdt, s.max_symbol_inventory_usdt, s.inventory_hard_ratio),
        ),
        (
            TOTAL_INVENTORY,
            _over(obs.total_inventory_usdt, s.max_total_inventory_usdt, s.inventory_hard_ratio),
        ),
        (
            WINDOW_LOSS,
            _ramp(obs.window_loss_usdt, s.window_loss_soft_usdt, s.window_loss_hard_usdt),
        ),
        (ACK_LATENCY, ack),
        *_feed_level(obs, s.feed_stale_ms),
        (
            REJECT_RATE,
            _ramp(obs.reject_rate_ratio, s.reject_rate_soft_ratio, s.reject_rate_hard_ratio),
        ),
        (CIRCUIT_BREAKER, Level.HARD if obs.circuit_breaker_open else Level.NONE),
        (DAILY_LOSS, _ramp(obs.daily_loss_usdt, s.daily_loss_soft_usdt, s.daily_loss_hard_usdt)),
    ]


def decide(obs: Observations, settings: MarketMakerSettings) -> Decision:
    """Return the guards' decision for one symbol (see the module docstring's table)."""
    checks = [(reason, level) for reason, level in check_levels(obs, settings) if level]
    if not checks:  # the usual cycle
        return _CALM
    level = max((lvl for _, lvl in checks), default=Level.NONE)
    scoped = [reason for reason, lvl in checks if lvl == level]
    scope = Scope.ALL if any(r in _ALL_SCOPE for r in scoped) else Scope.SYMBOL
    reasons = tuple(reason for reason, _ in checks)
    if level == Level.HARD:
        return Decision(level, reasons, scope, settings.soft_widen_ratio, 0.0, alert=True)
    if level == Level.SOFT:
        return Decision(
            level, reasons, scope, settings.soft_widen_ratio, settings.soft_size_ratio, False
        )
    return Decision(level, reasons, Scope.SYMBOL, 1.0, 1.0, alert=False)
