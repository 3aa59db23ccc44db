"""Operator controls: halt (cancel all, flatten, halt) or resume trading, confirmed by the executor.

Run it as scripts/halt or scripts/resume (which set up .venv first). See --help.
Exit codes: 0 confirmed, 1 not delivered or not confirmed in time, 2 bad arguments or settings.
"""

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field

import msgspec

from shared.bus import BusNode, Receiver, Sender, Signer, SnapshotIncomplete, SnapshotTimeout
from shared.runtime import LiveClock
from shared.schema import (
    ExecutionSnapshot,
    OrderDenied,
    SetTradingState,
    TradingState,
    TradingStateChanged,
)
from shared.settings import (
    BusSettings,
    Secrets,
    SettingsError,
    SystemSettings,
    load_section,
    resolve_run_dir,
)

_STATES = {"halt": TradingState.HALTED, "resume": TradingState.ACTIVE}
_DESCRIPTIONS = {
    "halt": "Halt trading: the executor cancels every working order, flattens every position"
    " (reduce-only market orders) and stays HALTED, across restarts, until scripts/resume.",
    "resume": "Resume trading: the executor reconciles with the venue if it has to, then goes"
    " back to ACTIVE; today's daily loss limit starts afresh.",
}
_EPILOG = """
It subscribes to the executor's exec.* events first, sends SetTradingState on the
order-commands socket, and waits for the executor's TradingStateChanged{extra}.
Where the events cannot be heard, it polls the executor's snapshot instead.

exit codes: 0 confirmed, 1 not delivered (no executor) or not confirmed in time, 2 bad settings
"""
_HALT_EXTRA = " and for a\nsnapshot with no open orders and no positions"
_POLL_S = 0.2


@dataclass
class Outcome:
    """What the executor confirmed; `lines` say it for a human."""

    confirmed: bool
    lines: list[str] = field(default_factory=list)


@dataclass
class _Progress:
    state_seen: TradingState | None = None  # the latest state the executor reported
    confirmed_by: str = ""  # "event" or "snapshot" once the requested state is confirmed
    denials: list[str] = field(default_factory=list)
    left: str = ""  # what a halt left open, from the last snapshot


