"""Per-sender sequence tracking: gaps, new incarnations, and the Clone pattern's floor."""

from dataclasses import dataclass, field
from enum import Enum

from shared.bus.frames import Header


class Verdict(Enum):
    IN_ORDER = "in_order"
    FIRST = "first"  # first frame heard from this sender (incarnation)
    GAP = "gap"  # frames were lost before this one: the view needs a snapshot
    RESTARTED = "restarted"  # a new incarnation of a known sender: the view needs a snapshot
    SUPERSEDED = "superseded"  # already contained in the snapshot applied: drop it


@dataclass
class _Track:
    incarnation: int
    last_seq: int
    floor: int = 0  # frames with seq <= floor are in an applied snapshot


@dataclass
class SequenceTracker:
    """Check each sender's frames arrive with consecutive `seq` within one incarnation."""

    _tracks: dict[str, _Track] = field(default_factory=dict)

    def check(self, header: Header) -> tuple[Verdict, int]:
        """Return the verdict on one frame and how many frames are missing before it."""
        track = self._tracks.get(header.sender)
        if track is None:
            self._tracks[header.sender] = _Track(header.incarnation, header.seq)
            return Verdict.FIRST, 0
        if track.incarnation != header.incarnation:
            self._tracks[header.sender] = _Track(header.incarnation, header.seq)
            return Verdict.RESTARTED, 0
        if header.seq <= track.floor:
            return Verdict.SUPERSEDED, 0
        expected = track.last_seq + 1
        track.last_seq = header.seq
        if header.seq == expected:
            return Verdict.IN_ORDER, 0
        if header.seq > expected:
            return Verdict.GAP, header.seq - expected
        # Older than what we had (e.g. a seq below an applied snapshot's floor was cleared).
        return Verdict.SUPERSEDED, 0

    def apply_snapshot(self, sender: str, incarnation: int, last_seq: int) -> None:
        """Accept a snapshot that contains `sender`'s frames up to `last_seq`.

        Frames with seq <= last_seq still queued are then dropped as superseded, and the
        next expected frame is last_seq + 1.
        """
        self._tracks[sender] = _Track(incarnation, last_seq, floor=last_seq)

    def last_seq(self, sender: str) -> int | None:
        track = self._tracks.get(sender)
        return None if track is None else track.last_seq
