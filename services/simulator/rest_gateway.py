"""Bybit's gateway answer for a path or method it does not serve: JSON, not aiohttp's text.

A client classifies errors by the envelope (ccxt maps retCode 10017 "route not found" to
BadRequest); aiohttp's plain-text "404: Not Found" would look like an outage instead.
"""

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from services.simulator.rest_call import envelope
from shared.runtime.clock import Clock

ROUTE_NOT_FOUND = (10017, "Route not found")


def route_not_found(clock: Clock) -> Middleware:
    """A middleware answering unknown paths (404) and wrong methods (405) as Bybit does."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as e:
            now_ms = clock.now_ns() // 1_000_000
            return envelope(*ROUTE_NOT_FOUND, {}, now_ms, status=e.status)

    return middleware
