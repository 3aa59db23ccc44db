"""The taker cap (stage 5): taker fills per rolling hour, lower in volatile regimes.

The regime comes from the spread's volatility score v in [0, 1]: calm when
v < calm-below-score-ratio, volatile when v ≥ volatile-from-score-ratio, normal between
(an unknown sigma scores 1: volatile). The cap is taker-cap-{calm,normal,volatile}-fills
(75 / 50 / 30 by default, the audited bot's 30-75 range). A take is allowed while fewer
than the current cap's taker fills lie in the hour (now - 1 h, now]. Memory is bounded:
only the last max-cap fill times are kept, enough to decide against any cap.
"""

from collections import deque
from enum import StrEnum

from services.strategy.mm.settings import MarketMakerSettings

HOUR_NS = 3_600 * 1_000_000_000


class Regime(StrEnum):
    CALM = "calm"
    NORMAL = "normal"
    VOLATILE = "volatile"


def regime_of(volatility_score: float, settings: MarketMakerSettings) -> Regime:
    """Return the volatility regime of a volatility score (NaN counts as volatile)."""
    if not volatility_score < settings.volatile_from_score_ratio:
        return Regime.VOLATILE
    return Regime.CALM if volatility_score < settings.calm_below_score_ratio else Regime.NORMAL


class TakerCap:
    """Counts taker fills over a rolling hour and says whether another take is allowed."""

    def __init__(self, settings: MarketMakerSettings) -> None:
        self._caps = {
            Regime.CALM: settings.taker_cap_calm_fills,
            Regime.NORMAL: settings.taker_cap_normal_fills,
            Regime.VOLATILE: settings.taker_cap_volatile_fills,
        }
        self._settings = settings
        self._fills_ns: deque[int] = deque(maxlen=max(self._caps.values()))
        self.regime = Regime.VOLATILE  # until a volatility score is known

    @property
    def cap_fills(self) -> int:
        """Return the current regime's cap (taker fills per rolling hour)."""
        return self._caps[self.regime]

    def set_volatility_score(self, volatility_score: float) -> None:
        """Move to the regime of `volatility_score` (spread.SpreadScores.volatility)."""
        self.regime = regime_of(volatility_score, self._settings)

    def fills_last_hour(self, now_ns: int) -> int:
        """Return the taker fills in (now - 1 h, now] (at most the largest cap)."""
        fills = self._fills_ns
        while fills and fills[0] <= now_ns - HOUR_NS:
            fills.popleft()
        return len(fills)

    def may_take(self, now_ns: int) -> bool:
        """Return whether one more taker fill keeps the hour within the current cap."""
        return self.fills_last_hour(now_ns) < self.cap_fills

    def note_taker_fill(self, now_ns: int) -> None:
        """Record one taker fill at `now_ns` (times must not go backwards)."""
        self._fills_ns.append(now_ns)
