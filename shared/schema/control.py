"""Messages that keep the bus itself healthy: liveness, snapshots, status."""

from shared.schema.base import Message, NanosSinceEpoch
from shared.schema.enums import ServiceState


class Heartbeat(Message, frozen=True, kw_only=True):
    """Sent by every sender when it has been idle for one heartbeat interval."""

    ts_event_ns: NanosSinceEpoch


class SnapshotRequest(Message, frozen=True, kw_only=True):
    """Ask a publisher's snapshot socket for its current state under `topic_prefix`."""

    topic_prefix: str
    ts_event_ns: NanosSinceEpoch


class SnapshotEnd(Message, frozen=True, kw_only=True):
    """Closes a snapshot reply: updates with seq <= `last_seq` are already in it."""

    last_seq: int
    count: int  # messages in the snapshot before this one
    ts_event_ns: NanosSinceEpoch


class ServiceStatus(Message, frozen=True, kw_only=True):
    """A service's own state, with a human-readable detail."""

    service: str
    state: ServiceState
    detail: str
    ts_event_ns: NanosSinceEpoch
