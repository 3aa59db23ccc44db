"""Bybit V5 REST client (category=linear): signing, time offset, retries, rate budget, decoding.

Every method returns the decoded wire type; the order endpoints' `*_timed` variants and the
batch methods return it in a `Timed`, with the timing of the request that produced it: a
call's timing comes back with its result, never through shared state.

The hot path: `start_create_order` and the other `start_*` methods sign the request and write
it to an idle connection without awaiting anything, and return a `PendingCall` whose
`result()` reads the answer; they return None (nothing sent) when no connection is idle or
the rate budget says to wait: the caller then uses the async method. `warm(n)` keeps n
connections idle. Several calls may be in flight at once, one per connection.

Batches (create-batch, amend-batch, cancel-batch, 1 .. 20 orders) answer per order, in a
BatchItemResult each; the rate budget counts each order of a batch.

Retries: only transport failures, HTTP 5xx and retCode 10006, with capped exponential
backoff and jitter. GET requests retry by default; a POST changes state, so it retries only
when the caller passes retry=True (a resent order create reuses its orderLinkId, so a
duplicate is answered 110072 instead of creating a second order).
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

import msgspec

from shared.bybit import wire, wire_more
from shared.bybit.auth import RestSigner, query_string
from shared.bybit.errors import (
    BadResponse,
    BybitError,
    ConnectFailed,
    CredentialsMissing,
    HttpStatusError,
    NetworkError,
    RateLimited,
    RequestTimeout,
    VenueError,
)
from shared.bybit.http1 import ConnectError, Http1Client, HttpError, PendingResponse, Response
from shared.bybit.ratelimit import RateBudget
from shared.bybit.rest_decode import decode_response, decode_result
from shared.bybit.wire_more import BatchItemResult
from shared.runtime.backoff import backoff_delays
from shared.runtime.clock import Clock, LiveClock

log = logging.getLogger(__name__)

T = TypeVar("T")
Item = TypeVar("Item")

NS_PER_MS: Final = 1_000_000
CATEGORY: Final = "linear"
LEVERAGE_NOT_MODIFIED: Final = 110043
MAX_PAGES: Final = 100
MAX_BATCH: Final = 20  # orders per batch request (linear)

CREATE: Final = "/v5/order/create"
AMEND: Final = "/v5/order/amend"
CANCEL: Final = "/v5/order/cancel"
CANCEL_ALL: Final = "/v5/order/cancel-all"
CREATE_BATCH: Final = "/v5/order/create-batch"
AMEND_BATCH: Final = "/v5/order/amend-batch"
CANCEL_BATCH: Final = "/v5/order/cancel-batch"
ORDER_PATHS: Final = frozenset(
    {CREATE, AMEND, CANCEL, CANCEL_ALL, CREATE_BATCH, AMEND_BATCH, CANCEL_BATCH}
)

_ENCODER: Final = msgspec.json.Encoder()


def endpoint_group(path: str) -> str:
    """Return "orders" for the endpoints that place, amend or cancel orders, else "queries"."""
    return "orders" if path in ORDER_PATHS else "queries"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a retryable request is tried again."""

    max_attempts: int = 3  # attempts in all, the first included
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 2.0
    jitter: float = 0.2  # fraction: 0.2 = +/-20 %

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")


@dataclass(frozen=True)
class Timing:
    """When the successful attempt's last bytes left and when its answer arrived (Clock ns)."""

    path: str
    sent_ns: int
    received_ns: int
    attempts: int

    @property
    def latency_ns(self) -> int:
        return self.received_ns - self.sent_ns


@dataclass(frozen=True, slots=True)
class Timed(Generic[T]):
    """A call's decoded result and the timing of the request that produced it."""

    value: T
    timing: Timing


@dataclass
class RestStats:
    """Counters only grow; metrics read them."""

    requests: int = 0  # attempts sent, retries included
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # failed attempts by BybitError.kind
    # Bodies that could not be read (BadResponse, and single tickers), by VenueDropReason.
    dropped: Counter[str] = field(default_factory=Counter)


class _Request(NamedTuple):  # a NamedTuple: immutable and cheap to build per request
    method: str
    path: str
    query: str = ""  # exactly what goes after '?', and what a GET signs
    body: bytes | None = None  # exactly what is sent, and what a POST signs
    signed: bool = False
    ok_codes: frozenset[int] = frozenset()  # retCodes that mean success for this call
    ref: str = ""  # an id for the logs (orderLinkId, orderId, symbol)
    units: int = 1  # what it counts against the rate budget (a batch: its orders)

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


