from services.simulator.rest_auth import AuthFailure, authenticate
from shared.bybit.auth import rest_signature

KEY, SECRET = "CFEJUGQEQPPHGOHGHM", "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
NOW = 1658384314791
QUERY = "category=linear&symbol=BTCUSDT"


def _headers(ts: int = NOW, sign: str | None = None, key: str = KEY) -> dict[str, str]:
    return {
        "X-BAPI-API-KEY": key,
        "X-BAPI-TIMESTAMP": str(ts),
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": sign or rest_signature(SECRET, str(ts), key, "5000", QUERY),
    }


def test_reference_vector_is_accepted() -> None:
    headers = _headers(sign="6d765638b4e69592b3f7258bc14206d6b89516b495c3db05c6c781c6f987819f")
    assert authenticate(headers, QUERY, {KEY: SECRET}, NOW) == KEY


def test_tampered_payload_is_a_signature_error() -> None:
    result = authenticate(_headers(), QUERY + "&qty=1", {KEY: SECRET}, NOW)
    assert isinstance(result, AuthFailure)
    assert result.ret_code == 10004


def test_timestamp_window_is_bybits() -> None:
    secrets = {KEY: SECRET}
    assert authenticate(_headers(ts=NOW - 5000), QUERY, secrets, NOW) == KEY
    too_old = authenticate(_headers(ts=NOW - 5001), QUERY, secrets, NOW)
    too_new = authenticate(_headers(ts=NOW + 1000), QUERY, secrets, NOW)
    assert isinstance(too_old, AuthFailure)
    assert isinstance(too_new, AuthFailure)
    assert (too_old.ret_code, too_new.ret_code) == (10002, 10002)


def test_unknown_key_and_missing_headers() -> None:
    unknown = authenticate(_headers(key="nobody"), QUERY, {KEY: SECRET}, NOW)
    missing = authenticate({}, QUERY, {KEY: SECRET}, NOW)
    assert isinstance(unknown, AuthFailure)
    assert isinstance(missing, AuthFailure)
    assert (unknown.ret_code, missing.http_status) == (10003, 401)
