"""Per-peer liveness: a peer silent for `max_missed` heartbeat intervals is dead."""

from dataclasses import dataclass, field


@dataclass
class PeerLiveness:
    """Any frame from a peer counts as a heartbeat (the ZeroMQ Guide's Paranoid Pirate)."""

    interval_ns: int
    max_missed: int = 3
    _last_heard_ns: dict[str, int] = field(default_factory=dict)

    def heard(self, peer: str, now_ns: int) -> None:
        self._last_heard_ns[peer] = now_ns

    def is_alive(self, peer: str, now_ns: int) -> bool:
        last = self._last_heard_ns.get(peer)
        return last is not None and now_ns - last < self.interval_ns * self.max_missed

    def last_heard_ns(self, peer: str) -> int | None:
        return self._last_heard_ns.get(peer)

    def peers(self) -> list[str]:
        return sorted(self._last_heard_ns)

    def dead_peers(self, now_ns: int) -> list[str]:
        """Return the peers once heard from that are now silent for too long."""
        return [p for p in sorted(self._last_heard_ns) if not self.is_alive(p, now_ns)]