Decode = Callable[[Response], T]  # an answer's status, headers and body -> the wire result


class _Started(NamedTuple):
    """A first attempt written by a start_* method: its answer, and its timeout's deadline."""

    pending: PendingResponse
    deadline: float  # event-loop time


class PendingCall(Generic[T]):
    """A request already written to the venue; `result()` reads and decodes its answer.

    Await result() exactly once: until then the call holds its connection.
    """

    __slots__ = ("_call", "path", "sent_ns")

    def __init__(self, path: str, sent_ns: int, call: Callable[[], Awaitable[Timed[T]]]) -> None:
        self.path = path
        self.sent_ns = sent_ns  # right after the request's bytes were handed to the connection
        self._call = call

    async def result(self) -> Timed[T]:
        """Read the answer and return it decoded, with its timing.

        Raises what the async method raises: BybitError (outcome_unknown for a transport
        failure), after the retries the call allows (these go the async way).
        """
        return await self._call()


class _Page(Protocol[Item]):
    list: list[Item]
    next_page_cursor: str


def encode_body(request: msgspec.Struct) -> bytes:
    """Return the JSON body of a request Struct: venue field names, None fields left out."""
    return _ENCODER.encode(_fields(request))


def _fields(request: msgspec.Struct) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(request)
    return {k: v for k, v in fields.items() if v is not None}


_OrderRequest = wire.OrderCreateRequest | wire.OrderAmendRequest | wire.OrderCancelRequest


def _order_call(path: str, request: _OrderRequest) -> _Request:
    order_id = None if isinstance(request, wire.OrderCreateRequest) else request.order_id
    ref = request.order_link_id or order_id or request.symbol
    return _Request("POST", path, body=encode_body(request), signed=True, ref=ref)


def _decoder(request: _Request, result_type: type[T]) -> Decode[T]:
    def decode(response: Response) -> T:
        return decode_response(
            request.path,
            response.status,
            response.headers,
            response.body,
            result_type,
            request.ok_codes,
        )

    return decode


def _batch_call(
    path: str, requests: Sequence[_OrderRequest]
) -> tuple[_Request, Decode[list[BatchItemResult]]]:
    """The batch's request and the decoding of its answer, one result per order sent."""
    if not 1 <= len(requests) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 .. {MAX_BATCH} orders, not {len(requests)}")
    items = []
    for request in requests:
        fields = _fields(request)
        del fields["category"]  # said once, for the whole batch
        items.append(fields)
    body = _ENCODER.encode({"category": CATEGORY, "request": items})
    link_ids = [request.order_link_id or "" for request in requests]
    ref = f"{link_ids[0] or requests[0].symbol}+{len(requests) - 1}"
    call = _Request("POST", path, body=body, signed=True, ref=ref, units=len(requests))

    def decode(response: Response) -> list[BatchItemResult]:
        ids = _decoder(call, wire_more.BatchIds)(response)  # raises if refused as a whole
        statuses = decode_result(response.body, wire_more.BatchEnvelope, path=path)
        try:
            return wire_more.batch_results(link_ids, ids.list, statuses.ret_ext_info.list)
        except ValueError as e:
            raise BadResponse(f"path={path} {e}", path=path, reason="wrong_shape") from None

    return call, decode


def _params(**values: str | int | None) -> dict[str, str]:
    """Return the query parameters, None left out, camelCase names given by the caller."""
    return {k: str(v) for k, v in values.items() if v is not None}


def _is_transient(e: BybitError) -> bool:
    """Return True for failures worth trying again: transport, 5xx and rate limit."""
    if isinstance(e, NetworkError | RateLimited):
        return True
    return isinstance(e, HttpStatusError) and e.status >= 500


