"""Bybit V5 request signing (HMAC-SHA256), for the client and for the simulator's verifier.

presign = timestamp + api_key + recv_window + payload, where payload is the query string
exactly as sent (GET) or the raw body exactly as sent (POST). The websocket auth signs
"GET/realtime" + expires.
"""

import hashlib
import hmac


def sign(secret: str, presign: str) -> str:
    """Return the lowercase hex HMAC-SHA256 of `presign` under `secret`."""
    return hmac.new(secret.encode(), presign.encode(), hashlib.sha256).hexdigest()


def rest_signature(
    secret: str, timestamp_ms: str, api_key: str, recv_window_ms: str, payload: str
) -> str:
    """Return X-BAPI-SIGN for one REST request."""
    return sign(secret, timestamp_ms + api_key + recv_window_ms + payload)


def signed_headers(
    api_key: str, secret: str, timestamp_ms: str, recv_window_ms: str, payload: str
) -> dict[str, str]:
    """Return the X-BAPI-* headers of one signed REST request (signature type 2, HMAC)."""
    return RestSigner(api_key, secret, recv_window_ms).headers(timestamp_ms, payload.encode())


class RestSigner:
    """Sign REST requests of one key pair; the HMAC key schedule is computed once."""

    def __init__(self, api_key: str, secret: str, recv_window_ms: str) -> None:
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self._api_key = api_key
        self._recv_window = recv_window_ms
        self._key_and_window = (api_key + recv_window_ms).encode()

    def headers(self, timestamp_ms: str, payload: bytes) -> dict[str, str]:
        """Return the X-BAPI-* headers (signature type 2, HMAC) of a request sending `payload`."""
        mac = self._keyed.copy()
        mac.update(timestamp_ms.encode() + self._key_and_window + payload)
        return {
            "X-BAPI-API-KEY": self._api_key,
            "X-BAPI-TIMESTAMP": timestamp_ms,
            "X-BAPI-SIGN": mac.hexdigest(),
            "X-BAPI-RECV-WINDOW": self._recv_window,
            "X-BAPI-SIGN-TYPE": "2",
        }


def ws_auth_signature(secret: str, expires_ms: int) -> str:
    """Return the signature of a private-websocket auth request expiring at `expires_ms`."""
    return sign(secret, f"GET/realtime{expires_ms}")


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected, given)


def query_string(params: dict[str, str]) -> str:
    """Return the GET payload the way pybit builds it: keys sorted, k=v joined by &, no encoding."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))
