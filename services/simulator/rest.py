"""The simulator's REST API: Bybit V5 paths, envelope, signatures, rate limits and faults."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from services.simulator.faults import FaultInjector
from services.simulator.ratelimit import RateLimiter
from services.simulator.rest_account import AccountApi
from services.simulator.rest_auth import AuthFailure, authenticate
from services.simulator.rest_call import (
    Call,
    Handler,
    envelope,
    one_page,
    rate_limited,
)
from services.simulator.rest_more import MoreApi, respond
from services.simulator.rest_screen import screen
from services.simulator.venue import Venue, VenueError
from services.simulator.venue.request_fields import (
    CancelAll,
    OrderAmend,
    OrderCreate,
    TradingStop,
)
from shared.bybit import wire
from shared.runtime.clock import Clock

log = logging.getLogger(__name__)


class RestApi:
    """Route table and the request pipeline every call goes through."""

    def __init__(
        self,
        venue: Venue,
        secrets: dict[str, str],
        faults: FaultInjector,
        clock: Clock,
        after_trade: Callable[[], None],
        *,
        enforce_rate_limits: bool = True,
    ) -> None:
        self._venue = venue
        self._after_trade = after_trade
        self._secrets = secrets
        self._faults = faults
        self._clock = clock
        self._limiter = RateLimiter()
        self._enforce_rate_limits = enforce_rate_limits
        self.requests = 0
        self.rate_limited = 0
        self.ip_refusals = 0
        self.clients_gone = 0  # the client left before its body was read: not carried out
        self._account_api = AccountApi(venue, clock.now_ns() // 1_000_000)

    def routes(self) -> list[web.RouteDef]:
        public: dict[str, Handler] = {
            "/v5/market/time": self._time,
            "/v5/market/instruments-info": self._instruments,
            "/v5/market/tickers": self._tickers,
            "/v5/market/orderbook": self._orderbook,
            "/v5/market/recent-trade": self._recent_trades,
            "/v5/market/kline": self._klines,
            "/v5/system/status": self._account_api.system_status,
        }
        signed_get: dict[str, Handler] = {
            "/v5/order/realtime": self._realtime,
            "/v5/order/history": self._history,
            "/v5/execution/list": self._executions,
            "/v5/position/list": self._positions,
            "/v5/account/wallet-balance": self._wallet,
            "/v5/account/info": self._account_api.account_info,
            "/v5/user/query-api": self._account_api.query_api,
            "/v5/asset/coin/query-info": self._account_api.coin_info,
        }
        signed_post: dict[str, Handler] = {
            "/v5/order/create": self._create,
            "/v5/order/amend": self._amend,
            "/v5/order/cancel": self._cancel,
            "/v5/order/cancel-all": self._cancel_all,
            "/v5/position/set-leverage": self._set_leverage,
            "/v5/position/trading-stop": self._trading_stop,
        }
        quota = self._limiter.take if self._enforce_rate_limits else None
        more = MoreApi(self._venue, quota)  # batch, account and market history (rest_more)
        public.update(more.public)
        signed_get.update(more.signed_get)
        signed_post.update(more.signed_post)
        return [
            *(web.get(p, self._endpoint(p, h, signed=False)) for p, h in public.items()),
            *(web.get(p, self._endpoint(p, h, signed=True)) for p, h in signed_get.items()),
            *(web.post(p, self._endpoint(p, h, signed=True)) for p, h in signed_post.items()),
        ]

    def _endpoint(
        self, path: str, handler: Handler, *, signed: bool
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            return await self._serve(request, path, handler, signed=signed)

        return endpoint

    async def _serve(
        self, request: web.Request, path: str, handler: Handler, *, signed: bool
    ) -> web.Response:
        self.requests += 1
        faults = self._faults.faults
        if faults.rest_latency_ms:
            await asyncio.sleep(faults.rest_latency_ms / 1000)  # injected venue latency
        now_ms = self._clock.now_ns() // 1_000_000
        if self._enforce_rate_limits and not self._limiter.check_ip(request.remote or "?", now_ms):
            self.ip_refusals += 1
            return web.Response(status=403, text="access too frequent")
        if self._faults.hit("rest_5xx", faults.rest_5xx_rate):
            return web.Response(status=503, text="service unavailable (injected)")
        try:
            body = await request.read() if request.method == "POST" else b""
        except ConnectionResetError:  # gone during the injected latency: as a venue would
            self.clients_gone += 1
            log.info("client gone before its request was read path=%s", path)
            return web.Response(status=499, text="client closed the request")
        account, headers = "", dict[str, str]()
        if signed:
            admitted = self._admit(request, path, body, now_ms)
            if isinstance(admitted, web.Response):
                return admitted
            account, headers = admitted
        call = Call(account, dict(request.query), body, now_ms)
        try:
            result = screen(path, call)
            if result is None:
                result = await handler(call)
        except VenueError as e:
            return envelope(e.code, e.msg, {}, now_ms, headers=headers)
        finally:
            if request.method == "POST":
                self._after_trade()  # push the private events this call caused, now
        return respond(result, now_ms, headers)

    def _admit(
        self, request: web.Request, path: str, body: bytes, now_ms: int
    ) -> tuple[str, dict[str, str]] | web.Response:
        """Return the account and rate headers of a signed request, or the refusal to send."""
        payload = (
            body.decode(errors="replace") if request.method == "POST" else request.query_string
        )
        auth = authenticate(request.headers, payload, self._secrets, now_ms)
        if isinstance(auth, AuthFailure):
            return envelope(auth.ret_code, auth.ret_msg, {}, now_ms, status=auth.http_status)
        if self._faults.faults.rate_limit_storm:
            self._faults.count("rate_limit_storm")
            return rate_limited(now_ms, 0)
        if not self._enforce_rate_limits:
            return auth, {}  # no limits, so no limit headers for a client to pace itself by
        verdict = self._limiter.check(auth, path, now_ms)
        if not verdict.allowed:
            self.rate_limited += 1
            return rate_limited(now_ms, verdict.reset_at_ms, verdict.limit)
        headers = {
            "X-Bapi-Limit": str(verdict.limit),
            "X-Bapi-Limit-Status": str(verdict.remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(verdict.reset_at_ms),
        }
        return auth, headers

    # ---- market

    async def _time(self, call: Call) -> wire.ServerTime:
        now_ns = self._clock.now_ns()
        return wire.ServerTime(time_second=str(now_ns // 1_000_000_000), time_nano=str(now_ns))

    async def _instruments(self, call: Call) -> wire.InstrumentsPage:
        items = [
            i for i in self._venue.instruments() if call.params.get("symbol") in (None, i.symbol)
        ]
        status = call.params.get("status")
        items = [i for i in items if status in (None, i.status)]
        page, cursor = one_page(items, call, 500, 1000)
        return wire.InstrumentsPage(category="linear", list=page, next_page_cursor=cursor)

    async def _tickers(self, call: Call) -> wire.TickerList:
        return wire.TickerList(
            category="linear", list=self._venue.tickers(call.params.get("symbol"))
        )

    async def _orderbook(self, call: Call) -> wire.OrderBookResult:
        limit = call.int_param("limit", 25, 1, 1000)
        return self._venue.orderbook(call.required("symbol"), limit)

    async def _recent_trades(self, call: Call) -> wire.RecentTrades:
        limit = call.int_param("limit", 500, 1, 1000)
        trades = self._venue.recent_trades(call.required("symbol"), limit)
        return wire.RecentTrades(category="linear", list=trades)

    async def _klines(self, call: Call) -> wire.Klines:
        symbol = call.required("symbol")
        limit = call.int_param("limit", 200, 1, 1000)
        window = (call.ms_param("start"), call.ms_param("end"))
        rows = self._venue.klines(symbol, call.required("interval"), limit, call.now_ms, window)
        return wire.Klines(category="linear", symbol=symbol, list=rows)

    # ---- trade

    async def _create(self, call: Call) -> wire.OrderIds:
        ids = self._venue.create_order(call.account, call.decode(OrderCreate), call.now_ms)
        faults = self._faults.faults
        if self._faults.hit("timeout_after_accept", faults.timeout_after_accept_rate):
            self._after_trade()  # the venue has the order: its private events go out now
            log.warning(
                "holding back an accepted order's answer order_link_id=%s", ids.order_link_id
            )
            await asyncio.sleep(faults.timeout_after_accept_s)  # the client times out: in doubt
        return ids

    async def _amend(self, call: Call) -> wire.OrderIds:
        return self._venue.amend_order(call.account, call.decode(OrderAmend), call.now_ms)

    async def _cancel(self, call: Call) -> wire.OrderIds:
        return self._venue.cancel_order(
            call.account, call.decode(wire.OrderCancelRequest), call.now_ms
        )

    async def _cancel_all(self, call: Call) -> wire.CancelAllResult:
        return self._venue.cancel_all(call.account, call.decode(CancelAll), call.now_ms)

    async def _realtime(self, call: Call) -> wire.OrderList:
        orders = self._venue.orders(
            call.account,
            symbol=call.params.get("symbol"),
            order_id=call.params.get("orderId"),
            order_link_id=call.params.get("orderLinkId"),
            open_only=call.int_param("openOnly", 0, 0, 2),
            order_filter=call.params.get("orderFilter"),
        )
        page, cursor = one_page(orders, call, 20, 50)
        return wire.OrderList(category="linear", list=page, next_page_cursor=cursor)

    async def _history(self, call: Call) -> wire.OrderList:
        orders = self._venue.order_history(
            call.account,
            symbol=call.params.get("symbol"),
            order_id=call.params.get("orderId"),
            order_link_id=call.params.get("orderLinkId"),
            order_filter=call.params.get("orderFilter"),
        )
        page, cursor = one_page(orders, call, 20, 50)
        return wire.OrderList(category="linear", list=page, next_page_cursor=cursor)

    async def _executions(self, call: Call) -> wire.ExecutionList:
        start = call.params.get("startTime")
        executions = self._venue.executions(
            call.account,
            symbol=call.params.get("symbol"),
            start_ms=int(start) if start and start.isdigit() else None,
            order_id=call.params.get("orderId"),
        )
        page, cursor = one_page(executions, call, 50, 100)
        return wire.ExecutionList(category="linear", list=page, next_page_cursor=cursor)

    # ---- position and account

    async def _positions(self, call: Call) -> wire.PositionList:
        positions = self._venue.positions(call.account, call.params.get("symbol"))
        page, cursor = one_page(positions, call, 20, 200)
        return wire.PositionList(category="linear", list=page, next_page_cursor=cursor)

    async def _set_leverage(self, call: Call) -> wire.Empty:
        self._venue.set_leverage(call.account, call.decode(wire.SetLeverageRequest), call.now_ms)
        return wire.Empty()

    async def _trading_stop(self, call: Call) -> wire.Empty:
        self._venue.trading_stop(call.account, call.decode(TradingStop), call.now_ms)
        return wire.Empty()

    async def _wallet(self, call: Call) -> wire.WalletList:
        if call.params.get("accountType") != "UNIFIED":
            raise VenueError(10001, "params error: accountType only support UNIFIED")
        return wire.WalletList(list=[self._venue.wallet(call.account)])