class BybitRest:
    """A client of the Bybit V5 REST API for USDT perpetuals (over shared.bybit.http1)."""

    def __init__(  # noqa: PLR0913 -- the knobs of one venue connection, all keyword-only
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._recv_window = str(recv_window_ms)
        self._signer = (
            None
            if api_key is None or api_secret is None
            else RestSigner(api_key, api_secret, self._recv_window)
        )
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._clock: Clock = clock or LiveClock()
        self._budget = budget or RateBudget(self._clock)
        # Two pools: order calls never find their warmed connections taken by queries (a
        # reconciliation or a ticker read in flight) and pay a connect on the hot path.
        # Told of every attempt's outcome (path, when it was sent, the error or None): the
        # executor's circuit breakers per endpoint group listen here.
        self.observer: Callable[[str, int, BybitError | None], None] = lambda *_: None
        self._http = Http1Client(self._base_url, self._clock)
        self._http_orders = Http1Client(self._base_url, self._clock)
        self._offset_ns = 0
        self.stats = RestStats()

    @property
    def budget(self) -> RateBudget:
        return self._budget

    @property
    def time_offset_ns(self) -> int:
        """Venue time minus local time, as measured by the last sync_time()."""
        return self._offset_ns

    def now_ms(self) -> int:
        """Return local time in ms from the injected clock."""
        return self._clock.now_ns() // NS_PER_MS

    def venue_now_ms(self) -> int:
        """Return the venue's time in ms as estimated: local clock plus the measured offset."""
        return (self._clock.now_ns() + self._offset_ns) // NS_PER_MS

    async def close(self) -> None:
        """Close the idle connections (the client stays usable: it opens new ones)."""
        self._http.close()
        self._http_orders.close()

    async def warm(self, connections: int) -> None:
        """Open order connections until `connections` are idle, for the start_* methods
        to find (queries have a pool of their own).

        Raises ConnectFailed if one could not be opened (those that could are kept).
        """
        try:
            await self._http_orders.warm(connections)
        except ConnectError as e:
            raise ConnectFailed(f"warm: connect failed: {e}") from e

    @property
    def idle_connections(self) -> int:
        """Connections ready for a start_* call."""
        return self._http_orders.idle_connections

    # ------------------------------------------------------------ market (public)

    async def server_time(self) -> wire.ServerTime:
        """GET /v5/market/time."""
        return (await self._server_time_timed()).value

    async def _server_time_timed(self) -> Timed[wire.ServerTime]:
        request = _Request("GET", "/v5/market/time", query=query_string({}))
        return await self._call(request, _decoder(request, wire.ServerTime), retry=True)

    async def sync_time(self) -> int:
        """Measure and store the venue clock offset; return it in ns (positive: venue ahead).

        offset = server time - midpoint of the local send and receive times, so half of an
        asymmetric round trip is the error bound. Signed timestamps use local clock + offset.
        """
        answer = await self._server_time_timed()
        server, timing = answer.value, answer.timing
        midpoint_ns = (timing.sent_ns + timing.received_ns) // 2
        try:
            server_ns = int(server.time_nano)
        except ValueError:
            raise BadResponse(
                f"path=/v5/market/time timeNano not an integer: {server.time_nano!r}"
            ) from None
        self._offset_ns = server_ns - midpoint_ns
        log.info(
            "bybit time synced offset_ms=%.3f rtt_ms=%.3f",
            self._offset_ns / NS_PER_MS,
            timing.latency_ns / NS_PER_MS,
        )
        return self._offset_ns

    async def instruments(
        self, symbol: str | None = None, status: str = "Trading"
    ) -> list[wire.Instrument]:
        """GET /v5/market/instruments-info, every page (there are more than 500 symbols)."""
        params = _params(category=CATEGORY, symbol=symbol, status=status, limit=1000)
        return await self._paged("/v5/market/instruments-info", params, wire.InstrumentsPage)

    async def tickers(self, symbol: str | None = None) -> list[wire.Ticker]:
        """GET /v5/market/tickers: one symbol, or all of the category."""
        params = _params(category=CATEGORY, symbol=symbol)
        result = await self._get("/v5/market/tickers", wire.RawTickerList, params)
        tickers = []
        for raw in result.list:  # one by one: a malformed ticker must not hide the others
            try:
                tickers.append(decode_result(raw, wire.Ticker, path="/v5/market/tickers"))
            except BadResponse as e:
                self.stats.errors["bad_ticker"] += 1
                self.stats.dropped[e.reason] += 1
                log.error("dropped malformed ticker error=%s head=%r", e, bytes(raw)[:120])
        return tickers

    async def orderbook(self, symbol: str, limit: int = 25) -> wire.OrderBookResult:
        """GET /v5/market/orderbook: a snapshot of `limit` levels per side."""
        params = _params(category=CATEGORY, symbol=symbol, limit=limit)
        return await self._get("/v5/market/orderbook", wire.OrderBookResult, params)

    async def recent_trades(self, symbol: str, limit: int = 500) -> list[wire.RecentTrade]:
        """GET /v5/market/recent-trade."""
        params = _params(category=CATEGORY, symbol=symbol, limit=limit)
        result = await self._get("/v5/market/recent-trade", wire.RecentTrades, params)
        return result.list

    async def klines(self, symbol: str, interval: str, limit: int = 200) -> list[list[str]]:
        """GET /v5/market/kline: [start, open, high, low, close, volume, turnover], newest first."""
        params = _params(category=CATEGORY, symbol=symbol, interval=interval, limit=limit)
        result = await self._get("/v5/market/kline", wire.Klines, params)
        return result.list

    # ------------------------------------------------------------ trade (signed)

    async def create_order(
        self, request: wire.OrderCreateRequest, retry: bool = False
    ) -> wire.OrderIds:
        """POST /v5/order/create: an acknowledgement only, the order's fate comes later."""
        return (await self.create_order_timed(request, retry)).value

    async def amend_order(
        self, request: wire.OrderAmendRequest, retry: bool = False
    ) -> wire.OrderIds:
        """POST /v5/order/amend."""
        return (await self.amend_order_timed(request, retry)).value

    async def cancel_order(
        self, request: wire.OrderCancelRequest, retry: bool = False
    ) -> wire.OrderIds:
        """POST /v5/order/cancel."""
        return (await self.cancel_order_timed(request, retry)).value

    async def create_order_timed(
        self, request: wire.OrderCreateRequest, retry: bool = False
    ) -> Timed[wire.OrderIds]:
        """POST /v5/order/create, with the timing of the attempt that got the answer."""
        call = _order_call(CREATE, request)
        return await self._call(call, _decoder(call, wire.OrderIds), retry=retry)

    async def amend_order_timed(
        self, request: wire.OrderAmendRequest, retry: bool = False
    ) -> Timed[wire.OrderIds]:
        """POST /v5/order/amend, with its timing."""
        call = _order_call(AMEND, request)
        return await self._call(call, _decoder(call, wire.OrderIds), retry=retry)

    async def cancel_order_timed(
        self, request: wire.OrderCancelRequest, retry: bool = False
    ) -> Timed[wire.OrderIds]:
        """POST /v5/order/cancel, with its timing."""
        call = _order_call(CANCEL, request)
        return await self._call(call, _decoder(call, wire.OrderIds), retry=retry)

    def start_create_order(
        self, request: wire.OrderCreateRequest
    ) -> PendingCall[wire.OrderIds] | None:
        """Write POST /v5/order/create now, awaiting nothing; None if it cannot go at once.

        None (nothing sent): no idle connection, or the rate budget says to wait; use
        create_order_timed(). Never retried (as create_order with retry=False).
        Raises CredentialsMissing without keys.
        """
        call = _order_call(CREATE, request)
        return self._start(call, _decoder(call, wire.OrderIds), retry=False)

    def start_amend_order(
        self, request: wire.OrderAmendRequest, retry: bool = False
    ) -> PendingCall[wire.OrderIds] | None:
        """Write POST /v5/order/amend now (see start_create_order); result() may retry."""
        call = _order_call(AMEND, request)
        return self._start(call, _decoder(call, wire.OrderIds), retry=retry)

    def start_cancel_order(
        self, request: wire.OrderCancelRequest, retry: bool = False
    ) -> PendingCall[wire.OrderIds] | None:
        """Write POST /v5/order/cancel now (see start_create_order); result() may retry."""
        call = _order_call(CANCEL, request)
        return self._start(call, _decoder(call, wire.OrderIds), retry=retry)

    async def create_batch(
        self, requests: Sequence[wire.OrderCreateRequest], retry: bool = False
    ) -> Timed[list[BatchItemResult]]:
        """POST /v5/order/create-batch: one BatchItemResult per order, in the order sent.

        Raises ValueError (nothing sent) for no order or more than MAX_BATCH; a BybitError
        when the batch as a whole is refused or lost (outcome_unknown: resolve each order by
        its orderLinkId).
        """
        call, decode = _batch_call(CREATE_BATCH, requests)
        return await self._call(call, decode, retry=retry)

    async def amend_batch(
        self, requests: Sequence[wire.OrderAmendRequest], retry: bool = False
    ) -> Timed[list[BatchItemResult]]:
        """POST /v5/order/amend-batch (see create_batch)."""
        call, decode = _batch_call(AMEND_BATCH, requests)
        return await self._call(call, decode, retry=retry)

    async def cancel_batch(
        self, requests: Sequence[wire.OrderCancelRequest], retry: bool = False
    ) -> Timed[list[BatchItemResult]]:
        """POST /v5/order/cancel-batch (see create_batch)."""
        call, decode = _batch_call(CANCEL_BATCH, requests)
        return await self._call(call, decode, retry=retry)

    def start_create_batch(
        self, requests: Sequence[wire.OrderCreateRequest]
    ) -> PendingCall[list[BatchItemResult]] | None:
        """Write POST /v5/order/create-batch now (see start_create_order and create_batch)."""
        call, decode = _batch_call(CREATE_BATCH, requests)
        return self._start(call, decode, retry=False)

    def start_amend_batch(
        self, requests: Sequence[wire.OrderAmendRequest], retry: bool = False
    ) -> PendingCall[list[BatchItemResult]] | None:
        """Write POST /v5/order/amend-batch now (see start_create_order and create_batch)."""
        call, decode = _batch_call(AMEND_BATCH, requests)
        return self._start(call, decode, retry=retry)

    def start_cancel_batch(
        self, requests: Sequence[wire.OrderCancelRequest], retry: bool = False
    ) -> PendingCall[list[BatchItemResult]] | None:
        """Write POST /v5/order/cancel-batch now (see start_create_order and create_batch)."""
        call, decode = _batch_call(CANCEL_BATCH, requests)
        return self._start(call, decode, retry=retry)

    async def cancel_all(
        self, request: wire.CancelAllRequest, retry: bool = False
    ) -> wire.CancelAllResult:
        """POST /v5/order/cancel-all."""
        ref = request.symbol or request.settle_coin or ""
        return await self._post(CANCEL_ALL, request, wire.CancelAllResult, retry=retry, ref=ref)

    async def open_orders(
        self,
        symbol: str | None = None,
        settle_coin: str = "USDT",
        order_link_id: str | None = None,
        order_id: str | None = None,
        open_only: int = 0,
        limit: int = 50,
    ) -> list[wire.Order]:
        """GET /v5/order/realtime, every page. settleCoin is sent only without a symbol."""
        params = _params(
            category=CATEGORY,
            symbol=symbol,
            settleCoin=None if symbol else settle_coin,
            orderLinkId=order_link_id,
            orderId=order_id,
            openOnly=open_only,
            limit=limit,
        )
        return await self._paged("/v5/order/realtime", params, wire.OrderList, signed=True)

    async def order_history(
        self,
        symbol: str | None = None,
        settle_coin: str = "USDT",
        order_link_id: str | None = None,
        order_id: str | None = None,
        start_ms: int | None = None,
        limit: int = 50,
    ) -> list[wire.Order]:
        """GET /v5/order/history, every page (the venue's default window: the last 7 days)."""
        params = _params(
            category=CATEGORY,
            symbol=symbol,
            settleCoin=None if symbol else settle_coin,
            orderLinkId=order_link_id,
            orderId=order_id,
            startTime=start_ms,
            limit=limit,
        )
        return await self._paged("/v5/order/history", params, wire.OrderList, signed=True)

    async def executions(
        self,
        symbol: str | None = None,
        start_ms: int | None = None,
        limit: int = 100,
        order_id: str | None = None,
    ) -> list[wire.Execution]:
        """GET /v5/execution/list, every page (with `order_id`: that order's executions);
        funding and ADL rows too (see exec_type)."""
        params = _params(
            category=CATEGORY, symbol=symbol, orderId=order_id, startTime=start_ms, limit=limit
        )
        return await self._paged("/v5/execution/list", params, wire.ExecutionList, signed=True)

    async def positions(
        self, symbol: str | None = None, settle_coin: str = "USDT"
    ) -> list[wire.PositionInfo]:
        """GET /v5/position/list, every page; with only settleCoin, flat positions are left out."""
        params = _params(
            category=CATEGORY,
            symbol=symbol,
            settleCoin=None if symbol else settle_coin,
            limit=200,
        )
        return await self._paged("/v5/position/list", params, wire.PositionList, signed=True)

    async def set_leverage(self, request: wire.SetLeverageRequest, retry: bool = False) -> None:
        """POST /v5/position/set-leverage; 110043 (already that leverage) is success."""
        await self._post(
            "/v5/position/set-leverage",
            request,
            wire.Empty,
            retry=retry,
            ref=request.symbol,
            ok_codes=frozenset({LEVERAGE_NOT_MODIFIED}),
        )

    async def trading_stop(self, request: wire.TradingStopRequest, retry: bool = False) -> None:
        """POST /v5/position/trading-stop."""
        await self._post(
            "/v5/position/trading-stop", request, wire.Empty, retry=retry, ref=request.symbol
        )

    async def wallet_balance(self, coin: str = "USDT") -> wire.Wallet:
        """GET /v5/account/wallet-balance of the UNIFIED account."""
        params = _params(accountType="UNIFIED", coin=coin)
        path = "/v5/account/wallet-balance"
        result = await self._get(path, wire.WalletList, params, signed=True)
        if not result.list:
            raise BadResponse(f"path={path} no account in result.list", path=path)
        return result.list[0]

    # ------------------------------------------------------------ plumbing

    async def _get(
        self, path: str, result_type: type[T], params: dict[str, str], *, signed: bool = False
    ) -> T:
        request = _Request("GET", path, query=query_string(params), signed=signed)
        return (await self._call(request, _decoder(request, result_type), retry=True)).value

    async def _post(
        self,
        path: str,
        body: msgspec.Struct,
        result_type: type[T],
        *,
        retry: bool,
        ref: str,
        ok_codes: frozenset[int] = frozenset(),
    ) -> T:
        request = _Request(
            "POST", path, body=encode_body(body), signed=True, ok_codes=ok_codes, ref=ref
        )
        return (await self._call(request, _decoder(request, result_type), retry=retry)).value

    async def _paged(
        self,
        path: str,
        params: dict[str, str],
        page_type: type[_Page[Item]],
        *,
        signed: bool = False,
    ) -> list[Item]:
        items: list[Item] = []
        seen: set[str] = set()
        cursor = ""
        for _ in range(MAX_PAGES):
            page_params = {**params, "cursor": cursor} if cursor else params
            page = await self._get(path, page_type, page_params, signed=signed)
            items.extend(page.list)
            cursor = page.next_page_cursor
            if not cursor:
                return items
            if cursor in seen:  # a venue bug would otherwise loop forever
                raise BadResponse(f"path={path} cursor repeated cursor={cursor}", path=path)
            seen.add(cursor)
        raise BadResponse(f"path={path} more than {MAX_PAGES} pages", path=path)

    def _start(self, request: _Request, decode: Decode[T], *, retry: bool) -> PendingCall[T] | None:
        """Sign and write the first attempt now, or return None (nothing sent)."""
        self._check_credentials(request)
        if self._budget.delay_s(request.path, self.now_ms(), request.units) > 0:
            return None
        deadline = asyncio.get_running_loop().time() + self._timeout_s  # in a loop, or raise now
        headers = self._headers(request)
        pending = self._pool(request).start(request.method, request.target, headers, request.body)
        if pending is None:
            return None
        self._budget.consume(request.path, request.units)
        self.stats.requests += 1
        started = _Started(pending, deadline)
        return PendingCall(
            request.path,
            pending.sent_ns,
            lambda: self._call(request, decode, retry=retry, started=started),
        )

    def _check_credentials(self, request: _Request) -> None:
        if request.signed and self._signer is None:
            self.stats.errors[CredentialsMissing.kind] += 1
            raise CredentialsMissing(
                f"path={request.path} is a signed endpoint: give BybitRest api_key and api_secret",
                path=request.path,
            )

    async def _call(
        self,
        request: _Request,
        decode: Decode[T],
        *,
        retry: bool,
        started: _Started | None = None,
    ) -> Timed[T]:
        """Attempt `request` (its first attempt `started` already, if given) until done."""
        self._check_credentials(request)
        policy = self._retry
        max_attempts = policy.max_attempts if retry else 1
        delays: Iterator[float] | None = None  # made on the first retry only
        attempt = 0
        in_doubt = False  # an earlier attempt may have been applied by the venue
        while True:
            attempt += 1
            first, started = started, None
            attempt_ns = first.pending.sent_ns if first is not None else self._clock.now_ns()
            try:
                value, sent_ns, received_ns = await self._attempt(request, decode, first)
            except BybitError as e:
                self.observer(request.path, attempt_ns, e)
                self.stats.errors[e.kind] += 1
                if isinstance(e, BadResponse):
                    self.stats.dropped[e.reason] += 1
                if isinstance(e, RateLimited):
                    self._budget.exhaust(request.path, e.reset_at_ms or self.venue_now_ms() + 1000)
                e.earlier_attempt_unknown = in_doubt
                in_doubt = in_doubt or e.outcome_unknown
                if attempt >= max_attempts or not _is_transient(e):
                    self._log_failure(request, e, attempt)
                    raise
                if delays is None:
                    delays = backoff_delays(
                        policy.initial_backoff_s, policy.max_backoff_s, jitter=policy.jitter
                    )
                delay = self._retry_delay(next(delays), e)
                self.stats.retries += 1
                log.warning(
                    "bybit retry path=%s ref=%s attempt=%d/%d reason=%s delay_s=%.3f",
                    request.path,
                    request.ref,
                    attempt,
                    max_attempts,
                    e,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self.observer(request.path, sent_ns, None)
            return Timed(value, Timing(request.path, sent_ns, received_ns, attempt))

    def _retry_delay(self, backoff_s: float, e: BybitError) -> float:
        if isinstance(e, RateLimited) and e.reset_at_ms is not None:
            until_reset_s = (e.reset_at_ms - self.venue_now_ms()) / 1000
            return max(backoff_s, min(until_reset_s, self._budget.max_delay_s))
        return backoff_s

    async def _attempt(
        self, request: _Request, decode: Decode[T], started: _Started | None
    ) -> tuple[T, int, int]:
        """Send `request` once (or finish `started`); return the result, send and receive time."""
        if started is None:
            await self._budget.acquire(request.path, request.units)
            deadline = asyncio.get_running_loop().time() + self._timeout_s
            self.stats.requests += 1
        else:
            deadline = started.deadline  # counted from the write, whenever result() is awaited
        try:
            async with asyncio.timeout_at(deadline):
                pending = started.pending if started is not None else await self._send(request)
                response = await pending.response()
        except TimeoutError as e:
            raise RequestTimeout(
                f"path={request.path} no answer within {self._timeout_s} s", path=request.path
            ) from e
        except ConnectError as e:
            raise ConnectFailed(
                f"path={request.path} connect failed: {e}", path=request.path
            ) from e
        except HttpError as e:
            raise NetworkError(
                f"path={request.path} {type(e).__name__}: {e}", path=request.path
            ) from e
        received_ns = self._clock.now_ns()
        self._budget.update(request.path, response.headers, received_ns // NS_PER_MS)
        return decode(response), response.sent_ns, received_ns

    async def _send(self, request: _Request) -> PendingResponse:
        headers = self._headers(request)
        pool = self._pool(request)
        return await pool.send(request.method, request.target, headers, request.body)

    def _pool(self, request: _Request) -> Http1Client:
        return self._http_orders if request.path in ORDER_PATHS else self._http

    def _headers(self, request: _Request) -> dict[str, str]:
        body = request.body
        headers: dict[str, str] = {} if body is None else {"Content-Type": "application/json"}
        if not request.signed:
            return headers
        assert self._signer is not None  # checked in _call before any attempt
        payload = request.query.encode() if body is None else body
        headers.update(self._signer.headers(str(self.venue_now_ms()), payload))
        return headers

    def _log_failure(self, request: _Request, e: BybitError, attempts: int) -> None:
        if isinstance(e, VenueError) and not e.outcome_unknown:
            # A business answer: the caller turns it into an event; INFO keeps the trail.
            log.info(
                "bybit request refused path=%s ref=%s ret_code=%d ret_msg=%s",
                request.path,
                request.ref,
                e.ret_code,
                e.ret_msg,
            )
            return
        log.warning(
            "bybit request failed path=%s ref=%s kind=%s attempts=%d outcome_unknown=%s error=%s",
            request.path,
            request.ref,
            e.kind,
            attempts,
            e.outcome_unknown,
            e,
        )
