"""What Bybit checks of a request before the endpoint runs: its category and the parameters
an endpoint needs, and what it answers for a category the simulator does not trade.

The simulator trades category=linear. A query for spot, inverse or option gets Bybit's
well-formed answer with nothing in it (no such instruments, orders or positions here), so a
client that asks every category (ccxt's load_markets) carries on; a trading request for
another category is refused.
"""

from typing import Any, Final

import msgspec

from services.simulator.rest_call import Call, CategoryProbe
from services.simulator.venue import VenueError

CATEGORIES: Final = frozenset({"spot", "linear", "inverse", "option"})

# Bybit's answers (its error table: 181000, 181001; the captured 181001 of position/list).
CATEGORY_NULL: Final = (181000, "category is null")
POSITION_CATEGORY: Final = (181001, "category only support linear or option")

_NEEDS_CATEGORY: Final = frozenset(
    {
        "/v5/market/instruments-info",
        "/v5/market/tickers",
        "/v5/market/orderbook",
        "/v5/market/recent-trade",
        "/v5/order/create",
        "/v5/order/amend",
        "/v5/order/cancel",
        "/v5/order/cancel-all",
        "/v5/order/realtime",
        "/v5/order/history",
        "/v5/execution/list",
        "/v5/position/list",
        "/v5/position/set-leverage",
        "/v5/position/trading-stop",
        "/v5/order/create-batch",
        "/v5/order/amend-batch",
        "/v5/order/cancel-batch",
        "/v5/account/fee-rate",
        "/v5/position/closed-pnl",
        "/v5/position/switch-mode",
        "/v5/market/funding/history",
        "/v5/market/open-interest",
        "/v5/market/risk-limit",
    }
)


def _empty_list(category: str, call: Call) -> dict[str, Any]:
    return {"category": category, "list": [], "nextPageCursor": ""}


def _empty_book(category: str, call: Call) -> dict[str, Any]:
    symbol = call.params.get("symbol", "")
    return {"s": symbol, "b": [], "a": [], "ts": call.now_ms, "u": 0, "seq": 0, "cts": 0}


def _empty_klines(category: str, call: Call) -> dict[str, Any]:
    return {"category": category, "symbol": call.params.get("symbol", ""), "list": []}


_EMPTY: Final = {
    "/v5/market/instruments-info": _empty_list,
    "/v5/market/tickers": _empty_list,
    "/v5/market/recent-trade": _empty_list,
    "/v5/market/orderbook": _empty_book,
    "/v5/market/kline": _empty_klines,
    "/v5/order/realtime": _empty_list,
    "/v5/order/history": _empty_list,
    "/v5/execution/list": _empty_list,
    "/v5/position/list": _empty_list,
    "/v5/position/closed-pnl": _empty_list,
    "/v5/account/fee-rate": _empty_list,
    "/v5/market/funding/history": _empty_list,
    "/v5/market/open-interest": _empty_list,
    "/v5/market/risk-limit": _empty_list,
}


def _category(call: Call) -> str | None:
    category = call.params.get("category")
    if category is None and call.body:
        try:
            category = msgspec.json.decode(call.body, type=CategoryProbe).category
        except msgspec.DecodeError:
            return None  # the endpoint's own decoding says what is wrong with the body
    return category


def screen(path: str, call: Call) -> Any | None:
    """Return None when the endpoint should serve `call`, or the (empty) result to answer
    for another category; raise VenueError for what Bybit refuses."""
    category = _category(call)
    if path == "/v5/position/list" and category in (None, "spot"):
        raise VenueError(*POSITION_CATEGORY)
    if category is None:
        if path in _NEEDS_CATEGORY:
            raise VenueError(*CATEGORY_NULL)
        return None
    if category == "linear":
        _required_filters(path, call)
        return None
    empty = _EMPTY.get(path)
    if category in CATEGORIES and empty is not None:
        return empty(category, call)
    raise VenueError(
        10001, f"params error: category {category!r} is not supported here (linear only)"
    )


def _required_filters(path: str, call: Call) -> None:
    """The filters a linear query must have (reference 4.11 and 4.14)."""
    params = call.params
    if path == "/v5/order/realtime" and not any(
        params.get(k) for k in ("symbol", "baseCoin", "settleCoin", "orderId", "orderLinkId")
    ):
        raise VenueError(10001, "params error: symbol, baseCoin or settleCoin is required")
    if path == "/v5/position/list" and not (params.get("symbol") or params.get("settleCoin")):
        raise VenueError(10001, "params error: symbol or settleCoin is required")
