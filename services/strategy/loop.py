"""The strategy's thread: one blocking loop that owns the machine and its sockets.

Messages in (universe, market data, execution events) go through the machine in arrival
order; its commands go out on PUSH at once. Between messages, and at least every
`_UPKEEP_MS`, the loop runs the machine's timer, publishes heartbeats and status, answers
snapshot requests, joins (or rejoins) each publisher's state with the Clone pattern, and
watches the executor's heartbeats. Once a second, with the status, it runs `periodic` (e.g.
the market maker's metrics feed, which must read the machine on this thread).
"""

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from services.strategy.api import (
    Command,
    EntrySkipped,
    Output,
    Resync,
    Strategy,
    Transition,
    is_command,
)
from shared.bus import (
    FrameError,
    PeerLiveness,
    Publisher,
    Receiver,
    Sender,
    SnapshotClient,
    SnapshotIncomplete,
    SnapshotServer,
    SnapshotTimeout,
)
from shared.runtime.clock import Clock
from shared.schema import (
    Alert,
    AmendOrders,
    BusMessage,
    CancelOrders,
    ClientOrderId,
    ExecutionSnapshot,
    OrderDenied,
    StrategyStatus,
    SubmitOrder,
    SubmitOrders,
    topics,
)

log = logging.getLogger(__name__)
_RECEIVE_MS: Final = 20
_UPKEEP_NS: Final = 20_000_000
_STATUS_NS: Final = 1_000_000_000
_JOIN_RETRY_NS: Final = 1_000_000_000


@dataclass(frozen=True)
class Peer:
    """A publisher the strategy follows: its sender name, snapshot client and topic prefix."""

    sender: str
    snapshots: SnapshotClient
    prefix: str


@dataclass
class Sockets:
    inbox: Receiver
    commands: Sender
    publisher: Publisher
    snapshot_server: SnapshotServer
    peers: tuple[Peer, ...]  # in join order: scanner, feed, executor