def _parse(argv: list[str]) -> argparse.Namespace:
    action = argv[0] if argv and argv[0] in _STATES else None
    if action is None:
        raise SystemExit(f"usage: scripts/operator.py {{halt,resume}} ...  (got {argv[:1]})")
    parser = argparse.ArgumentParser(
        prog=f"scripts/{action}",
        description=_DESCRIPTIONS[action],
        epilog=_EPILOG.format(extra=_HALT_EXTRA if action == "halt" else ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--reason",
        default=f"operator via scripts/{action}",
        help="why (journaled and published with the state change; default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        help="seconds to wait for the executor's confirmation (default: %(default)s)",
    )
    args = parser.parse_args(argv[1:])
    args.action = action
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def request_state(
    state: TradingState, reason: str, bus: BusSettings, *, timeout_s: float, signer: Signer
) -> Outcome:
    """Ask the executor for `state` and wait up to `timeout_s` for its confirmation.

    Blocking. `bus.endpoints` must be resolved (absolute addresses). A halt is confirmed
    once the state is HALTED and the executor's snapshot holds no order and no position.
    """
    node = BusNode("operator", bus, signer=signer, clock=LiveClock())
    try:
        return _Session(node, state, reason, time.monotonic() + timeout_s).run()
    finally:
        node.close()


class _Session:
    def __init__(self, node: BusNode, state: TradingState, reason: str, deadline: float) -> None:
        eps = node.settings.endpoints
        self._node = node
        self._state = state
        self._reason = reason
        self._deadline = deadline
        self._snapshot_endpoint = eps.execution_snapshot
        self._commands_endpoint = eps.order_commands
        # Subscribe before sending, and to all of exec.*: a busy executor sends no
        # heartbeats, so any of its frames shows that the subscription is in place.
        self._events: Receiver = node.subscriber([eps.execution_events], ["exec."])
        self._commands: Sender = node.command_sender(eps.order_commands)
        self._progress = _Progress()

    def run(self) -> Outcome:
        before = self._snapshot()
        joined = self._join()
        if not self._send():
            where = self._commands_endpoint
            hint = "" if before is None else " (its snapshot answered: is it starting up?)"
            return Outcome(False, [f"not delivered: no executor takes commands on {where}{hint}"])
        self._await_state(joined)
        if self._progress.confirmed_by and self._state is TradingState.HALTED:
            self._await_flat()
        return self._outcome(before)

    def _join(self) -> bool:
        """Wait until the executor is heard on the event socket (the slow joiner)."""
        interval_s = self._node.settings.heartbeat_interval_ms / 1000
        until = min(self._deadline, time.monotonic() + interval_s * 3 + 0.5)
        while time.monotonic() < until:
            self._events.receive(50)  # events from before our command confirm nothing
            if self._node.liveness.peers():
                return True
        return False

    def _send(self) -> bool:
        now_ns = self._node.bus.clock.now_ns()
        expires_ns = now_ns + int(max(0.0, self._deadline - time.monotonic()) * 1e9)
        command = SetTradingState(
            state=self._state, reason=self._reason, ts_created_ns=now_ns, expires_at_ns=expires_ns
        )
        # The PUSH socket takes a message only once connected to the executor's PULL.
        until = min(self._deadline, time.monotonic() + 3.0)
        while not self._commands.send(command):
            if time.monotonic() >= until:
                return False
            time.sleep(0.02)
        return True

    def _await_state(self, joined: bool) -> None:
        """Wait for TradingStateChanged(state); without the events, poll the snapshot."""
        progress = self._progress
        next_poll = time.monotonic() if not joined else self._deadline
        while not progress.confirmed_by and time.monotonic() < self._deadline:
            delivery = self._events.receive(50)
            message = None if delivery is None else delivery.message
            if isinstance(message, TradingStateChanged):
                progress.state_seen = message.state
                if message.state is self._state:
                    progress.confirmed_by = "event"
            elif isinstance(message, OrderDenied) and message.command_kind == "SetTradingState":
                progress.denials.append(message.reason)
                return
            if not progress.confirmed_by and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + _POLL_S * 2.5
                snapshot = self._snapshot()
                if snapshot is not None and snapshot.trading_state is self._state:
                    progress.state_seen, progress.confirmed_by = self._state, "snapshot"

    def _await_flat(self) -> None:
        """Poll the snapshot until no order is open and no position is held."""
        while True:
            self._note_denials()
            snapshot = self._snapshot()
            if snapshot is not None:
                self._progress.left = _leftovers(snapshot)
                if not self._progress.left:
                    return
            if time.monotonic() >= self._deadline:
                return
            time.sleep(_POLL_S)

    def _note_denials(self) -> None:
        for delivery in self._events.drain():
            message = delivery.message
            if isinstance(message, OrderDenied) and message.command_kind == "SetTradingState":
                self._progress.denials.append(message.reason)

    def _snapshot(self) -> ExecutionSnapshot | None:
        timeout_s = self._node.settings.snapshot_timeout_ms / 1000
        timeout_s = max(0.1, min(timeout_s, self._deadline - time.monotonic()))
        try:
            reply = self._node.snapshot_client(self._snapshot_endpoint).fetch(
                "exec.snapshot.", timeout_s
            )
        except (SnapshotTimeout, SnapshotIncomplete):
            return None
        found = [m for _, m in reply.messages if isinstance(m, ExecutionSnapshot)]
        return found[0] if found else None

    def _outcome(self, before: ExecutionSnapshot | None) -> Outcome:
        p, wanted = self._progress, self._state.value
        was = "" if before is None else f" (was {before.trading_state.value})"
        denied = f"; the executor refused: {'; '.join(p.denials)}" if p.denials else ""
        if not p.confirmed_by:
            seen = "none" if p.state_seen is None else p.state_seen.value
            return Outcome(
                False,
                [f"not confirmed: executor state {wanted} not reported{was}; last seen: {seen}"]
                + ([denied.lstrip("; ")] if denied else []),
            )
        line = f"confirmed: executor is {wanted}{was}, by {p.confirmed_by}; reason: {self._reason}"
        if self._state is not TradingState.HALTED:
            return Outcome(True, [line + denied])
        if p.left:
            return Outcome(False, [line, f"not confirmed: still open after the halt: {p.left}"])
        return Outcome(True, [line, f"no open orders and no positions{denied}"])


def _leftovers(snapshot: ExecutionSnapshot) -> str:
    orders = [f"{o.client_order_id} {o.symbol} {o.status.value}" for o in snapshot.open_orders]
    positions = [f"{p.symbol} {p.qty:+f}" for p in snapshot.positions]
    parts = []
    if orders:
        parts.append(f"{len(orders)} open order(s): {', '.join(orders)}")
    if positions:
        parts.append(f"{len(positions)} position(s): {', '.join(positions)}")
    return "; ".join(parts)


def main(argv: list[str], *, bus: BusSettings | None = None) -> int:
    """Run scripts/halt or scripts/resume; `bus` (resolved endpoints) skips the settings file."""
    args = _parse(argv)
    # The outcome lines say what happened; the bus's own warnings (e.g. a send dropped
    # while the command socket is still connecting) would only repeat it.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    try:
        if bus is None:
            system = load_section("system", SystemSettings)
            settings = load_section("bus", BusSettings)
            resolved = settings.endpoints.resolved(resolve_run_dir(system))
            bus = msgspec.structs.replace(settings, endpoints=resolved)
    except (SettingsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    signer = Signer(Secrets.from_environment().bus_hmac_key)
    state = _STATES[args.action]
    outcome = request_state(state, args.reason, bus, timeout_s=args.timeout, signer=signer)
    out = sys.stdout if outcome.confirmed else sys.stderr
    for line in outcome.lines:
        print(f"{args.action}: {line}", file=out)
    return 0 if outcome.confirmed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
