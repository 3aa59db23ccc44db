"""Check a signed REST request the way Bybit does (reference 2.2 and 2.4), pure."""

from collections.abc import Mapping
from dataclasses import dataclass

from shared.bybit.auth import rest_signature, signatures_match

DEFAULT_RECV_WINDOW_MS = 5000


@dataclass(frozen=True)
class AuthFailure:
    http_status: int
    ret_code: int
    ret_msg: str


def authenticate(
    headers: Mapping[str, str], payload: str, secrets: Mapping[str, str], now_ms: int
) -> str | AuthFailure:
    """Return the API key of a correctly signed, timely request, or why it fails.

    `payload` is the raw query string (GET) or raw body (POST) exactly as received.
    """
    api_key = headers.get("X-BAPI-API-KEY")
    timestamp = headers.get("X-BAPI-TIMESTAMP")
    signature = headers.get("X-BAPI-SIGN")
    if not api_key or not timestamp or not signature:
        return AuthFailure(401, 10003, "API key is invalid. (missing auth headers)")
    secret = secrets.get(api_key)
    if secret is None:
        return AuthFailure(200, 10003, "API key is invalid.")
    recv_window = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW_MS))
    if not timestamp.isdigit() or not recv_window.isdigit():
        return AuthFailure(
            200, 10001, "params error: X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW must be integers"
        )
    sent_ms = int(timestamp)
    if not now_ms - int(recv_window) <= sent_ms < now_ms + 1000:
        return AuthFailure(
            200,
            10002,
            f"invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{sent_ms}],server_timestamp[{now_ms}],recv_window[{recv_window}]",
        )
    expected = rest_signature(secret, timestamp, api_key, recv_window, payload)
    if not signatures_match(expected, signature):
        return AuthFailure(
            200, 10004, f"error sign! origin_string[{timestamp}{api_key}{recv_window}{payload}]"
        )
    return api_key
