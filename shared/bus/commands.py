"""Commands over PUSH/PULL: never queued for an absent receiver, refused once expired."""

import logging

import msgspec

from shared.bus.frames import Delivery
from shared.bus.receiver import Receiver
from shared.bus.stats import BusStats, DropReason
from shared.schema import COMMAND_KINDS, BusMessage

log = logging.getLogger(__name__)


class RefusedCommand(msgspec.Struct, frozen=True):
    """A command the receiver will not carry out, and why (the owner reports it as an event)."""

    delivery: Delivery
    reason: str


def expiry_refusal(message: BusMessage, now_ns: int) -> str | None:
    """Return why a command must not be carried out at `now_ns`, or None if it is fresh."""
    expires_at_ns: int | None = getattr(message, "expires_at_ns", None)
    if expires_at_ns is None or now_ns < expires_at_ns:
        return None
    late_ms = (now_ns - expires_at_ns) / 1e6
    return f"expired: {late_ms:.3f} ms past expires_at_ns={expires_at_ns}"


class CommandReceiver:
    """Hand over fresh commands; refuse (and count) expired ones with a reason.

    Heartbeats from command senders refresh their liveness in the Receiver and are not
    handed over. A message that is not a command is counted as undecodable and dropped.
    """

    def __init__(self, receiver: Receiver, stats: BusStats) -> None:
        self._receiver = receiver
        self._stats = stats

    @property
    def receiver(self) -> Receiver:
        return self._receiver

    def receive_nowait(self) -> Delivery | RefusedCommand | None:
        while (delivery := self._receiver.receive_nowait()) is not None:
            message = delivery.message
            if not isinstance(message, COMMAND_KINDS):
                self._stats.drop(DropReason.UNDECODABLE)
                log.error(
                    "dropped non-command on command socket kind=%s sender=%s",
                    type(message).__name__,
                    delivery.header.sender,
                )
                continue
            if reason := expiry_refusal(message, delivery.ts_recv_ns):
                self._stats.drop(DropReason.EXPIRED_COMMAND)
                log.warning(
                    "command refused kind=%s sender=%s seq=%d reason=%s",
                    type(message).__name__,
                    delivery.header.sender,
                    delivery.header.seq,
                    reason,
                )
                return RefusedCommand(delivery, reason)
            return delivery
        return None
