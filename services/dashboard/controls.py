"""The operator's controls: halt, resume, cancel all, flatten one symbol.

Each sends the executor the command scripts/halt or scripts/resume sends (SetTradingState)
or the strategies' own (CancelAllOrders per strategy id, ClosePosition), with the reason
"operator via dashboard"; the executor journals and publishes what it does, as for
scripts/halt. Each then waits, on the view the bus keeps current, for the executor to
confirm, and answers {"ok", "lines"} as scripts/halt prints them. The command socket is
opened at the first control only: until an operator acts the dashboard sends nothing.
"""

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from services.dashboard.view import View
from shared.bus import BusNode, Sender
from shared.runtime.clock import Clock
from shared.schema import (
    CancelAllOrders,
    ClosePosition,
    Command,
    SetTradingState,
    Symbol,
    TradingState,
)

log = logging.getLogger(__name__)

REASON: Final = "operator via dashboard"
FLATTEN_OWNER: Final = "executor"  # as the executor's own halt flattens: its orders' owner
SYMBOL_RE: Final = re.compile(r"^[A-Z0-9]{2,30}$")
_SEND_PATIENCE_S: Final = 3.0  # a PUSH takes a message once connected to the executor


@dataclass
class Outcome:
    ok: bool
    lines: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"ok": self.ok, "lines": self.lines}


