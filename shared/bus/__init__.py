"""The bus: the only package that imports zmq.

PUB/SUB (XPUB underneath) carries facts that may be dropped and are recovered from a
snapshot; PUSH/PULL carries commands, which expire. Every frame is
[topic, signature, header, body]; every drop has a counter in BusStats.
"""

from shared.bus.commands import CommandReceiver, RefusedCommand, expiry_refusal
from shared.bus.context import BusContext
from shared.bus.frames import Delivery, FrameError, Header, decode_frames, encode_frames
from shared.bus.liveness import PeerLiveness
from shared.bus.node import BusNode
from shared.bus.publisher import Publisher, Sender
from shared.bus.receiver import Receiver
from shared.bus.sequence import SequenceTracker, Verdict
from shared.bus.signing import Signer
from shared.bus.snapshot import (
    SnapshotClient,
    SnapshotIncomplete,
    SnapshotProvider,
    SnapshotReply,
    SnapshotServer,
    SnapshotTimeout,
)
from shared.bus.sockets import (
    new_context,
    open_command_receiver,
    open_command_sender,
    open_publisher,
    open_snapshot_server,
    open_subscriber,
    open_tap,
)
from shared.bus.stats import BusStats, DropReason

__all__ = [
    "BusContext",
    "BusNode",
    "BusStats",
    "CommandReceiver",
    "Delivery",
    "DropReason",
    "FrameError",
    "Header",
    "PeerLiveness",
    "Publisher",
    "Receiver",
    "RefusedCommand",
    "Sender",
    "SequenceTracker",
    "Signer",
    "SnapshotClient",
    "SnapshotIncomplete",
    "SnapshotProvider",
    "SnapshotReply",
    "SnapshotServer",
    "SnapshotTimeout",
    "Verdict",
    "decode_frames",
    "encode_frames",
    "expiry_refusal",
    "new_context",
    "open_command_receiver",
    "open_command_sender",
    "open_publisher",
    "open_snapshot_server",
    "open_subscriber",
    "open_tap",
]