class StrategyLoop:
    """Drives one strategy from its own thread (see the module docstring)."""

    def __init__(
        self,
        strategy: Strategy,
        strategy_id: str,
        sockets: Sockets,
        liveness: PeerLiveness,
        clock: Clock,
        snapshot_timeout_s: float,
    ) -> None:
        self.strategy = strategy
        self._strategy_id = strategy_id
        self._s = sockets
        self._liveness = liveness
        self._clock = clock
        self._timeout_s = snapshot_timeout_s
        self.counters: Counter[str] = Counter()
        self._joined: set[str] = set()
        self._ever_joined: set[str] = set()
        self._refresh: set[str] = set()  # peers to fetch once (a strategy's Resync)
        self._next_join_ns = 0
        self._executor_was_alive = False
        self.last_status: StrategyStatus | None = None
        self.periodic: list[Callable[[], None]] = []  # run on this thread once a second

    def run(self, stop: threading.Event) -> None:
        inbox, clock = self._s.inbox, self._clock
        next_upkeep = next_status = 0
        while not stop.is_set():
            delivery = inbox.receive(_RECEIVE_MS)
            if delivery is not None:
                self._act(self.strategy.on_message(delivery.message, delivery.ts_recv_ns))
            now = clock.now_ns()
            if now >= next_upkeep:
                next_upkeep = now + _UPKEEP_NS
                self._upkeep(now)
            if now >= next_status:
                next_status = now + _STATUS_NS
                self._publish_status(now)
                self._run_periodic()

    def _upkeep(self, now: int) -> None:
        self._s.publisher.tick()
        self._s.snapshot_server.serve_pending()
        for sender in self._s.inbox.take_resync_requests():
            self._joined.discard(sender)
        if len(self._joined) < len(self._s.peers) and now >= self._next_join_ns:
            self._join()
            self._next_join_ns = self._clock.now_ns() + _JOIN_RETRY_NS  # after its wait
        if self._refresh:
            self._refresh_once()
        self._watch_executor(now)
        self._act(self.strategy.on_timer(now))

    def _run_periodic(self) -> None:
        """Run each periodic task; one that fails is counted and logged, trading goes on."""
        for task in self.periodic:
            try:
                task()
            except Exception:
                self.counters["periodic_failures"] += 1
                log.exception("periodic task failed")

    def _join(self) -> None:
        """Clone pattern: each publisher's state. A first join goes in order (no executor
        before the feed); joins again go first, the executor's first of all (Syncing waits
        for it). A round ends at the first peer that does not answer: one timeout at most."""
        waiting = [p for p in self._s.peers if p.sender not in self._joined]
        again = [p for p in waiting if p.sender in self._ever_joined]
        again.sort(key=lambda p: p.sender != "executor")
        for peer in again + [p for p in waiting if p.sender not in self._ever_joined]:
            if not self._fetch(peer, require_state=True):
                return
            self._joined.add(peer.sender)
            self._ever_joined.add(peer.sender)
            log.info("joined %s", peer.sender)

    def _refresh_once(self) -> None:
        """A strategy's Resync of the scanner or the feed: one fetch each of those joined,
        failures counted (the strategy asks again after its patience)."""
        for peer in self._s.peers:
            if peer.sender in self._refresh and peer.sender in self._joined:  # else: joining
                self._fetch(peer, require_state=False)
        self._refresh.clear()

    def _fetch(self, peer: Peer, *, require_state: bool) -> bool:
        """Fetch `peer`'s snapshot and hand its messages to the strategy; False if it did not
        answer, or (with `require_state`) had nothing chosen, served or reconciled yet."""
        try:
            reply = peer.snapshots.fetch(peer.prefix, self._timeout_s)
        except (SnapshotTimeout, SnapshotIncomplete, FrameError) as e:
            self.counters[f"snapshot_failures_{peer.sender}"] += 1
            log.warning("no snapshot from %s (%s); retrying", peer.sender, e)
            return False
        self._s.inbox.apply_snapshot(reply)
        ready = _has_state(reply.messages)
        if ready:
            log.info("snapshot of %s: %d messages", peer.sender, len(reply.messages))
        else:
            # Ask again until there is state (what it publishes next may leave before our
            # subscription connects).
            self.counters[f"snapshot_not_ready_{peer.sender}"] += 1
        for _, message in reply.messages:
            self._act(self.strategy.on_message(message, self._clock.now_ns()))
        return ready or not require_state

    def _watch_executor(self, now: int) -> None:
        alive = self._liveness.is_alive("executor", now)
        if self._executor_was_alive and not alive:
            self.counters["executor_silent"] += 1
            log.warning("executor silent: no orders until its next snapshot")
            self._joined.discard("executor")
            self._act(self.strategy.executor_silent(now))
        self._executor_was_alive = alive

    def _act(self, outputs: list[Output]) -> None:
        if not outputs:  # most messages
            return
        batches = deque([outputs])  # a denied command's reactions come after, not nested
        while batches:
            batch = batches.popleft()
            for output in batch:  # commands first: logging and status can wait, orders not
                if is_command(output):
                    for denial in self._send(output):
                        batches.append(self.strategy.on_message(denial, denial.ts_event_ns))
            for output in batch:
                self._note(output)

    def _note(self, output: Output) -> None:
        if isinstance(output, Alert):
            self._s.publisher.send(output)
        elif isinstance(output, Transition):
            log.info(
                "transition %s -> %s reason=%s trace=%s",
                output.from_state,
                output.to_state,
                output.reason,
                output.trace_id or "-",
            )
            self._publish_status(output.ts_ns)
        elif isinstance(output, EntrySkipped):
            log.info("entry skipped reason=%s trace=%s", output.reason, output.trace_id or "-")
        elif isinstance(output, Resync):
            self.counters["resyncs"] += 1
            log.warning("resync peers=%s reason=%s", ",".join(output.peers), output.reason)
            if "executor" in output.peers:  # Syncing: joined again, retried until it answers
                self._joined.discard("executor")
                self._next_join_ns = 0  # at the next upkeep
            self._refresh.update(p for p in output.peers if p != "executor")

    def _send(self, command: Command) -> list[OrderDenied]:
        """Send `command`; if the executor's socket is away, the denials the machine must
        hear (one per order a batch names, each with the batch's kind)."""
        kind = type(command).__name__
        self.counters[f"sent_{kind}"] += 1
        order_id = getattr(command, "client_order_id", ClientOrderId(""))
        trace = getattr(command, "trace_id", "") or "-"
        if self._s.commands.send(command):
            log.info("command sent %s order=%s %s trace=%s", kind, order_id, _what(command), trace)
            return []
        self.counters["commands_undeliverable"] += 1
        log.warning("command not delivered %s order=%s trace=%s", kind, order_id, trace)
        now = self._clock.now_ns()
        return [
            OrderDenied(
                client_order_id=one_id,
                strategy_id=self._strategy_id,
                command_kind=kind,
                reason="executor unreachable: command not delivered",
                ts_event_ns=now,
                trace_id=one_trace,
            )
            for one_id, one_trace in _orders_of(command)
        ]

    def _publish_status(self, now: int) -> None:
        status = self.strategy.status(now)
        self.last_status = status
        self._s.publisher.send(status)

    def snapshot(self, prefix: bytes) -> list[tuple[bytes, BusMessage]]:
        """The strategy's snapshot: its last status (called on the loop's thread)."""
        status = self.last_status
        if status is None:
            return []
        return [(topics.topic_for(status, "strategy"), status)]


def _orders_of(command: Command) -> list[tuple[ClientOrderId, str]]:
    """The (client order id, trace id) of each order `command` names ("" for none)."""
    if isinstance(command, SubmitOrders):
        return [(o.client_order_id, o.trace_id) for o in command.orders]
    if isinstance(command, AmendOrders):
        return [(a.client_order_id, a.trace_id) for a in command.amends]
    if isinstance(command, CancelOrders):
        return [(c.client_order_id, c.trace_id) for c in command.cancels]
    return [(getattr(command, "client_order_id", ClientOrderId("")), command.trace_id)]


def _what(command: Command) -> str:
    """The log's summary of a command (a submit's side, qty, type and price)."""
    if isinstance(command, SubmitOrder):
        price = "" if command.limit_price is None else f" price={command.limit_price}"
        return (
            f"symbol={command.symbol} side={command.side} qty={command.qty}"
            f" type={command.order_type} tif={command.time_in_force}{price}"
            f" reduce_only={command.reduce_only}"
        )
    if isinstance(command, SubmitOrders | AmendOrders | CancelOrders):
        return f"orders={','.join(i for i, _ in _orders_of(command))}"
    return f"symbol={command.symbol}"


def _has_state(messages: list[tuple[bytes, BusMessage]]) -> bool:
    """True once a snapshot holds state to trade on (an executor's: reconciled)."""
    snapshots = [m for _, m in messages if isinstance(m, ExecutionSnapshot)]
    if snapshots:
        return all(s.reconciled for s in snapshots)
    return bool(messages)
