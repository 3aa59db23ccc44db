"""The simulator's admin endpoints (loopback only): faults, a forced disconnect, stats."""

import logging
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from services.simulator.settings import Faults

if TYPE_CHECKING:
    from services.simulator.service import SimulatorService

log = logging.getLogger("services.simulator.service")
_LOOPBACK = frozenset({"127.0.0.1", "::1"})


class AdminApi:
    """`/admin/*` of a running `SimulatorService`."""

    def __init__(self, venue: "SimulatorService") -> None:
        self._venue = venue

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/faults", self._get_faults),
            web.post("/admin/faults", self._set_faults),
            web.post("/admin/disconnect", self._disconnect),
            web.get("/admin/stats", self._stats),
        ]

    async def _get_faults(self, request: web.Request) -> web.Response:
        _loopback_only(request)
        return _json(self._venue.faults.faults)

    async def _set_faults(self, request: web.Request) -> web.Response:
        """Merge a JSON object of fault keys into the current faults; unknown keys are refused."""
        _loopback_only(request)
        try:
            changes = msgspec.json.decode(await request.read(), type=dict[str, Any])
            merged = {**msgspec.to_builtins(self._venue.faults.faults), **changes}
            self._venue.faults.faults = msgspec.convert(merged, Faults)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            return web.json_response({"error": str(e)}, status=400)
        log.warning("faults changed %s", changes)
        return _json(self._venue.faults.faults)

    async def _disconnect(self, request: web.Request) -> web.Response:
        _loopback_only(request)
        closed = await self._venue.close_all()
        self._venue.faults.count("ws_disconnect")
        return web.json_response({"closed": closed})

    async def _stats(self, request: web.Request) -> web.Response:
        _loopback_only(request)
        rest = self._venue.rest
        return web.json_response(
            {
                "rest_requests": rest.requests,
                "rate_limited": rest.rate_limited,  # answered 10006 (not the storm fault)
                "ip_refusals": rest.ip_refusals,  # answered 403: Bybit bans the IP for this
                "clients_gone": rest.clients_gone,  # left before their body was read
                "injected": self._venue.faults.injected,
                "public_connections": len(self._venue.public.registry.connections),
                "private_connections": len(self._venue.private.registry.connections),
                "public_subscriptions": sum(
                    len(c.topics) for c in self._venue.public.registry.connections
                ),
                "private_subscriptions": sum(
                    len(c.topics) for c in self._venue.private.registry.connections
                ),
                "market": self._venue.market,
                "replay": self._venue.replay.counts() if self._venue.replay is not None else None,
            }
        )


def _loopback_only(request: web.Request) -> None:
    if request.remote not in _LOOPBACK:
        raise web.HTTPForbidden(text="admin endpoints answer on loopback only")


def _json(value: Any) -> web.Response:
    return web.Response(body=msgspec.json.encode(value), content_type="application/json")
