"""Fault decisions, drawn from one seeded RNG so a run is reproducible."""

import random
from dataclasses import dataclass, field

from services.simulator.settings import Faults


@dataclass
class FaultInjector:
    """The current fault switches and counters of what was injected."""

    faults: Faults
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    injected: dict[str, int] = field(default_factory=dict)

    def hit(self, name: str, rate: float) -> bool:
        """Return True (and count it) with probability `rate`."""
        if rate <= 0.0 or self.rng.random() >= rate:
            return False
        self.injected[name] = self.injected.get(name, 0) + 1
        return True

    def count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1
