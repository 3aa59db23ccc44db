"""The simulator's /v5/private: authenticated order, execution, position and wallet events."""

import uuid
from collections import defaultdict
from typing import Any, Final

from aiohttp import web

from services.simulator.connections import Connection, ConnectionRegistry, serve
from services.simulator.execution_fast import TOPICS as FAST_TOPICS
from services.simulator.execution_fast import fast_message
from services.simulator.faults import FaultInjector
from services.simulator.ws_frames import ClientRequest, Pong, decode_request, encode, send_ack
from shared.bybit.auth import signatures_match, ws_auth_signature
from shared.runtime.clock import Clock

PRIVATE_TOPICS: Final = frozenset(
    {
        "order",
        "execution",
        "position",
        "wallet",
        "order.linear",
        "execution.linear",
        "position.linear",
        *FAST_TOPICS,
    }
)


class PrivateStream:
    """Authenticated order, execution, position and wallet events per account."""

    def __init__(self, secrets: dict[str, str], faults: FaultInjector, clock: Clock) -> None:
        self._secrets = secrets
        self._faults = faults
        self._clock = clock
        self.registry = ConnectionRegistry(faults)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.registry, self._on_text)

    def _on_text(self, conn: Connection, text: str) -> None:
        request = decode_request(conn, text)
        if request is None:
            return
        if request.op == "ping":
            now_ms = self._clock.now_ns() // 1_000_000
            pong = Pong(op="pong", args=[str(now_ms)], conn_id=conn.conn_id, req_id=request.req_id)
            conn.send(encode(pong), faultable=False)
        elif request.op == "auth":
            error = self._authenticate(request.args)
            if not error:
                conn.account = str(request.args[0])
            send_ack(conn, "auth", request.req_id, error=error)
        elif request.op in ("subscribe", "unsubscribe"):
            send_ack(conn, request.op, request.req_id, error=self._subscribe(conn, request))
        else:
            send_ack(conn, request.op, request.req_id, error=f"unknown op {request.op}")

    def _authenticate(self, args: list[Any]) -> str:
        """Return why an auth request fails, or "" when it succeeds."""
        if len(args) != 3:
            return "auth needs [api_key, expires, signature]"
        api_key, expires, signature = args
        secret = self._secrets.get(str(api_key))
        if secret is None:
            return "error:invalid api key"
        if isinstance(expires, str) and expires.isdigit():
            expires = int(expires)  # ccxt sends it as a string; Bybit takes both
        if not isinstance(expires, int) or expires <= self._clock.now_ns() // 1_000_000:
            return "error:params error: expires must be a future ms timestamp"
        if not signatures_match(ws_auth_signature(secret, expires), str(signature)):
            return "error:signature verification failed"
        return ""

    def _subscribe(self, conn: Connection, request: ClientRequest) -> str:
        """Change the connection's topics; return why not, or "" on success."""
        topics = [str(t) for t in request.args]
        if conn.account is None:
            return "error:request not authorized"
        bad = [t for t in topics if t not in PRIVATE_TOPICS]
        if bad:
            return f"error:handler not found,topic:{bad[0]}"
        if request.op == "subscribe":
            conn.topics.update(topics)
        else:
            conn.topics.difference_update(topics)
        return ""

    def publish(self, events: list[tuple[str, str, Any]]) -> None:
        """Send each (account, topic, data) to that account's subscribers, grouped per topic."""
        now_ms = self._clock.now_ns() // 1_000_000 - int(self._faults.faults.stale_ms)
        grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for account, topic, data in events:
            grouped[(account, topic)].append(data)
        for (account, topic), items in grouped.items():
            for conn in self.registry.connections:
                if conn.account != account:
                    continue
                for name in (topic, f"{topic}.linear"):
                    if name in conn.topics:
                        message = {
                            "id": uuid.uuid4().hex,
                            "topic": name,
                            "creationTime": now_ms,
                            "data": items,
                        }
                        conn.send(encode(message))
                if topic == "execution":
                    self._publish_fast(conn, items, now_ms)

    @staticmethod
    def _publish_fast(conn: Connection, items: list[Any], now_ms: int) -> None:
        for name in FAST_TOPICS:
            message = fast_message(name, items, now_ms) if name in conn.topics else None
            if message is not None:
                conn.send(encode(message))
