"""Bybit V5 REST client (category=linear): signing, time offset, retries, rate budget, decoding.

Every method returns the decoded wire type. The timing of the request that produced it is
in `last_timing`, set just before the method returns: read it right after the await (before
the task awaits anything else) and it belongs to that call, even with concurrent callers.

Retries: only transport failures, HTTP 5xx and retCode 10006, with capped exponential
backoff and jitter. GET requests retry by default; a POST changes state, so it retries only
when the caller passes retry=True (a resent order create reuses its orderLinkId, so a
duplicate is answered 110072 instead of creating a second order).
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol, TypeVar

import msgspec

from shared.bybit import wire
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
from shared.bybit.http1 import ConnectError, Http1Client, HttpError
from shared.bybit.ratelimit import RateBudget
from shared.bybit.rest_decode import decode_response, decode_result
from shared.runtime.backoff import backoff_delays
from shared.runtime.clock import Clock, LiveClock

log = logging.getLogger(__name__)

T = TypeVar("T")
Item = TypeVar("Item")

NS_PER_MS: Final = 1_000_000
CATEGORY: Final = "linear"
LEVERAGE_NOT_MODIFIED: Final = 110043
MAX_PAGES: Final = 100

_ENCODER: Final = msgspec.json.Encoder()


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


class _Page(Protocol[Item]):
    list: list[Item]
    next_page_cursor: str


def encode_body(request: msgspec.Struct) -> bytes:
    """Return the JSON body of a request Struct: venue field names, None fields left out."""
    fields: dict[str, Any] = msgspec.to_builtins(request)
    return _ENCODER.encode({k: v for k, v in fields.items() if v is not None})


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
        self._http = Http1Client(self._base_url, self._clock)
        self._offset_ns = 0
        self.stats = RestStats()
        self.last_timing: Timing | None = None

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

    # ------------------------------------------------------------ market (public)

    async def server_time(self) -> wire.ServerTime:
        """GET /v5/market/time."""
        return await self._get("/v5/market/time", wire.ServerTime, {})

    async def sync_time(self) -> int:
        """Measure and store the venue clock offset; return it in ns (positive: venue ahead).

        offset = server time - midpoint of the local send and receive times, so half of an
        asymmetric round trip is the error bound. Signed timestamps use local clock + offset.
        """
        server = await self.server_time()
        timing = self.last_timing
        assert timing is not None  # set by the call just returned
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
        ref = request.order_link_id or request.symbol
        return await self._post("/v5/order/create", request, wire.OrderIds, retry=retry, ref=ref)

    async def amend_order(
        self, request: wire.OrderAmendRequest, retry: bool = False
    ) -> wire.OrderIds:
        """POST /v5/order/amend."""
        ref = request.order_link_id or request.order_id or request.symbol
        return await self._post("/v5/order/amend", request, wire.OrderIds, retry=retry, ref=ref)

    async def cancel_order(
        self, request: wire.OrderCancelRequest, retry: bool = False
    ) -> wire.OrderIds:
        """POST /v5/order/cancel."""
        ref = request.order_link_id or request.order_id or request.symbol
        return await self._post("/v5/order/cancel", request, wire.OrderIds, retry=retry, ref=ref)

    async def cancel_all(
        self, request: wire.CancelAllRequest, retry: bool = False
    ) -> wire.CancelAllResult:
        """POST /v5/order/cancel-all."""
        ref = request.symbol or request.settle_coin or ""
        return await self._post(
            "/v5/order/cancel-all", request, wire.CancelAllResult, retry=retry, ref=ref
        )

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
        self, symbol: str | None = None, start_ms: int | None = None, limit: int = 100
    ) -> list[wire.Execution]:
        """GET /v5/execution/list, every page; funding and ADL rows too (see exec_type)."""
        params = _params(category=CATEGORY, symbol=symbol, startTime=start_ms, limit=limit)
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
        return await self._call(request, result_type, retry=True)

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
        return await self._call(request, result_type, retry=retry)

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

    async def _call(self, request: _Request, result_type: type[T], *, retry: bool) -> T:
        if request.signed and self._signer is None:
            self.stats.errors[CredentialsMissing.kind] += 1
            raise CredentialsMissing(
                f"path={request.path} is a signed endpoint: give BybitRest api_key and api_secret",
                path=request.path,
            )
        policy = self._retry
        max_attempts = policy.max_attempts if retry else 1
        delays: Iterator[float] | None = None  # made on the first retry only
        attempt = 0
        in_doubt = False  # an earlier attempt may have been applied by the venue
        while True:
            attempt += 1
            try:
                value, sent_ns, received_ns = await self._attempt(request, result_type)
            except BybitError as e:
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
            # No await after this line: the caller reads last_timing of its own call.
            self.last_timing = Timing(request.path, sent_ns, received_ns, attempt)
            return value

    def _retry_delay(self, backoff_s: float, e: BybitError) -> float:
        if isinstance(e, RateLimited) and e.reset_at_ms is not None:
            until_reset_s = (e.reset_at_ms - self.venue_now_ms()) / 1000
            return max(backoff_s, min(until_reset_s, self._budget.max_delay_s))
        return backoff_s

    async def _attempt(self, request: _Request, result_type: type[T]) -> tuple[T, int, int]:
        """Send `request` once; return the decoded result, send time and receive time."""
        await self._budget.acquire(request.path)
        headers = self._headers(request)
        target = f"{request.path}?{request.query}" if request.query else request.path
        self.stats.requests += 1
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.request(request.method, target, headers, request.body)
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
        result = decode_response(
            request.path,
            response.status,
            response.headers,
            response.body,
            result_type,
            request.ok_codes,
        )
        return result, response.sent_ns, received_ns

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
