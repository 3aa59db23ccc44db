"""The HTTP side: the page, the view as a snapshot and as deltas on a websocket, the reports,
and the operator's controls (token, same origin, JSON, POST only). docs/dashboard.md.
"""

import asyncio
import contextlib
import hmac
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import msgspec
from aiohttp import WSMsgType, web

from services.dashboard.controls import SYMBOL_RE, Controls, Outcome
from services.dashboard.reports import list_reports, read_report
from services.dashboard.settings import is_loopback
from services.dashboard.view import View
from shared.runtime.clock import Clock

log = logging.getLogger(__name__)

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
CLIENT_QUEUE: Final = 256  # messages a slow page may lag behind before it is dropped
_encode = msgspec.json.Encoder().encode
_PAGE_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_WILDCARDS: Final = frozenset({"0.0.0.0", "::", ""})
_REPORT_POLICY: Final = "sandbox allow-scripts; frame-ancestors 'self'"  # an opaque origin


class Hub:
    """The view's subscribers: the page's websockets. One encoding per delta, for all."""

    def __init__(self, view: View, clock: Clock) -> None:
        self.view = view
        self._clock = clock
        self.seq = 0
        self.clients: set[asyncio.Queue[str | None]] = set()
        self.counters: Counter[str] = Counter()

    def flush(self) -> None:
        """Send the changes made since the last flush to every page, as one delta."""
        if not self.view.pending():
            return
        changes, ts_sent_ns = self.view.take()
        self.seq += 1
        delta = {
            "type": "delta",
            "seq": self.seq,
            "ts_sent_ns": ts_sent_ns,
            "sampled": self.view.took_sampled,
            "changes": changes,
        }
        text = _encode(delta).decode()
        self.counters["deltas"] += 1
        self.counters["changes"] += len(changes)
        self.counters["delta_bytes"] += len(text)  # once per delta, whatever the pages
        for queue in list(self.clients):
            self._offer(queue, text)

    def snapshot(self) -> str:
        """The whole view as the websocket's first message (pending changes sent first)."""
        self.flush()
        self.view.state["generated_ns"] = self._clock.now_ns()
        self.counters["snapshots"] += 1
        return _encode({"type": "snapshot", "seq": self.seq, "state": self.view.state}).decode()

    def join(self) -> "asyncio.Queue[str | None]":
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=CLIENT_QUEUE)
        queue.put_nowait(self.snapshot())  # no await between: no delta can slip past it
        self.clients.add(queue)
        return queue

    def leave(self, queue: "asyncio.Queue[str | None]") -> None:
        self.clients.discard(queue)

    def _offer(self, queue: "asyncio.Queue[str | None]", text: str) -> None:
        try:
            queue.put_nowait(text)
        except asyncio.QueueFull:
            # The page cannot keep up: it is closed and reconnects to a fresh snapshot.
            self.counters["slow_pages_closed"] += 1
            self.clients.discard(queue)
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    """The aiohttp application around a Hub and the Controls."""

    def __init__(
        self,
        hub: Hub,
        controls: Controls,
        *,
        token: str | None,
        reports_root: Path,
        allowed_host: str,
    ) -> None:
        self._hub = hub
        self._controls = controls
        self._token = token or None
        self._reports = reports_root
        self._allowed_host = allowed_host
        self.counters: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/api/reports", self._report_list)
        app.router.add_get("/reports/{name:.+}", self._report)
        app.router.add_post("/api/control/{action}", self._control)
        if STATIC_DIR.is_dir():
            app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse a Host that is not ours (DNS rebinding); set the security headers.

        Listening on every address (0.0.0.0, ::: TLS and the token are required then) any
        Host is taken: a rebound name would not match the certificate."""
        host = (request.url.host or "").strip("[]")
        anywhere = self._allowed_host in _WILDCARDS
        if not (anywhere or is_loopback(host) or host == self._allowed_host):
            self.counters["refused_host"] += 1
            return web.Response(status=421, text="misdirected request: unknown Host\n")
        response = await handler(request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cache-Control", "no-store")
        if not request.path.startswith("/reports/"):
            headers.setdefault("Content-Security-Policy", _PAGE_POLICY)
            headers.setdefault("X-Frame-Options", "DENY")
        return response

    async def _page(self, request: web.Request) -> web.StreamResponse:
        index = STATIC_DIR / "index.html"
        if not index.is_file():
            return web.Response(status=503, text="the page is not there yet (static/index.html)\n")
        return web.FileResponse(index)

    async def _state(self, request: web.Request) -> web.Response:
        return web.Response(text=self._hub.snapshot(), content_type="application/json")

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._same_origin(request):
            self.counters["refused_origin"] += 1
            return web.Response(status=403, text="cross-site request refused\n")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
        await ws.prepare(request)
        queue = self._hub.join()
        self.counters["pages_connected"] += 1
        reader = asyncio.create_task(_drain(ws), name="dashboard.ws.reader")
        try:
            while not ws.closed:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break  # the page closed
                text = getter.result()
                if text is None:
                    await ws.close(code=1013, message=b"too slow: reconnect for a snapshot")
                    break
                await ws.send_str(text)
        except ConnectionResetError:
            self.counters["pages_reset"] += 1
        finally:
            self._hub.leave(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        return ws

    async def _report_list(self, request: web.Request) -> web.Response:
        reports = await asyncio.to_thread(list_reports, self._reports)
        return web.json_response({"root": str(self._reports), "reports": reports})

    async def _report(self, request: web.Request) -> web.Response:
        found = await asyncio.to_thread(read_report, self._reports, request.match_info["name"])
        if found is None:
            self.counters["reports_refused"] += 1
            return web.Response(status=404, text="no such report\n")
        content_type, body = found
        response = web.Response(body=body, headers={"Content-Type": content_type})
        response.headers["Content-Security-Policy"] = _REPORT_POLICY
        return response

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        refused = self._check(request, action)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _refuse(400, "the body must be a JSON object")
        run = self._action(action, body)
        if isinstance(run, web.Response):
            return run
        symbol = body.get("symbol") if action == "flatten" else None
        log.warning("control action=%s peer=%s symbol=%s", action, request.remote, symbol)
        outcome = await run
        self.counters[f"control_{action}_{'ok' if outcome.ok else 'failed'}"] += 1
        log.warning("control action=%s ok=%s lines=%s", action, outcome.ok, outcome.lines)
        return web.json_response(outcome.json(), status=200)

    def _check(self, request: web.Request, action: str) -> web.Response | None:
        """The refusal of a control request, or None when it may go ahead."""
        if self._token is None:
            return _refuse(403, "controls are off: DASHBOARD_TOKEN is not set for the dashboard")
        if not self._same_origin(request):
            self.counters["refused_origin"] += 1
            return _refuse(403, "cross-site request refused")
        if not self._authorised(request):
            self.counters["refused_token"] += 1
            log.warning(
                "control refused action=%s peer=%s: no or wrong token", action, request.remote
            )
            return _refuse(401, "missing or wrong token (Authorization: Bearer <DASHBOARD_TOKEN>)")
        if request.content_type != "application/json":
            return _refuse(415, "Content-Type must be application/json")
        return None

    def _action(self, action: str, body: dict[str, Any]) -> Awaitable[Outcome] | web.Response:
        if action == "halt":
            return self._controls.halt()
        if action == "resume":
            return self._controls.resume()
        if action == "cancel-all":
            return self._controls.cancel_all()
        if action == "flatten":
            symbol = body.get("symbol")
            if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
                return _refuse(400, 'flatten needs {"symbol": "<SYMBOL>"}, e.g. "BTCUSDT"')
            return self._controls.flatten(symbol)
        return _refuse(404, f"no control {action!r} (halt, resume, cancel-all, flatten)")

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given or self._token is None:
            return False
        return hmac.compare_digest(given.strip().encode(), self._token.encode())

    def _same_origin(self, request: web.Request) -> bool:
        """No Origin (not a browser) or our own; a browser's Sec-Fetch-Site must agree."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return origin == f"{request.scheme}://{request.host}"


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "lines": [reason]}, status=status)


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends until it closes; the page only listens."""
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            return
