"""Latency of the two order channels: strategy -> venue (entry) and venue -> strategy
(acknowledgements and reports), each a constant or a seeded draw from recorded samples.

A channel keeps its order, as the REST connection and the private stream do: a message
never overtakes one sent before it on the same channel, so a draw that would land earlier
than the previous arrival arrives with it (same ns; the engine's sequence keeps them in
order). The generator is `random.Random` seeded with the run's seed and the channel's
name: the same seed draws the same latencies.
"""

import random

from research.backtest.settings import Latency


class Channel:
    """Where a message sent at `now_ns` arrives (`arrival`), in order, deterministically."""

    def __init__(self, latency: Latency, seed: int, name: str) -> None:
        self._constant = latency.constant_ns
        self._samples = latency.samples_ns
        self._rng = random.Random(f"{seed}:{name}")  # str seeds hash the same in every run
        self._last_ns = 0

    def draw(self) -> int:
        """One latency in ns."""
        if self._samples:
            return self._samples[self._rng.randrange(len(self._samples))]
        return self._constant

    def arrival(self, now_ns: int) -> int:
        """When a message sent at `now_ns` arrives: now + a draw, never before the last one."""
        at = max(now_ns + self.draw(), self._last_ns)
        self._last_ns = at
        return at
