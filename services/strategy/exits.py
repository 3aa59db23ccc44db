"""When to close a position: stop-loss, take-profit (percent of the entry) and holding time.

Checked on every quote with the price we would get: the bid for a long, the ask for a short.
"""

from dataclasses import dataclass

from services.strategy.signals import TopOfBook

STOP_LOSS = "stop_loss"
TAKE_PROFIT = "take_profit"
MAX_HOLD = "max_hold"


@dataclass(frozen=True, slots=True)
class ExitLevels:
    is_long: bool
    stop_price: float
    take_price: float
    deadline_ns: int  # the position is closed at this time whatever the price


def exit_levels(
    is_long: bool,
    entry_price: float,
    stop_loss_pct: float,
    take_profit_pct: float,
    deadline_ns: int,
) -> ExitLevels:
    """Return the exit prices around `entry_price`: a long's stop below it, a short's above."""
    stop_move = entry_price * stop_loss_pct / 100.0
    take_move = entry_price * take_profit_pct / 100.0
    if is_long:
        return ExitLevels(True, entry_price - stop_move, entry_price + take_move, deadline_ns)
    return ExitLevels(False, entry_price + stop_move, entry_price - take_move, deadline_ns)


def exit_reason(levels: ExitLevels, top: TopOfBook | None, now_ns: int) -> str | None:
    """Return why the position must be closed now, or None to keep holding it."""
    if now_ns >= levels.deadline_ns:
        return MAX_HOLD
    if top is None:
        return None
    if levels.is_long:
        if top.bid <= levels.stop_price:
            return STOP_LOSS
        return TAKE_PROFIT if top.bid >= levels.take_price else None
    if top.ask >= levels.stop_price:
        return STOP_LOSS
    return TAKE_PROFIT if top.ask <= levels.take_price else None
