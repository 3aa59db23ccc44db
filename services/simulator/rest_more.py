"""REST routes of the batch, account-history and market-history endpoints (linear).

`MoreApi` holds the handlers; `RestApi.routes` adds its three tables (public GET, signed
GET, signed POST) to its own. A handler returns the result Struct, or an `Answer` when
Bybit's envelope carries more than a result: the batches' per-item `retExtInfo.list`, and
set-margin-mode's refusal (retCode 3400045 with its `reasons` in the result).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import msgspec
from aiohttp import web

from services.simulator.rest_call import Call, Handler, envelope, one_page
from services.simulator.venue import Venue, VenueError
from services.simulator.venue.account_more import MARGIN_MODE_FAILED, LogFilter
from services.simulator.venue.batch import MAX_BATCH, BatchOutcome
from services.simulator.venue.request_fields import OrderAmend, OrderCreate
from shared.bybit import wire, wire_more

S = TypeVar("S", bound=msgspec.Struct)
_encoder = msgspec.json.Encoder()
Quota = Callable[[str, str, int, int], int]  # (account, path, now_ms, units) -> units granted
TOO_MANY_VISITS: Final = (10006, "Too many visits!")


@dataclass(frozen=True)
class Answer:
    """A whole Bybit envelope: result, retExtInfo and the retCode / retMsg to send."""

    result: Any
    ret_ext_info: dict[str, Any] = field(default_factory=dict)
    ret_code: int = 0
    ret_msg: str = "OK"


def respond(result: Any, now_ms: int, headers: dict[str, str]) -> web.Response:
    """The HTTP response of an endpoint's result: OK around it, or the `Answer` it is."""
    if not isinstance(result, Answer):
        return envelope(0, "OK", result, now_ms, headers=headers)
    body = _encoder.encode(
        wire.Response(
            ret_code=result.ret_code,
            ret_msg=result.ret_msg,
            result=result.result,
            ret_ext_info=result.ret_ext_info,
            time=now_ms,
        )
    )
    return web.Response(body=body, content_type="application/json", headers=headers)


def decode_items(call: Call, item_type: type[S]) -> tuple[str, list[S | VenueError]]:
    """A batch body's category and its items, each decoded on its own (or why it is not).

    Items decode to the single-order endpoints' full request types (`request_fields`), so a
    batch item's fields are honoured or refused exactly as a single order's.
    """
    body = call.decode(wire_more.BatchRequest)
    items: list[S | VenueError] = []
    for raw in body.request:
        try:
            items.append(msgspec.json.decode(raw, type=item_type))
        except msgspec.DecodeError as e:
            items.append(VenueError(10001, f"params error: {e}"))
    return body.category, items


def batch_answer(outcome: BatchOutcome) -> Answer:
    """retCode 0, the ids in result.list, each item's code and msg in retExtInfo.list."""
    statuses = [msgspec.to_builtins(s) for s in outcome.statuses]
    return Answer(wire_more.BatchResult(list=outcome.items), {"list": statuses})


def _ms(call: Call, name: str) -> int | None:
    """An optional ms timestamp parameter (None when absent)."""
    raw = call.params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise VenueError(10001, f"params error: {name} must be a ms timestamp")
    return int(raw)


