"""Typed errors of the Bybit clients, and whether a failed request may still have taken effect.

`outcome_unknown` answers the executor's one question after a failed state-changing POST:
may the venue have done it anyway? True means yes (the order may exist): reconcile by
orderLinkId before anything else. False means the venue refused it, or nothing was sent.
"""

from typing import ClassVar

# Venue codes after which a request may or may not have been applied (reference section 6):
# 10000 server timeout, 10016 server error. 10006 is a refusal by its documentation, but the
# docs do not promise nothing was done, so it is treated as unknown too.
# 110072 (duplicate orderLinkId): an earlier send of the same id may have been applied.
OUTCOME_UNKNOWN_CODES = frozenset({10000, 10006, 10016, 110072})

RATE_LIMITED_CODE = 10006


class BybitError(Exception):
    """Base of every error the Bybit REST and websocket clients raise."""

    kind: ClassVar[str] = "bybit"

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path
        # Set by the client when an earlier attempt of the same call ended in doubt: then
        # whatever the last attempt says, the venue may have applied one of the sends.
        self.earlier_attempt_unknown = False

    @property
    def outcome_unknown(self) -> bool:
        """Return True if the request may have been applied by the venue."""
        return self.earlier_attempt_unknown


class CredentialsMissing(BybitError):
    """A signed endpoint was called on a client without api_key/api_secret.

    Outcome known: nothing was sent.
    """

    kind = "credentials"


class VenueError(BybitError):
    """The venue answered HTTP 200 with retCode != 0: a business error.

    Outcome known (the venue refused the request), except for the codes in
    OUTCOME_UNKNOWN_CODES (server timeout, server error, rate limit).
    """

    kind = "venue"

    def __init__(self, ret_code: int, ret_msg: str, *, path: str = "") -> None:
        super().__init__(f"path={path} retCode={ret_code} retMsg={ret_msg!r}", path=path)
        self.ret_code = ret_code
        self.ret_msg = ret_msg

    @property
    def outcome_unknown(self) -> bool:
        return self.ret_code in OUTCOME_UNKNOWN_CODES or self.earlier_attempt_unknown


class RateLimited(VenueError):
    """retCode 10006: the per-endpoint rate limit was exceeded.

    Outcome unknown (conservatively, see OUTCOME_UNKNOWN_CODES). `reset_at_ms` is
    X-Bapi-Limit-Reset-Timestamp when the response carried it.
    """

    kind = "rate_limited"

    def __init__(self, ret_msg: str, *, reset_at_ms: int | None, path: str = "") -> None:
        super().__init__(RATE_LIMITED_CODE, ret_msg, path=path)
        self.reset_at_ms = reset_at_ms


class HttpStatusError(BybitError):
    """The venue answered with an HTTP status other than 200 (401, 403, 404, 5xx ...).

    Outcome unknown for 5xx (a gateway may fail after the engine accepted the order);
    known for 4xx (the request was refused before it reached the engine).
    """

    kind = "http_status"

    def __init__(self, status: int, body: str, *, path: str = "") -> None:
        super().__init__(f"path={path} http_status={status} body={body[:200]!r}", path=path)
        self.status = status
        self.body = body

    @property
    def outcome_unknown(self) -> bool:
        return self.status >= 500


class BadResponse(BybitError):
    """The body was not JSON, not a Bybit envelope, or `result` did not fit the wire type.

    Outcome unknown: the venue answered, but what it said could not be read.
    """

    kind = "bad_response"

    def __init__(self, message: str, *, path: str = "", reason: str = "unreadable") -> None:
        super().__init__(message, path=path)
        self.reason = reason  # why it could not be read (shared.bybit.rest_decode)

    @property
    def outcome_unknown(self) -> bool:
        return True


class NetworkError(BybitError):
    """The connection failed or broke (reset, closed mid-answer, a malformed HTTP answer).

    Outcome unknown: the request may have reached the venue before the failure.
    """

    kind = "network"

    @property
    def outcome_unknown(self) -> bool:
        return True


class ConnectFailed(NetworkError):
    """No connection could be opened (refused, DNS): outcome known, nothing was sent."""

    kind = "connect"

    @property
    def outcome_unknown(self) -> bool:
        return False


class RequestTimeout(NetworkError):
    """No answer within timeout_s. Outcome unknown: the venue may have processed it."""

    kind = "timeout"


# ---------------------------------------------------------------- websocket


class StreamAuthError(BybitError):
    """The private websocket refused our auth request (wrong key, secret or clock)."""

    kind = "stream_auth"


class SubscribeError(BybitError):
    """The venue answered a subscribe or unsubscribe with success: false."""

    kind = "subscribe"

    def __init__(self, op: str, topics: list[str], ret_msg: str) -> None:
        super().__init__(f"{op} refused topics={topics} ret_msg={ret_msg!r}")
        self.op = op
        self.topics = topics
        self.ret_msg = ret_msg


class AckTimeout(BybitError):
    """No acknowledgement of a websocket request within its timeout."""

    kind = "ack_timeout"
