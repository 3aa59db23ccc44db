"""One process's bus: a ZeroMQ context, its signer, clock and counters, and socket factories."""

import zmq

from shared.bus.commands import CommandReceiver
from shared.bus.context import BusContext
from shared.bus.liveness import PeerLiveness
from shared.bus.publisher import Publisher, Sender
from shared.bus.receiver import Receiver
from shared.bus.signing import Signer
from shared.bus.snapshot import SnapshotClient, SnapshotProvider, SnapshotServer
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
from shared.runtime.clock import Clock
from shared.schema.topics import HEARTBEAT
from shared.settings import BusSettings


class BusNode:
    """Open the sockets of one service with the settings' HWMs and heartbeat interval.

    The node owns the ZeroMQ context; `close()` closes every socket opened through it.
    """

    def __init__(self, name: str, settings: BusSettings, *, signer: Signer, clock: Clock) -> None:
        self.name = name
        self.settings = settings
        self.bus = BusContext(signer, clock)
        self.liveness = PeerLiveness(
            settings.heartbeat_interval_ms * 1_000_000, settings.max_missed_heartbeats
        )
        self._ctx = new_context()
        self._heartbeat_ns = settings.heartbeat_interval_ms * 1_000_000

    @property
    def stats(self) -> BusStats:
        return self.bus.stats

    def publisher(self, endpoint: str, *, hwm: int | None = None) -> Publisher:
        socket = open_publisher(self._ctx, endpoint, hwm=hwm or self.settings.events_hwm)
        return Publisher(socket, self.name, bus=self.bus, heartbeat_interval_ns=self._heartbeat_ns)

    def tap(self, endpoint: str, *, hwm: int | None = None) -> Sender:
        """A Sender on a tap (see open_tap): a message its one reader cannot take now is
        dropped and counted as `tap_full`. No heartbeats unless the owner calls tick()."""
        socket = open_tap(self._ctx, endpoint, hwm=hwm or self.settings.market_data_hwm)
        return Sender(
            socket,
            self.name,
            bus=self.bus,
            heartbeat_interval_ns=self._heartbeat_ns,
            drop_reason=DropReason.TAP_FULL,
        )

    def snapshot_server(
        self, endpoint: str, sender: Publisher, provider: SnapshotProvider | None = None
    ) -> SnapshotServer:
        socket = open_snapshot_server(self._ctx, endpoint)
        return SnapshotServer(socket, sender, provider or sender.last_values, self.bus)

    def subscriber(
        self,
        endpoints: list[str],
        prefixes: list[str],
        *,
        hwm: int | None = None,
        deliver_heartbeats: bool = False,
    ) -> Receiver:
        """Subscribe to `prefixes` and, always, to heartbeats (they carry liveness)."""
        hwm = hwm or self.settings.market_data_hwm
        socket = open_subscriber(self._ctx, endpoints, [*prefixes, HEARTBEAT], hwm=hwm)
        return self._receiver(socket, deliver_heartbeats=deliver_heartbeats)

    def snapshot_client(self, endpoint: str) -> SnapshotClient:
        return SnapshotClient(self._ctx, endpoint, self.name, self.bus)

    def command_sender(self, endpoint: str) -> Sender:
        socket = open_command_sender(self._ctx, endpoint, hwm=self.settings.command_hwm)
        return Sender(
            socket,
            self.name,
            bus=self.bus,
            heartbeat_interval_ns=self._heartbeat_ns,
            drop_reason=DropReason.PEER_AWAY,
        )

    def command_receiver(self, endpoint: str) -> CommandReceiver:
        socket = open_command_receiver(self._ctx, endpoint, hwm=self.settings.command_hwm)
        return CommandReceiver(self._receiver(socket, deliver_heartbeats=False), self.stats)

    def close(self) -> None:
        self._ctx.destroy(linger=0)

    def _receiver(self, socket: zmq.Socket[bytes], *, deliver_heartbeats: bool) -> Receiver:
        return Receiver(
            socket, bus=self.bus, liveness=self.liveness, deliver_heartbeats=deliver_heartbeats
        )