class Controls:
    """Send one operator command at a time and wait for the executor's confirmation."""

    def __init__(
        self,
        node: BusNode,
        view: View,
        clock: Clock,
        *,
        timeout_s: float,
        refresh: Callable[[], None],
        commands_endpoint: str,
    ) -> None:
        """`commands_endpoint`: the executor's order-commands socket, resolved."""
        self._node = node
        self._endpoint = commands_endpoint
        self._view = view
        self._clock = clock
        self._timeout_s = timeout_s
        self._refresh = refresh  # asks the executor's snapshot now
        self._sender: Sender | None = None
        self._lock = asyncio.Lock()
        self.changed = asyncio.Event()  # set by the service whenever the view changed

    async def halt(self) -> Outcome:
        async with self._lock:
            return await self._set_state(TradingState.HALTED)

    async def resume(self) -> Outcome:
        async with self._lock:
            return await self._set_state(TradingState.ACTIVE)

    async def cancel_all(self) -> Outcome:
        async with self._lock:
            working = self._working()
            owners = sorted({o["strategy_id"] for o in working.values()})
            if not owners:
                return Outcome(True, ["nothing to cancel: no working orders"])
            deadline = time.monotonic() + self._timeout_s
            for owner in owners:
                created, expires = self._times()
                command = CancelAllOrders(
                    strategy_id=owner,
                    reason=REASON,
                    ts_created_ns=created,
                    expires_at_ns=expires,
                )
                if not await self._send(command, deadline):
                    return self._not_delivered()
            lines = [f"sent: cancel all of {', '.join(owners)}; reason: {REASON}"]
            self._refresh()
            gone = await self._until(lambda: not self._working_of(owners), deadline)
            if gone:
                return Outcome(True, [*lines, "confirmed: no working orders left"])
            left = self._working_of(owners)
            return Outcome(False, [*lines, f"not confirmed: {_orders(left)} still working"])

    async def flatten(self, symbol: str) -> Outcome:
        async with self._lock:
            deadline = time.monotonic() + self._timeout_s
            denials = len(self._view.scratch.get("denied_commands", []))
            held = self._position(symbol) is not None  # else the executor's answer is a denial
            created, expires = self._times()
            command = ClosePosition(
                strategy_id=FLATTEN_OWNER,
                symbol=Symbol(symbol),
                reason=REASON,
                ts_created_ns=created,
                expires_at_ns=expires,
            )
            if not await self._send(command, deadline):
                return self._not_delivered()
            lines = [f"sent: flatten {symbol} (reduce-only market order); reason: {REASON}"]
            self._refresh()
            flat = await self._until(
                lambda: (
                    (held and self._position(symbol) is None)
                    or self._denied(denials, "ClosePosition")
                ),
                deadline,
            )
            if refused := self._denied(denials, "ClosePosition"):
                return Outcome(False, [*lines, f"the executor refused: {refused}"])
            if flat:
                return Outcome(True, [*lines, f"confirmed: no position in {symbol}"])
            left = self._position(symbol) or {}
            return Outcome(False, [*lines, f"not confirmed: {symbol} {left.get('qty')} still held"])

    async def _set_state(self, state: TradingState) -> Outcome:
        deadline = time.monotonic() + self._timeout_s
        was = self._view.get(("health", "trading_state"))
        events = self._view.scratch.get("state_events", 0)
        denials = len(self._view.scratch.get("denied_commands", []))
        created, expires = self._times()
        command = SetTradingState(
            state=state, reason=REASON, ts_created_ns=created, expires_at_ns=expires
        )
        if not await self._send(command, deadline):
            return self._not_delivered()
        wanted = state.name

        def reported() -> bool:
            changed = self._view.scratch.get("state_events", 0) > events
            now = self._view.get(("health", "trading_state"))
            return (changed and now == wanted) or bool(self._denied(denials, "SetTradingState"))

        self._refresh()
        await self._until(reported, deadline)
        if refused := self._denied(denials, "SetTradingState"):
            return Outcome(False, [f"not confirmed: the executor refused: {refused}"])
        now = self._view.get(("health", "trading_state"))
        if now != wanted:
            return Outcome(
                False,
                [
                    f"not confirmed: executor state {wanted} not reported (was {was});"
                    f" last seen: {now}"
                ],
            )
        line = f"confirmed: executor is {wanted} (was {was}); reason: {REASON}"
        if state is not TradingState.HALTED:
            return Outcome(True, [line])
        flat = await self._until(lambda: not self._working() and not self._positions(), deadline)
        if flat:
            return Outcome(True, [line, "no open orders and no positions"])
        left = _orders(self._working()) + "; " + ", ".join(sorted(self._positions()))
        return Outcome(False, [line, f"not confirmed: still open after the halt: {left}"])

    def _times(self) -> tuple[int, int]:
        now_ns = self._clock.now_ns()
        return now_ns, now_ns + int(self._timeout_s * 1e9)

    async def _send(self, command: Command, deadline: float) -> bool:
        if self._sender is None:
            self._sender = self._node.command_sender(self._endpoint)
        until = min(deadline, time.monotonic() + _SEND_PATIENCE_S)
        while not self._sender.send(command):
            if time.monotonic() >= until:
                return False
            await asyncio.sleep(0.02)  # the PUSH socket is still connecting
        log.warning("operator control sent kind=%s reason=%s", type(command).__name__, REASON)
        return True

    async def _until(self, condition: Callable[[], object], deadline: float) -> bool:
        """Wait until `condition()` holds (checked whenever the view changed) or the deadline."""
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 0.5))
            except TimeoutError:
                self._refresh()  # nothing heard for a while: ask the executor's snapshot
        return True

    def _not_delivered(self) -> Outcome:
        where = self._endpoint
        return Outcome(False, [f"not delivered: no executor takes commands on {where}"])

    def _working(self) -> dict[str, Any]:
        return dict(self._view.get(("orders", "working")) or {})

    def _working_of(self, owners: list[str]) -> dict[str, Any]:
        return {k: o for k, o in self._working().items() if o["strategy_id"] in owners}

    def _positions(self) -> dict[str, Any]:
        return dict(self._view.get(("money", "positions")) or {})

    def _position(self, symbol: str) -> Any:
        return self._view.get(("money", "positions", symbol))

    def _denied(self, since: int, kind: str) -> str:
        denied: list[tuple[str, str]] = self._view.scratch.get("denied_commands", [])
        return "; ".join(reason for k, reason in denied[since:] if k == kind)


def _orders(orders: dict[str, Any]) -> str:
    listed = ", ".join(f"{k} {o['symbol']}" for k, o in sorted(orders.items())[:10])
    return f"{len(orders)} open order(s): {listed}"
