"""Counters of one process's bus traffic: everything sent, received and dropped."""

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class DropReason(StrEnum):
    """Why a message did not reach its reader. Each has its own counter."""

    HWM = "hwm"  # a send found the high-water mark reached
    PEER_AWAY = "peer_away"  # a command had no connected receiver
    TAP_FULL = "tap_full"  # a tap's reader is behind: its pipe was at the high-water mark
    MALFORMED = "malformed"  # wrong number of frames
    BAD_SIGNATURE = "bad_signature"
    UNDECODABLE = "undecodable"
    SCHEMA_MISMATCH = "schema_mismatch"
    EXPIRED_COMMAND = "expired_command"
    SUPERSEDED = "superseded"  # an update already contained in a snapshot


@dataclass
class BusStats:
    """Counters only grow; the metrics endpoint and `status` read them."""

    sent: int = 0
    received: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    gaps: Counter[str] = field(default_factory=Counter)  # by sender: gap events
    lost: Counter[str] = field(default_factory=Counter)  # by sender: messages missing
    restarts: Counter[str] = field(default_factory=Counter)  # by sender: new incarnations

    def drop(self, reason: DropReason, count: int = 1) -> None:
        self.dropped[reason.value] += count
