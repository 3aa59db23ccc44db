"""Fuzz every boundary where outside bytes enter a process, and count what comes out.

Drives FRAMES mutated frames in all (FRAMES_QUICK with --quick), split evenly over the
boundaries of tests.helpers.fuzz_targets: bus decode_frames, the command PULL's receiver,
the snapshot ROUTER and DEALER paths, the public and private websocket channels, the
stream's control replies, and REST bodies; and the two of tests.helpers.fuzz_consumers
that go on past decoding: the feed's book and trades (`feed_frames`) and the executor's
reports applied on a real journal (`executor_reports`, SQLite NORMAL in a temporary
directory: about 30 us a frame, so it takes its full share). Each boundary's seeds are real
frames (the captures in tests/fixtures/bybit; encoded samples of every bus message), mutated
deterministically by a seeded random.Random (tests.helpers.mutations: byte flips,
truncations, insertions, invalid UTF-8, hostile values, deep nesting).

Results: `fuzz.uncaught` (anything that escaped a boundary; the target is 0),
`fuzz.drops.<boundary>.<reason>` and `fuzz.accepted.<boundary>` (what the boundary did),
`fuzz.<boundary>.frames_per_s` (time in the boundary only) and `fuzz.frames_per_s` (all
of it, mutation included). Progress goes to stderr.
"""

import logging
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

from tests.helpers.fuzz_consumers import all_boundaries
from tests.helpers.fuzz_targets import Boundary
from tests.helpers.mutations import mutate, random_mutations

Result = dict[str, Any]
FRAMES: Final = 1_000_000
FRAMES_QUICK: Final = 20_000
SEED: Final = 12
PROGRESS_EVERY_S: Final = 5.0
SHOWN_ESCAPES: Final = 5  # the first few escapes are printed on stderr in full


class Tally:
    """What one boundary did with its share of the frames."""

    def __init__(self, boundary: Boundary) -> None:
        self.boundary = boundary
        self.outcomes: Counter[str] = Counter()
        self.uncaught: Counter[str] = Counter()
        self.frames = 0
        self.busy_s = 0.0


def _drive(tally: Tally, count: int, progress: "Progress") -> None:
    boundary = tally.boundary
    rng = random.Random(SEED ^ zlib.crc32(boundary.name.encode()))
    seeds, fmt, feed = boundary.seeds, boundary.fmt, boundary.feed
    clock = time.perf_counter
    for _ in range(count):
        index = rng.randrange(len(seeds))
        data = mutate(seeds[index], random_mutations(rng), fmt)
        started = clock()
        try:
            outcome = feed(index, data)
        except Exception as e:  # noqa: BLE001 -- what the benchmark measures: every escape, counted
            tally.uncaught[type(e).__name__] += 1
            if sum(tally.uncaught.values()) <= SHOWN_ESCAPES:
                print(f"fuzz: ESCAPE {boundary.name}: {e!r} data={data[:200]!r}", file=sys.stderr)
        else:
            for reason in (outcome or "accepted").split(","):
                tally.outcomes[reason] += 1
        tally.busy_s += clock() - started
        tally.frames += 1
        progress.tick()


class Progress:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._next = self.started + PROGRESS_EVERY_S
        self.boundary = ""

    def tick(self) -> None:
        self.done += 1
        if self.done & 1023 == 0 and (now := time.monotonic()) >= self._next:
            self._next = now + PROGRESS_EVERY_S
            rate = self.done / (now - self.started)
            print(
                f"fuzz: {self.done:,}/{self.total:,} frames ({rate:,.0f}/s) at {self.boundary}",
                file=sys.stderr,
                flush=True,
            )


def run(quick: bool) -> Iterator[Result]:
    total = FRAMES_QUICK if quick else FRAMES
    boundaries = all_boundaries()
    share, extra = divmod(total, len(boundaries))
    progress = Progress(total)
    tallies = [Tally(b) for b in boundaries]
    logging.disable(logging.CRITICAL)  # each drop logs a line: a million would be the bench
    try:
        for i, tally in enumerate(tallies):
            progress.boundary = tally.boundary.name
            _drive(tally, share + (1 if i < extra else 0), progress)
    finally:
        logging.disable(logging.NOTSET)
    elapsed_s = time.monotonic() - progress.started
    uncaught = sum(sum(t.uncaught.values()) for t in tallies)
    yield {"name": "fuzz.frames", "value": progress.done, "unit": "frames"}
    yield {"name": "fuzz.uncaught", "value": uncaught, "unit": "frames"}
    yield {"name": "fuzz.frames_per_s", "value": round(progress.done / elapsed_s), "unit": "1/s"}
    for tally in tallies:
        name = tally.boundary.name
        rate = tally.frames / tally.busy_s if tally.busy_s else 0.0
        yield {"name": f"fuzz.{name}.frames_per_s", "value": round(rate), "unit": "1/s"}
        for kind, count in sorted(tally.uncaught.items()):
            yield {"name": f"fuzz.uncaught.{name}.{kind}", "value": count, "unit": "frames"}
        accepted = tally.outcomes.pop("accepted", 0)
        yield {"name": f"fuzz.accepted.{name}", "value": accepted, "unit": "frames"}
        for reason, count in sorted(tally.outcomes.items()):
            yield {"name": f"fuzz.drops.{name}.{reason}", "value": count, "unit": "frames"}
