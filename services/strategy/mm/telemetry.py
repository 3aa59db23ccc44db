"""What the market maker exposes for a metrics exporter: a plain dict, no Prometheus here.

`Telemetry` collects as the core runs (stage durations, guard triggers, scores, fills) and
`snapshot` returns it as plain data; the stage-latency, net-bps and slippage samples are
the ones since the previous snapshot (bounded: the oldest go first, counted as dropped).
"""

from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from services.strategy.mm import guards
from services.strategy.mm.pipeline import STAGES
from services.strategy.mm.spread import AdaptiveSpread
from shared.schema import OrderSide, Symbol

MAX_SAMPLES: Final = 10_000
BPS: Final = 10_000.0


def _samples() -> deque[float]:
    return deque(maxlen=MAX_SAMPLES)


@dataclass(slots=True)
class Telemetry:
    stage_ns: dict[str, deque[float]] = field(
        default_factory=lambda: {stage: _samples() for stage in STAGES}
    )
    guard_triggers: Counter[str] = field(default_factory=Counter)  # "<LEVEL>:<reason>"
    scores: dict[Symbol, dict[str, float]] = field(default_factory=dict)
    guard_reasons: dict[Symbol, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    fills: Counter[str] = field(default_factory=Counter)  # maker, taker
    net_bps: deque[float] = field(default_factory=_samples)  # per fill, fee included
    slippage_bps: deque[float] = field(default_factory=_samples)  # taker fills vs the mid
    quotes_sent: int = 0
    dropped_samples: int = 0

    def stage(self, name: str, duration_ns: int) -> None:
        self._keep(self.stage_ns[name], float(duration_ns))

    def cycle(self, symbol: Symbol, decision: guards.Decision, spread: AdaptiveSpread) -> None:
        """Count guard reasons as they appear (per level), keep the scores."""
        scores = spread.scores
        self.scores[symbol] = {
            "volatility": scores.volatility,
            "liquidity": scores.liquidity,
            "latency": scores.latency,
            "pnl": scores.pnl,
            "spread_bps": spread.spread_bps,
        }
        now = (int(decision.level), decision.reasons)
        before = self.guard_reasons.get(symbol, (0, ()))
        if now != before:
            self.guard_reasons[symbol] = now
            if decision.level:
                new = [r for r in decision.reasons if now[0] != before[0] or r not in before[1]]
                for reason in new:
                    self.guard_triggers[f"{decision.level.name}:{reason}"] += 1

    def fill(
        self, fill: tuple[OrderSide, Decimal, Decimal, Decimal], mid: float | None, *, maker: bool
    ) -> None:
        """One fill (side, qty, price, fee): maker/taker count, net bps, a taker's slippage."""
        side, qty, price, fee = fill
        self.fills["maker" if maker else "taker"] += 1
        if mid is None or mid <= 0 or qty <= 0:
            return
        edge = (mid - float(price)) if side is OrderSide.BUY else (float(price) - mid)
        edge_bps = edge / mid * BPS
        fee_bps = float(fee) / (float(qty) * float(price)) * BPS
        self._keep(self.net_bps, edge_bps - fee_bps)
        if not maker:
            self._keep(self.slippage_bps, -edge_bps)

    def _keep(self, samples: deque[float], value: float) -> None:
        if len(samples) == samples.maxlen:
            self.dropped_samples += 1
        samples.append(value)

    def snapshot(self) -> dict[str, Any]:
        """The plain-dict view; sample lists are emptied (since the last snapshot)."""
        fills = self.fills["maker"] + self.fills["taker"]
        out: dict[str, Any] = {
            "stage_latency_ns": {k: _take(v) for k, v in self.stage_ns.items()},
            "guard_triggers": dict(sorted(self.guard_triggers.items())),
            "spread_scores": {s: dict(v) for s, v in sorted(self.scores.items())},
            "fills": {"maker": self.fills["maker"], "taker": self.fills["taker"]},
            "taker_share": None if not fills else self.fills["taker"] / fills,
            "fill_ratio": None if not self.quotes_sent else fills / self.quotes_sent,
            "net_bps_per_fill": _take(self.net_bps),
            "slippage_bps": _take(self.slippage_bps),
            "dropped_samples": self.dropped_samples,
        }
        return out


def _take(samples: deque[float]) -> list[float]:
    out = list(samples)
    samples.clear()
    return out
