"""What every sender and receiver of one process shares: signer, clock and counters."""

from dataclasses import dataclass, field

from shared.bus.signing import Signer
from shared.bus.stats import BusStats
from shared.runtime.clock import Clock


@dataclass(frozen=True)
class BusContext:
    signer: Signer
    clock: Clock
    stats: BusStats = field(default_factory=BusStats)
