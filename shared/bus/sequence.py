"""Sequence tracking per (sender, topic): gaps, new incarnations, and the Clone pattern's floor.

A sender numbers its frames per topic (see shared.bus.publisher), so a subscriber to a
prefix checks each topic it receives on its own: topics it does not subscribe to never
look like losses. A new incarnation of a sender resets all of that sender's topics.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from shared.bus.frames import Header


class Verdict(Enum):
    IN_ORDER = "in_order"
    FIRST = "first"  # first frame heard on this topic from this sender (incarnation)
    GAP = "gap"  # frames of this topic were lost before this one: the view needs a snapshot
    RESTARTED = "restarted"  # a new incarnation of a known sender: the view needs a snapshot
    SUPERSEDED = "superseded"  # already contained in the snapshot applied: drop it


# The common verdicts, built once: check() runs for every frame received.
_IN_ORDER: Final = (Verdict.IN_ORDER, 0)
_FIRST: Final = (Verdict.FIRST, 0)
_RESTARTED: Final = (Verdict.RESTARTED, 0)
_SUPERSEDED: Final = (Verdict.SUPERSEDED, 0)


@dataclass(slots=True)
class _SenderTrack:
    incarnation: int
    # topic -> seq of the last frame accepted on it, or the floor a snapshot set
    seqs: dict[bytes, int]


@dataclass
class SequenceTracker:
    """Check that each topic's frames arrive with consecutive `seq` within one incarnation."""

    _senders: dict[str, _SenderTrack] = field(default_factory=dict)

    def check(self, header: Header, topic: bytes) -> tuple[Verdict, int]:
        """Return the verdict on one frame and how many frames of its topic are missing."""
        seq = header.seq
        track = self._senders.get(header.sender)
        if track is None or track.incarnation != header.incarnation:
            self._senders[header.sender] = _SenderTrack(header.incarnation, {topic: seq})
            return _FIRST if track is None else _RESTARTED
        seqs = track.seqs
        last = seqs.get(topic)
        if last is None:
            seqs[topic] = seq
            return _FIRST
        if seq <= last:
            # At or below a snapshot's floor (a topic's frames arrive in order otherwise).
            return _SUPERSEDED
        seqs[topic] = seq
        if seq == last + 1:
            return _IN_ORDER
        return Verdict.GAP, seq - last - 1

    def apply_snapshot(
        self, sender: str, incarnation: int, topic_seqs: Mapping[bytes, int]
    ) -> None:
        """Accept a snapshot of `sender` that contains each topic's frames up to its seq.

        Frames of those topics with seq <= the topic's floor still queued are then dropped
        as superseded, and the next expected is floor + 1. Other topics are left as they
        are. A snapshot of another incarnation replaces everything known of the sender.
        """
        track = self._senders.get(sender)
        if track is None or track.incarnation != incarnation:
            self._senders[sender] = _SenderTrack(incarnation, dict(topic_seqs))
            return
        seqs = track.seqs
        for topic, floor in topic_seqs.items():
            # Never move back: frames newer than the snapshot may already have been accepted.
            if seqs.get(topic, 0) < floor:
                seqs[topic] = floor

    def last_seq(self, sender: str, topic: bytes) -> int | None:
        track = self._senders.get(sender)
        return None if track is None else track.seqs.get(topic)