class MoreApi:
    """Handlers calling the `Venue`'s batch, account-history and market-history calls.

    `quota(account, path, now_ms, units)` counts a batch's further orders against the
    endpoint's rate limit and returns how many fit (None: no limits); the orders beyond it
    answer 10006 "Too many visits!" in retExtInfo.list and are not carried out.
    """

    def __init__(self, venue: Venue, quota: Quota | None = None) -> None:
        self._venue = venue
        self._quota = quota
        self.public: dict[str, Handler] = {
            "/v5/market/funding/history": self._funding,
            "/v5/market/open-interest": self._open_interest,
            "/v5/market/mark-price-kline": self._mark_klines,
            "/v5/market/risk-limit": self._risk_limit,
        }
        self.signed_get: dict[str, Handler] = {
            "/v5/account/fee-rate": self._fee_rate,
            "/v5/position/closed-pnl": self._closed_pnl,
            "/v5/account/transaction-log": self._transaction_log,
        }
        self.signed_post: dict[str, Handler] = {
            "/v5/order/create-batch": self._create_batch,
            "/v5/order/amend-batch": self._amend_batch,
            "/v5/order/cancel-batch": self._cancel_batch,
            "/v5/position/switch-mode": self._switch_mode,
            "/v5/account/set-margin-mode": self._set_margin_mode,
        }

    # ---- batch trading

    def _within_quota(self, call: Call, path: str, items: list[S | VenueError]) -> None:
        """Turn the items beyond the rate limit into 10006 (the first was counted already)."""
        if self._quota is None or len(items) <= 1 or len(items) > MAX_BATCH:
            return
        allowed = 1 + self._quota(call.account, path, call.now_ms, len(items) - 1)
        for i in range(allowed, len(items)):
            items[i] = VenueError(*TOO_MANY_VISITS)

    async def _create_batch(self, call: Call) -> Answer:
        category, items = decode_items(call, OrderCreate)
        self._within_quota(call, "/v5/order/create-batch", items)
        return batch_answer(self._venue.create_batch(call.account, category, items, call.now_ms))

    async def _amend_batch(self, call: Call) -> Answer:
        category, items = decode_items(call, OrderAmend)
        self._within_quota(call, "/v5/order/amend-batch", items)
        return batch_answer(self._venue.amend_batch(call.account, category, items, call.now_ms))

    async def _cancel_batch(self, call: Call) -> Answer:
        category, items = decode_items(call, wire.OrderCancelRequest)
        self._within_quota(call, "/v5/order/cancel-batch", items)
        return batch_answer(self._venue.cancel_batch(call.account, category, items, call.now_ms))

    # ---- account and position

    async def _fee_rate(self, call: Call) -> wire_more.FeeRates:
        return wire_more.FeeRates(list=self._venue.fee_rates(call.params.get("symbol")))

    async def _closed_pnl(self, call: Call) -> wire_more.ClosedPnlPage:
        rows = self._venue.closed_pnl(
            call.account,
            call.params.get("symbol"),
            _ms(call, "startTime"),
            _ms(call, "endTime"),
        )
        page, cursor = one_page(rows, call, 50, 100)
        return wire_more.ClosedPnlPage(category="linear", list=page, next_page_cursor=cursor)

    async def _transaction_log(self, call: Call) -> wire_more.TransactionPage:
        if call.params.get("accountType") not in (None, "UNIFIED"):
            raise VenueError(10001, "params error: accountType only support UNIFIED")
        only = LogFilter(
            currency=call.params.get("currency"),
            base_coin=call.params.get("baseCoin"),
            kind=call.params.get("type"),
        )
        window = (_ms(call, "startTime"), _ms(call, "endTime"))
        rows = self._venue.transaction_log(call.account, only, window)
        page, cursor = one_page(rows, call, 20, 50)
        return wire_more.TransactionPage(list=page, next_page_cursor=cursor)

    async def _switch_mode(self, call: Call) -> wire.Empty:
        req = call.decode(wire_more.SwitchModeRequest)
        self._venue.switch_mode(call.account, req, call.now_ms)
        return wire.Empty()

    async def _set_margin_mode(self, call: Call) -> Answer:
        result = self._venue.set_margin_mode(
            call.decode(wire_more.SetMarginModeRequest).set_margin_mode
        )
        if result.reasons:
            return Answer(result, ret_code=MARGIN_MODE_FAILED[0], ret_msg=MARGIN_MODE_FAILED[1])
        return Answer(result)

    # ---- market history

    async def _funding(self, call: Call) -> wire_more.FundingHistory:
        rows = self._venue.funding_history(
            call.required("symbol"),
            _ms(call, "startTime"),
            _ms(call, "endTime"),
            call.int_param("limit", 200, 1, 200),
        )
        return wire_more.FundingHistory(category="linear", list=rows)

    async def _open_interest(self, call: Call) -> wire_more.OpenInterestPage:
        symbol = call.required("symbol")
        rows = self._venue.open_interest(
            symbol,
            call.required("intervalTime"),
            _ms(call, "startTime"),
            _ms(call, "endTime"),
            call.now_ms,
        )
        page, cursor = one_page(rows, call, 50, 200)
        return wire_more.OpenInterestPage(
            category="linear", symbol=symbol, list=page, next_page_cursor=cursor
        )

    async def _mark_klines(self, call: Call) -> wire.Klines:
        symbol = call.required("symbol")
        rows = self._venue.mark_price_klines(
            symbol,
            call.required("interval"),
            (_ms(call, "start"), _ms(call, "end")),
            call.int_param("limit", 200, 1, 1000),
            call.now_ms,
        )
        return wire.Klines(category="linear", symbol=symbol, list=rows)

    async def _risk_limit(self, call: Call) -> wire_more.RiskLimits:
        rows = self._venue.risk_limits(call.params.get("symbol"))
        return wire_more.RiskLimits(category="linear", list=rows)
