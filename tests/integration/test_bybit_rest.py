"""BybitRest against a scripted Bybit-like HTTP server on 127.0.0.1 that verifies signatures."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.bybit import wire
from shared.bybit.auth import rest_signature, signatures_match
from shared.bybit.errors import (
    BadResponse,
    ConnectFailed,
    CredentialsMissing,
    HttpStatusError,
    NetworkError,
    RateLimited,
    RequestTimeout,
    VenueError,
)
from shared.bybit.rest import BybitRest, RetryPolicy, endpoint_group
from shared.runtime import LiveClock
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES

pytestmark = pytest.mark.integration

KEY = "CFEJUGQEQPPHGOHGHM"
SECRET = "VDFZSSPUTKRJMXAVMJXBHEXIPZNZJIZUBVRQ"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0.1)

POSITION = {"symbol": "BTCUSDT", "side": "Buy", "size": "0.5", "avgPrice": "60000"}
ORDER_IDS = {"orderId": "1321003749386327552", "orderLinkId": "bot-0001"}
BOOK: dict[str, Any] = {"s": "BTCUSDT", "a": [["65557.7", "16.6"]], "b": [["65485.4", "47.0"]]}
BOOK |= {"ts": 1716863719031, "u": 230704, "seq": 1432604333, "cts": 1716863718905}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Seen:
    """One request as the server received it, before any decoding."""

    method: str
    path: str
    query: str  # raw, exactly as on the request line
    body: bytes
    headers: dict[str, str]
    arrived_ms: int


Reply = Callable[[web.Request], Any]


def ok(result: Any, headers: dict[str, str] | None = None) -> Reply:
    return envelope(0, "OK", result, headers)


def envelope(
    code: int, msg: str, result: Any = None, headers: dict[str, str] | None = None
) -> Reply:
    body = {"retCode": code, "retMsg": msg, "result": result or {}, "retExtInfo": {}}

    def reply(_: web.Request) -> web.Response:
        return web.json_response(body | {"time": _now_ms()}, headers=headers)

    return reply


def status(code: int, text: str) -> Reply:
    return lambda _: web.Response(status=code, text=text)


def raw(body: bytes) -> Reply:
    return lambda _: web.Response(body=body, content_type="application/json")


def drop() -> Reply:
    def reply(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.abort()  # the connection dies with no answer
        return web.Response()

    return reply


def hang() -> Reply:
    async def reply(_: web.Request) -> web.Response:
        await asyncio.Event().wait()  # never answers; the server's close cancels it
        raise AssertionError("unreachable")

    return reply


@dataclass
class FakeVenue:
    """Answers each path from a script (the last reply repeats) and checks auth like Bybit."""

    base_url: str = ""
    offset_ms: int = 0  # how far the venue's clock is ahead of ours
    seen: list[Seen] = field(default_factory=list)
    script: dict[str, list[Reply]] = field(default_factory=dict)

    def on(self, path: str, *replies: Reply) -> None:
        self.script[path] = list(replies)

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path, _, query = request.raw_path.partition("?")
        seen = Seen(
            request.method,
            path,
            query,
            await request.read(),
            dict(request.headers),
            _now_ms() + self.offset_ms,
        )
        self.seen.append(seen)
        if path == "/v5/market/time":
            now_ns = time.time_ns() + self.offset_ms * 1_000_000
            return await _call(
                ok({"timeSecond": str(now_ns // 10**9), "timeNano": str(now_ns)}), request
            )
        refusal = self._check_auth(seen)
        if refusal is not None:
            return await _call(refusal, request)
        replies = self.script[path]
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return await _call(reply, request)

    def _check_auth(self, seen: Seen) -> Reply | None:
        if "X-BAPI-API-KEY" not in seen.headers:
            return None
        timestamp = seen.headers["X-BAPI-TIMESTAMP"]
        recv_window = seen.headers["X-BAPI-RECV-WINDOW"]
        payload = seen.body.decode() if seen.method == "POST" else seen.query
        expected = rest_signature(
            SECRET, timestamp, seen.headers["X-BAPI-API-KEY"], recv_window, payload
        )
        if not signatures_match(expected, seen.headers["X-BAPI-SIGN"]):
            return envelope(10004, "error sign!")
        if not seen.arrived_ms - int(recv_window) <= int(timestamp) < seen.arrived_ms + 1000:
            return envelope(10002, "invalid request, please check your server timestamp")
        return None


async def _call(reply: Reply, request: web.Request) -> web.StreamResponse:
    response = reply(request)
    if asyncio.iscoroutine(response):
        response = await response
    assert isinstance(response, web.StreamResponse)
    return response


@pytest.fixture
async def venue() -> AsyncIterator[FakeVenue]:
    fake = FakeVenue()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
async def rest(venue: FakeVenue) -> AsyncIterator[BybitRest]:
    client = BybitRest(
        venue.base_url, api_key=KEY, api_secret=SECRET, retry=FAST_RETRY, clock=LiveClock()
    )
    yield client
    await client.close()


def _create_request() -> wire.OrderCreateRequest:
    return wire.OrderCreateRequest(
        symbol="BTCUSDT",
        side="Buy",
        order_type="Limit",
        qty="0.001",
        price="60000",
        time_in_force="GTC",
        order_link_id="bot-0001",
    )


# ------------------------------------------------------------------ signing


async def test_signed_get_is_signed_over_the_raw_query_and_sends_no_body(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/position/list", ok({"list": [POSITION], "nextPageCursor": ""}))

    positions = await rest.positions(symbol="BTCUSDT")

    assert [p.symbol for p in positions] == ["BTCUSDT"]
    (seen,) = venue.seen
    assert seen.method == "GET"
    assert seen.query == "category=linear&limit=200&symbol=BTCUSDT"
    assert seen.body == b""
    assert "Content-Type" not in seen.headers
    timestamp = seen.headers["X-BAPI-TIMESTAMP"]
    assert seen.headers["X-BAPI-SIGN"] == rest_signature(SECRET, timestamp, KEY, "5000", seen.query)
    assert seen.headers["X-BAPI-SIGN-TYPE"] == "2"


async def test_signed_post_sends_compact_json_without_nulls_signed_as_sent(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", ok(ORDER_IDS))

    ids = await rest.create_order(_create_request())

    assert ids.order_link_id == "bot-0001"
    (seen,) = venue.seen
    assert seen.body == (
        b'{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit",'
        b'"qty":"0.001","price":"60000","timeInForce":"GTC","orderLinkId":"bot-0001"}'
    )
    assert seen.headers["Content-Type"] == "application/json"
    timestamp = seen.headers["X-BAPI-TIMESTAMP"]
    expected = rest_signature(SECRET, timestamp, KEY, "5000", seen.body.decode())
    assert seen.headers["X-BAPI-SIGN"] == expected


async def test_public_get_sends_no_auth_headers(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/market/orderbook", ok(BOOK))

    book = await rest.orderbook("BTCUSDT", limit=1)

    assert book.u == 230704
    (seen,) = venue.seen
    assert seen.query == "category=linear&limit=1&symbol=BTCUSDT"
    assert not any(name.startswith("X-BAPI") for name in seen.headers)


async def test_wrong_secret_is_refused_by_the_verifier(venue: FakeVenue) -> None:
    venue.on("/v5/position/list", ok({"list": [], "nextPageCursor": ""}))
    client = BybitRest(venue.base_url, api_key=KEY, api_secret="wrong", retry=FAST_RETRY)

    with pytest.raises(VenueError) as caught:
        await client.positions()
    await client.close()

    assert caught.value.ret_code == 10004


async def test_signed_call_without_keys_raises_before_sending(venue: FakeVenue) -> None:
    client = BybitRest(venue.base_url, retry=FAST_RETRY)

    with pytest.raises(CredentialsMissing, match="api_key"):
        await client.wallet_balance()
    await client.close()

    assert venue.seen == []


# ------------------------------------------------------------------ retries


async def test_get_is_retried_after_the_connection_drops(venue: FakeVenue, rest: BybitRest) -> None:
    # aiohttp itself may resend an idempotent GET once on a dropped connection: two drops
    # make sure our retry is exercised whether it does or not.
    venue.on("/v5/market/orderbook", drop(), drop(), ok(BOOK))

    book = await rest.orderbook("BTCUSDT")

    assert book.s == "BTCUSDT"
    assert len(venue.seen) == 3
    assert rest.stats.retries >= 1
    assert rest.stats.errors["network"] >= 1


async def test_dropped_post_is_not_resent_and_its_outcome_is_unknown(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", drop(), ok(ORDER_IDS))

    with pytest.raises(NetworkError) as caught:
        await rest.create_order(_create_request())

    assert len(venue.seen) == 1
    assert caught.value.outcome_unknown
    assert rest.stats.retries == 0


async def test_get_is_retried_on_5xx(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/market/orderbook", status(502, "bad gateway"), status(503, "busy"), ok(BOOK))

    book = await rest.orderbook("BTCUSDT")

    assert book.s == "BTCUSDT"
    assert len(venue.seen) == 3
    assert rest.stats.retries == 2
    assert rest.stats.requests == 3


async def test_refused_connection_is_retried_then_raised_as_outcome_known() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        client = BybitRest(f"http://127.0.0.1:{port}", retry=FAST_RETRY)

        with pytest.raises(ConnectFailed) as caught:
            await client.orderbook("BTCUSDT")
        await client.close()

    assert client.stats.requests == 3
    assert client.stats.retries == 2
    assert not caught.value.outcome_unknown


async def test_no_answer_raises_request_timeout_with_outcome_unknown(venue: FakeVenue) -> None:
    venue.on("/v5/market/orderbook", hang())
    client = BybitRest(venue.base_url, timeout_s=0.1, retry=FAST_RETRY)

    with pytest.raises(RequestTimeout) as caught:
        await client.orderbook("BTCUSDT")
    await client.close()

    assert len(venue.seen) == 3
    assert isinstance(caught.value, NetworkError)
    assert caught.value.outcome_unknown


async def test_rate_limited_get_waits_until_the_reset_header(
    venue: FakeVenue, rest: BybitRest
) -> None:
    reset_ms = _now_ms() + 300
    limited = {
        "X-Bapi-Limit": "50",
        "X-Bapi-Limit-Status": "0",
        "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
    }
    venue.on("/v5/market/orderbook", envelope(10006, "Too many visits!", headers=limited), ok(BOOK))

    book = await rest.orderbook("BTCUSDT")

    assert book.s == "BTCUSDT"
    first, second = venue.seen
    assert first.arrived_ms < reset_ms <= second.arrived_ms
    assert rest.stats.errors["rate_limited"] == 1


async def test_rate_limit_left_after_all_attempts_carries_code_and_reset(
    venue: FakeVenue, rest: BybitRest
) -> None:
    reset_ms = _now_ms() + 20
    limited = {"X-Bapi-Limit": "50", "X-Bapi-Limit-Status": "0"}
    limited["X-Bapi-Limit-Reset-Timestamp"] = str(reset_ms)
    venue.on("/v5/market/orderbook", envelope(10006, "Too many visits!", headers=limited))

    with pytest.raises(RateLimited) as caught:
        await rest.orderbook("BTCUSDT")

    assert len(venue.seen) == 3
    assert caught.value.ret_code == 10006
    assert caught.value.ret_msg == "Too many visits!"
    assert caught.value.reset_at_ms == reset_ms
    assert caught.value.outcome_unknown


async def test_business_error_is_not_retried_and_carries_code_and_message(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/cancel", envelope(110001, "Order does not exist"))
    request = wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="bot-0001")

    with pytest.raises(VenueError) as caught:
        await rest.cancel_order(request, retry=True)

    assert len(venue.seen) == 1
    assert caught.value.ret_code == 110001
    assert caught.value.ret_msg == "Order does not exist"
    assert not caught.value.outcome_unknown
    assert (
        venue.seen[0].body == b'{"category":"linear","symbol":"BTCUSDT","orderLinkId":"bot-0001"}'
    )


async def test_4xx_is_not_retried(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/market/orderbook", status(403, "access too frequent"))

    with pytest.raises(HttpStatusError) as caught:
        await rest.orderbook("BTCUSDT")

    assert len(venue.seen) == 1
    assert caught.value.status == 403
    assert caught.value.body == "access too frequent"
    assert not caught.value.outcome_unknown


async def test_post_is_not_retried_without_retry(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/order/create", status(502, "bad gateway"), ok(ORDER_IDS))

    with pytest.raises(HttpStatusError) as caught:
        await rest.create_order(_create_request())

    assert len(venue.seen) == 1
    assert caught.value.status == 502
    assert caught.value.outcome_unknown


async def test_post_with_retry_resends_the_same_body_freshly_signed(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", drop(), ok(ORDER_IDS))

    ids = await rest.create_order(_create_request(), retry=True)

    assert ids.order_id == ORDER_IDS["orderId"]
    first, second = venue.seen
    assert first.body == second.body
    assert b'"orderLinkId":"bot-0001"' in second.body


async def test_resend_answered_duplicate_id_keeps_the_outcome_unknown(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", drop(), envelope(110072, "OrderLinkedID is duplicate"))

    with pytest.raises(VenueError) as caught:
        await rest.create_order(_create_request(), retry=True)

    assert caught.value.ret_code == 110072
    assert caught.value.outcome_unknown  # the dropped first send may have created it


async def test_business_error_after_a_send_in_doubt_is_still_in_doubt(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", drop(), envelope(110007, "ab not enough for new order"))

    with pytest.raises(VenueError) as caught:
        await rest.create_order(_create_request(), retry=True)

    assert caught.value.ret_code == 110007
    assert caught.value.outcome_unknown


async def test_a_malformed_ticker_is_dropped_and_the_others_kept(
    venue: FakeVenue, rest: BybitRest
) -> None:
    good = json.loads((FIXTURES / "rest_market_tickers_linear.json").read_text())["result"]["list"][
        :2
    ]
    bad = dict(good[0], symbol="BADUSDT", lastPrice="")
    venue.on("/v5/market/tickers", ok({"category": "linear", "list": [good[0], bad, good[1]]}))

    tickers = await rest.tickers()

    assert [t.symbol for t in tickers] == [good[0]["symbol"], good[1]["symbol"]]
    assert rest.stats.errors["bad_ticker"] == 1


async def test_leverage_not_modified_is_success(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/position/set-leverage", envelope(110043, "Set leverage not modified"))
    request = wire.SetLeverageRequest(symbol="BTCUSDT", buy_leverage="5", sell_leverage="5")

    await rest.set_leverage(request)

    assert len(venue.seen) == 1


# ------------------------------------------------------------------ decoding


async def test_non_json_body_raises_bad_response(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/market/orderbook", raw(b"<html>gateway</html>"))

    with pytest.raises(BadResponse, match="not a Bybit envelope"):
        await rest.orderbook("BTCUSDT")

    assert len(venue.seen) == 1


async def test_wrongly_shaped_result_raises_bad_response(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/market/orderbook", ok({"s": "BTCUSDT"}))

    with pytest.raises(BadResponse, match="does not fit OrderBookResult"):
        await rest.orderbook("BTCUSDT")


async def test_captured_tickers_body_decodes(venue: FakeVenue, rest: BybitRest) -> None:
    body = (FIXTURES / "rest_market_tickers_linear.json").read_bytes()
    venue.on("/v5/market/tickers", raw(body))

    tickers = await rest.tickers()

    assert len(tickers) > 100
    assert venue.seen[0].query == "category=linear"


# ------------------------------------------------------------------ time, paging, budget


async def test_sync_time_measures_the_offset_and_signs_with_it(
    venue: FakeVenue, rest: BybitRest
) -> None:
    # The venue is 8 s ahead: unsynced timestamps are older than the 5 s recv window.
    venue.offset_ms = 8_000
    venue.on("/v5/position/list", ok({"list": [], "nextPageCursor": ""}))
    with pytest.raises(VenueError) as caught:
        await rest.positions()
    assert caught.value.ret_code == 10002

    offset_ns = await rest.sync_time()
    await rest.positions()

    assert abs(offset_ns - 8_000_000_000) < 500_000_000
    assert rest.time_offset_ns == offset_ns
    assert abs(rest.venue_now_ms() - (_now_ms() + 8_000)) < 500


async def test_instruments_follow_the_cursor_until_it_is_empty(
    venue: FakeVenue, rest: BybitRest
) -> None:
    pages = [("A", "page_args%3DA%26"), ("B", "page_args%3DB%26"), ("C", "")]
    venue.on(
        "/v5/market/instruments-info",
        *(ok(_instruments_page(symbol, cursor)) for symbol, cursor in pages),
    )

    instruments = await rest.instruments()

    assert [i.symbol for i in instruments] == ["AUSDT", "BUSDT", "CUSDT"]
    queries = [s.query for s in venue.seen]
    base = "category=linear&limit=1000&status=Trading"
    assert queries == [
        base,
        "category=linear&cursor=page_args%3DA%26&limit=1000&status=Trading",
        "category=linear&cursor=page_args%3DB%26&limit=1000&status=Trading",
    ]


async def test_a_repeated_cursor_stops_paging(venue: FakeVenue, rest: BybitRest) -> None:
    venue.on("/v5/market/instruments-info", ok(_instruments_page("A", "same")))

    with pytest.raises(BadResponse, match="cursor repeated"):
        await rest.instruments()

    assert len(venue.seen) == 2


async def test_rate_headers_reach_the_budget(venue: FakeVenue, rest: BybitRest) -> None:
    reset_ms = _now_ms()
    headers = {
        "X-Bapi-Limit": "10",
        "X-Bapi-Limit-Status": "7",
        "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
    }
    venue.on("/v5/order/create", ok(ORDER_IDS, headers=headers))

    created = await rest.create_order_timed(_create_request())

    assert rest.budget.snapshot() == {
        "/v5/order/create": {"limit": 10, "remaining": 7, "reset_ms": reset_ms}
    }
    assert created.timing.path == "/v5/order/create"
    assert 0 < created.timing.latency_ns < 2_000_000_000


async def test_the_sent_time_is_after_the_call_and_before_the_venue_saw_the_request(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", ok(ORDER_IDS))
    called_ms = _now_ms()

    created = await rest.create_order_timed(_create_request())

    sent_ms, received_ms = created.timing.sent_ns / 1e6, created.timing.received_ns / 1e6
    assert called_ms <= sent_ms <= venue.seen[-1].arrived_ms + 1 <= received_ms + 1


def _instruments_page(base: str, cursor: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / "rest_market_instruments_info_linear.json").read_bytes())
    instrument = document["result"]["list"][0] | {"symbol": f"{base}USDT"}
    return {"category": "linear", "list": [instrument], "nextPageCursor": cursor}


def raw_body(body: bytes) -> Reply:
    return lambda _: web.Response(body=body, content_type="application/json")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"retCode":0,"retMsg":"O\xffK","result":{},"time":1}', "not_utf8"),
        (b'{"retCode":0,"retMsg":"OK","result":{"orderId":"\xc3","orderLinkId":"x"}}', "not_utf8"),
        (b'{"retCode":0,"retMsg":"OK","result":' + b"[" * 5000, "too_deep"),
        (b'{"retCode":0,"retMsg":"OK","result":{}', "not_json"),
        (b'{"retCode":"0","retMsg":"OK","result":{}}', "wrong_shape"),
    ],
)
async def test_an_unreadable_body_is_a_bad_response_counted_by_reason(
    venue: FakeVenue, rest: BybitRest, body: bytes, reason: str
) -> None:
    # Before: invalid UTF-8 escaped the client as UnicodeDecodeError, past every caller.
    venue.on("/v5/order/create", raw_body(body))

    with pytest.raises(BadResponse) as caught:
        await rest.create_order(_create_request())

    assert caught.value.reason == reason
    assert caught.value.outcome_unknown
    assert rest.stats.errors["bad_response"] == 1
    assert rest.stats.dropped == {reason: 1}


async def test_a_ticker_that_is_not_utf8_is_dropped_and_the_others_kept(
    venue: FakeVenue, rest: BybitRest
) -> None:
    good = json.loads((FIXTURES / "rest_market_tickers_linear.json").read_text())["result"]["list"]
    first, second = (json.dumps(t).encode() for t in good[:2])
    bad = first.replace(b'"symbol": "', b'"symbol": "\xff', 1)
    body = b'{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[%s,%s,%s]}}' % (
        first,
        bad,
        second,
    )
    venue.on("/v5/market/tickers", raw_body(body))

    tickers = await rest.tickers()

    assert [t.symbol for t in tickers] == [good[0]["symbol"], good[1]["symbol"]]
    assert rest.stats.errors["bad_ticker"] == 1
    assert rest.stats.dropped == {"not_utf8": 1}


# ------------------------------------------------------------------ hot path and batches


def _batch_body(items: list[dict[str, str]], statuses: list[tuple[int, str]]) -> bytes:
    ext = {"list": [{"code": code, "msg": msg} for code, msg in statuses]}
    result = {"list": items}
    return json.dumps({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": ext}).encode()


def _cancel(link_id: str) -> wire.OrderCancelRequest:
    return wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id=link_id)


async def test_a_batch_is_sent_as_one_body_and_answered_per_order(
    venue: FakeVenue, rest: BybitRest
) -> None:
    items = [{"orderId": "1", "orderLinkId": "c-1"}, {"orderId": "", "orderLinkId": ""}]
    venue.on("/v5/order/cancel-batch", raw_body(_batch_body(items, [(0, "OK"), (110001, "no")])))

    timed = await rest.cancel_batch([_cancel("c-1"), _cancel("c-2")])

    assert [(i.order_link_id, i.order_id, i.code, i.message) for i in timed.value] == [
        ("c-1", "1", 0, "OK"),
        ("c-2", "", 110001, "no"),  # the venue left the id out: the one sent is kept
    ]
    (seen,) = venue.seen
    assert json.loads(seen.body) == {
        "category": "linear",
        "request": [
            {"symbol": "BTCUSDT", "orderLinkId": "c-1"},
            {"symbol": "BTCUSDT", "orderLinkId": "c-2"},
        ],
    }


async def test_a_batch_refused_as_a_whole_raises_like_a_single_call(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/cancel-batch", envelope(10001, "params error"))

    with pytest.raises(VenueError) as caught:
        await rest.cancel_batch([_cancel("c-1")])

    assert caught.value.ret_code == 10001
    assert not caught.value.outcome_unknown


async def test_a_batch_lost_in_transport_is_outcome_unknown(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create-batch", drop())

    with pytest.raises(NetworkError) as caught:
        await rest.create_batch([_create_request()])

    assert caught.value.outcome_unknown
    assert len(venue.seen) == 1  # a create is not resent


async def test_a_batch_answer_missing_an_order_is_a_bad_response(
    venue: FakeVenue, rest: BybitRest
) -> None:
    items = [{"orderId": "1", "orderLinkId": "c-1"}]
    venue.on("/v5/order/cancel-batch", raw_body(_batch_body(items, [(0, "OK")])))

    with pytest.raises(BadResponse, match=r"2 orders sent, 1 in result\.list") as caught:
        await rest.cancel_batch([_cancel("c-1"), _cancel("c-2")])

    assert caught.value.outcome_unknown
    assert rest.stats.dropped == {"wrong_shape": 1}


async def test_a_started_create_lost_in_transport_is_outcome_unknown_and_not_resent(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/create", drop(), ok(ORDER_IDS))
    await rest.warm(1)

    pending = rest.start_create_order(_create_request())
    assert pending is not None
    with pytest.raises(NetworkError) as caught:
        await pending.result()

    assert caught.value.outcome_unknown
    assert len(venue.seen) == 1
    assert rest.stats.errors["network"] == 1


async def test_a_started_amend_with_retry_is_retried_the_async_way(
    venue: FakeVenue, rest: BybitRest
) -> None:
    venue.on("/v5/order/amend", status(502, "bad gateway"), ok(ORDER_IDS))
    await rest.warm(1)

    pending = rest.start_amend_order(
        wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="bot-0001", qty="1"), retry=True
    )
    assert pending is not None
    timed = await pending.result()

    assert timed.value.order_id == ORDER_IDS["orderId"]
    assert timed.timing.attempts == 2
    assert timed.timing.sent_ns > pending.sent_ns  # the timing is the answered attempt's
    assert len(venue.seen) == 2
    assert rest.stats.requests == 2


async def test_a_started_call_times_out_from_its_send(venue: FakeVenue) -> None:
    venue.on("/v5/order/create", hang())
    client = BybitRest(venue.base_url, api_key=KEY, api_secret=SECRET, timeout_s=0.1)
    await client.warm(1)

    pending = client.start_create_order(_create_request())
    assert pending is not None
    with pytest.raises(RequestTimeout) as caught:
        await pending.result()
    await client.close()

    assert caught.value.outcome_unknown
    assert client.idle_connections == 0  # the timed-out connection is not reused


async def test_a_started_call_without_keys_raises_before_sending(venue: FakeVenue) -> None:
    client = BybitRest(venue.base_url, retry=FAST_RETRY)
    await client.warm(1)

    with pytest.raises(CredentialsMissing):
        client.start_create_order(_create_request())
    await client.close()

    assert venue.seen == []


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/v5/order/create", "orders"),
        ("/v5/order/amend", "orders"),
        ("/v5/order/cancel", "orders"),
        ("/v5/order/cancel-all", "orders"),
        ("/v5/order/create-batch", "orders"),
        ("/v5/order/amend-batch", "orders"),
        ("/v5/order/cancel-batch", "orders"),
        ("/v5/order/realtime", "queries"),
        ("/v5/position/set-leverage", "queries"),
        ("/v5/market/time", "queries"),
    ],
)
def test_endpoint_group_puts_the_order_changing_paths_in_orders(path: str, group: str) -> None:
    assert endpoint_group(path) == group
