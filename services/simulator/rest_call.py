"""The REST layer's plumbing: one decoded request (`Call`), paging, Bybit's response envelope."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from services.simulator.venue import VenueError
from shared.bybit import wire

S = TypeVar("S", bound=msgspec.Struct)
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class Call:
    """One decoded request: who sent it, its query parameters and raw body."""

    account: str
    params: dict[str, str]
    body: bytes
    now_ms: int

    def decode(self, request_type: type[S]) -> S:
        try:
            return msgspec.json.decode(self.body or b"{}", type=request_type)
        except msgspec.DecodeError as e:
            raise VenueError(10001, f"params error: {e}") from None

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise VenueError(10001, f"params error: {name} must be an integer in [{low}, {high}]")
        return int(raw)

    def ms_param(self, name: str) -> int | None:
        """An optional ms timestamp parameter (None when absent)."""
        raw = self.params.get(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise VenueError(10001, f"params error: {name} must be a ms timestamp")
        return int(raw)

    def required(self, name: str) -> str:
        value = self.params.get(name)
        if not value:
            raise VenueError(10001, f"params error: {name} is required")
        return value


Handler = Callable[[Call], Awaitable[Any]]


def one_page(
    items: list[Any], call: Call, default_limit: int, max_limit: int
) -> tuple[list[Any], str]:
    """Return one page of `items` and the cursor of the next ("" at the end)."""
    limit = call.int_param("limit", default_limit, 1, max_limit)
    # Cursors are sent URL-encoded ("offset%3D20") and arrive decoded in the parsed query.
    cursor = call.params.get("cursor", "").replace("%3D", "=")
    offset = cursor.removeprefix("offset=")
    start = int(offset) if cursor.startswith("offset=") and offset.isdigit() else 0
    end = start + limit
    return items[start:end], (f"offset%3D{end}" if end < len(items) else "")


class CategoryProbe(msgspec.Struct):
    """Just the category of a POST body (checked before the endpoint decodes the rest)."""

    category: str | None = None


def envelope(
    ret_code: int,
    ret_msg: str,
    result: Any,
    now_ms: int,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Bybit's JSON envelope: retCode, retMsg, result, retExtInfo, time."""
    body = _encoder.encode(
        wire.Response(
            ret_code=ret_code, ret_msg=ret_msg, result=result, ret_ext_info={}, time=now_ms
        )
    )
    return web.Response(
        status=status, body=body, content_type="application/json", headers=headers or {}
    )


def rate_limited(now_ms: int, reset_at_ms: int, limit: int = 0) -> web.Response:
    """Bybit's 10006 "Too many visits!" with the limit headers."""
    headers = {
        "X-Bapi-Limit": str(limit),
        "X-Bapi-Limit-Status": "0",
        "X-Bapi-Limit-Reset-Timestamp": str(reset_at_ms or now_ms + 1000),
    }
    return envelope(10006, "Too many visits!", {}, now_ms, headers=headers)
