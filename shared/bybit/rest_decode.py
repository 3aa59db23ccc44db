"""The one boundary of the venue's REST answers: status, headers and body in, a wire type out.

`decode_response` returns the decoded `result` or raises a BybitError, and nothing else:
HttpStatusError, RateLimited and VenueError for what the venue said, BadResponse (with
its `reason`, a VenueDropReason value) for a body that cannot be read. BybitRest counts
every one by kind, and the unreadable bodies by reason too (RestStats.dropped).
"""

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import msgspec

from shared.bybit import wire
from shared.bybit.drops import describe, reason_of
from shared.bybit.errors import (
    RATE_LIMITED_CODE,
    BadResponse,
    HttpStatusError,
    RateLimited,
    VenueError,
)
from shared.bybit.ratelimit import RESET_HEADER
from shared.schema import DECODE_ERRORS

T = TypeVar("T")

HEAD_BYTES: Final = 200  # how much of an unreadable body an error message shows

_ENVELOPE: Final = msgspec.json.Decoder(wire.RawResponse)
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_of(result_type: type[T]) -> msgspec.json.Decoder[T]:
    """Return the (cached) JSON decoder of one wire type."""
    decoder = _DECODERS.get(result_type)
    if decoder is None:
        decoder = _DECODERS[result_type] = msgspec.json.Decoder(result_type)
    return decoder


def decode_result(raw: bytes | msgspec.Raw, result_type: type[T], *, path: str) -> T:
    """Return `raw` decoded as `result_type`; raise BadResponse (with a reason) if it is not."""
    try:
        return decoder_of(result_type).decode(raw)
    except DECODE_ERRORS as e:
        raise BadResponse(
            f"path={path} result does not fit {result_type.__name__}: {describe(e)}",
            path=path,
            reason=reason_of(e).value,
        ) from None


def decode_response(
    path: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    result_type: type[T],
    ok_codes: frozenset[int] = frozenset(),
) -> T:
    """Return the `result` of one answer; raise a BybitError for anything else."""
    if status != 200:
        raise HttpStatusError(status, raw.decode(errors="replace"), path=path)
    try:
        envelope = _ENVELOPE.decode(raw)
    except DECODE_ERRORS as e:
        raise BadResponse(
            f"path={path} body is not a Bybit envelope: {describe(e)}; body={raw[:HEAD_BYTES]!r}",
            path=path,
            reason=reason_of(e).value,
        ) from None
    if envelope.ret_code == RATE_LIMITED_CODE:
        raise RateLimited(envelope.ret_msg, reset_at_ms=reset_at_ms(headers), path=path)
    if envelope.ret_code != 0 and envelope.ret_code not in ok_codes:
        raise VenueError(envelope.ret_code, envelope.ret_msg, path=path)
    return decode_result(envelope.result, result_type, path=path)


def reset_at_ms(headers: Mapping[str, str]) -> int | None:
    """Return X-Bapi-Limit-Reset-Timestamp, or None when it is absent or not an integer."""
    try:
        return int(headers[RESET_HEADER])
    except (KeyError, ValueError):
        return None
