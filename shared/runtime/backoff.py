"""Capped exponential backoff with jitter, as a sequence of delays."""

import random
from collections.abc import Iterator


def backoff_delays(
    initial_s: float, max_s: float, *, jitter: float = 0.2, rng: random.Random | None = None
) -> Iterator[float]:
    """Yield delays initial_s, 2x, 4x ... capped at max_s, each scaled by 1 +/- jitter.

    `jitter` is a fraction (0.2 = +/-20%), so many clients that failed together do not
    retry together. The sequence is endless: the caller decides when to give up.
    """
    if initial_s <= 0 or max_s < initial_s:
        raise ValueError(f"need 0 < initial_s <= max_s, got {initial_s=} {max_s=}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    rng = rng or random.Random()
    delay = initial_s
    while True:
        yield min(max_s, delay) * (1 + rng.uniform(-jitter, jitter))
        delay = min(max_s, delay * 2)
