"""The worked signature vectors of the Bybit reference (section 2.3) must match exactly."""

import pytest

from shared.bybit import wire
from shared.bybit.auth import query_string, rest_signature, signatures_match, ws_auth_signature
from shared.bybit.rest import encode_body

API_KEY = "CFEJUGQEQPPHGOHGHM"
API_SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
TIMESTAMP = "1658384314791"
RECV_WINDOW = "5000"

COMPACT_BODY = (
    '{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit",'
    '"qty":"0.001","price":"60000","timeInForce":"GTC","orderLinkId":"bot-0001"}'
)
PYBIT_BODY = (
    '{"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", '
    '"qty": "0.001", "price": "60000", "timeInForce": "GTC", "orderLinkId": "bot-0001"}'
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            "category=linear&symbol=BTCUSDT",
            "6d765638b4e69592b3f7258bc14206d6b89516b495c3db05c6c781c6f987819f",
        ),
        (COMPACT_BODY, "4b83ce531db1c60a862489a99bc7805b547375077c8c90d8d4cf0cab66f486f7"),
        (PYBIT_BODY, "5d3daf53586ac0e690a888e63acfe295f112635c1bf11e50024a5461b17c1866"),
    ],
    ids=["get", "post_compact", "post_pybit_spacing"],
)
def test_rest_signature_matches_reference_vector(payload: str, expected: str) -> None:
    assert rest_signature(API_SECRET, TIMESTAMP, API_KEY, RECV_WINDOW, payload) == expected


def test_ws_auth_signature_matches_reference_vector() -> None:
    signature = ws_auth_signature(API_SECRET, 1662350400000)

    assert signature == "06f9ae2e99920f9b2838bea70215b2b1f1e30ae7665078e97d0a8b76b47d1094"


def test_query_string_sorts_keys_and_does_not_encode() -> None:
    params = {"symbol": "BTCUSDT", "cursor": "page_args%3Dfd43%26", "category": "linear"}

    assert query_string(params) == "category=linear&cursor=page_args%3Dfd43%26&symbol=BTCUSDT"


def test_get_vector_is_signed_over_the_sorted_query_string() -> None:
    payload = query_string({"symbol": "BTCUSDT", "category": "linear"})

    signature = rest_signature(API_SECRET, TIMESTAMP, API_KEY, RECV_WINDOW, payload)

    assert signature == "6d765638b4e69592b3f7258bc14206d6b89516b495c3db05c6c781c6f987819f"


def test_signatures_match_only_for_equal_strings() -> None:
    good = rest_signature(API_SECRET, TIMESTAMP, API_KEY, RECV_WINDOW, COMPACT_BODY)
    bad = rest_signature(API_SECRET, TIMESTAMP, API_KEY, RECV_WINDOW, PYBIT_BODY)

    assert signatures_match(good, good)
    assert not signatures_match(good, bad)


def test_order_body_is_encoded_as_the_compact_vector_without_none_fields() -> None:
    request = wire.OrderCreateRequest(
        symbol="BTCUSDT",
        side="Buy",
        order_type="Limit",
        qty="0.001",
        price="60000",
        time_in_force="GTC",
        order_link_id="bot-0001",
    )

    body = encode_body(request)

    assert body.decode() == COMPACT_BODY
    signature = rest_signature(API_SECRET, TIMESTAMP, API_KEY, RECV_WINDOW, body.decode())
    assert signature == "4b83ce531db1c60a862489a99bc7805b547375077c8c90d8d4cf0cab66f486f7"


def test_body_keeps_false_and_zero_but_drops_none() -> None:
    request = wire.OrderCreateRequest(
        symbol="BTCUSDT",
        side="Sell",
        order_type="Market",
        qty="1",
        position_idx=0,
        reduce_only=False,
    )

    body = encode_body(request)

    assert body == (
        b'{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market",'
        b'"qty":"1","positionIdx":0,"reduceOnly":false}'
    )
