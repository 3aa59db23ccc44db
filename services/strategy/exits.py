"""When to close a position: stop-loss, take-profit (percent of the entry) and holding time.

Checked on every quote with the price we would get: the bid for a long, the ask for a short.
`Holding` is the scalper's part that keeps the levels of the position held and the time a
failed exit may be retried (see core.py for how the parts fit); the functions are pure.
"""

from dataclasses import dataclass
from decimal import Decimal

from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S, TopOfBook

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


class Holding:
    """The exit levels of the position held (None: not armed) and the exit retry time."""

    def __init__(self, settings: StrategySettings) -> None:
        self.levels: ExitLevels | None = None
        self.next_exit_ns = 0  # a failed exit is retried no sooner
        self._stop_loss_pct = settings.stop_loss_pct
        self._take_profit_pct = settings.take_profit_pct
        self._retry_ns = int(settings.exit_retry_s * NS_PER_S)
        self._hold_ns = int(settings.max_hold_s * NS_PER_S)

    def arm(
        self, qty: Decimal, entry_price: Decimal | None, now_ns: int, *, keep_deadline: bool
    ) -> None:
        """Set the levels of the position `qty` at `entry_price` (the deadline kept if asked)."""
        entry = float(entry_price) if entry_price is not None else 0.0
        deadline = now_ns + self._hold_ns
        if keep_deadline and self.levels is not None:
            deadline = self.levels.deadline_ns
        is_long = qty > 0
        if entry <= 0:  # no price to measure from: only the holding time applies
            far = float("inf")
            self.levels = ExitLevels(
                is_long, -far if is_long else far, far if is_long else -far, deadline
            )
            return
        self.levels = exit_levels(
            is_long, entry, self._stop_loss_pct, self._take_profit_pct, deadline
        )

    def clear(self) -> None:
        """Flat, or another position: the next one's holding time is its own."""
        self.levels = None

    def hold_off(self, now_ns: int) -> None:
        """An exit failed (or left a rest): the next is not sent before the retry time."""
        self.next_exit_ns = now_ns + self._retry_ns

    def must_wait(self, now_ns: int) -> bool:
        return now_ns < self.next_exit_ns
