"""Every field of the order requests the simulator decodes, and what the venue does with it.

The rule: a request field that changes what an order does is either honoured or refused with
an error, never dropped. The request types here carry every parameter Bybit documents for
/v5/order/create, /v5/order/amend, /v5/order/cancel-all and /v5/position/trading-stop (the
shared `wire` requests carry only what the bot sends), so nothing a client sends is lost at
decoding (batch items decode to these types too), and `TREATMENT` says, for each field, in
this one place, what the venue does with it:

* `HONOURED`: acted on (the venue's checks may still refuse a value, as Bybit would);
* `Ignored(why)`: accepted and ignored because it changes nothing for this venue (e.g. an
  options-only or spot-only parameter on category=linear, as Bybit itself ignores them);
* `Refused(allowed, msg)`: any value outside `allowed` (absent always allowed) is refused
  with retCode 10001 and `msg`: the venue cannot do what it asks.

`refuse_unsupported` applies the `Refused` entries; a unit test fails when a field of these
types is in neither `TREATMENT` list, so a new field cannot be dropped silently.
"""

from dataclasses import dataclass
from typing import Final

import msgspec

from services.simulator.venue.state import params_error
from shared.bybit import wire


class OrderCreate(wire.OrderCreateRequest, kw_only=True):
    """POST /v5/order/create with every documented parameter."""

    is_leverage: int | None = None
    market_unit: str | None = None
    slippage_tolerance_type: str | None = None
    slippage_tolerance: str | None = None
    trigger_direction: int | None = None
    order_filter: str | None = None
    trigger_price: str | None = None
    trigger_by: str | None = None
    order_iv: str | None = None
    tp_trigger_by: str | None = None
    sl_trigger_by: str | None = None
    smp_type: str | None = None
    mmp: bool | None = None
    tpsl_mode: str | None = None
    tp_limit_price: str | None = None
    sl_limit_price: str | None = None
    tp_order_type: str | None = None
    sl_order_type: str | None = None
    bbo_side_type: str | None = None
    bbo_level: str | None = None


class OrderAmend(wire.OrderAmendRequest, kw_only=True):
    """POST /v5/order/amend with every documented parameter."""

    order_iv: str | None = None
    trigger_price: str | None = None
    trigger_by: str | None = None
    tpsl_mode: str | None = None
    take_profit: str | None = None
    stop_loss: str | None = None
    tp_trigger_by: str | None = None
    sl_trigger_by: str | None = None
    tp_limit_price: str | None = None
    sl_limit_price: str | None = None


class CancelAll(wire.CancelAllRequest, kw_only=True):
    """POST /v5/order/cancel-all with every documented parameter."""

    order_filter: str | None = None
    stop_order_type: str | None = None


class TradingStop(wire.TradingStopRequest, kw_only=True):
    """POST /v5/position/trading-stop with every documented parameter."""

    trailing_stop: str | None = None
    active_price: str | None = None
    tp_size: str | None = None
    sl_size: str | None = None
    tp_limit_price: str | None = None
    sl_limit_price: str | None = None
    tp_order_type: str | None = None
    sl_order_type: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Accepted and ignored: it changes nothing for this venue."""

    why: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Refused (10001, `msg`) unless absent or one of `allowed`."""

    allowed: tuple[object, ...]
    msg: str


HONOURED: Final = "honoured"
Treatment = str | Ignored | Refused
_OPTION = Ignored("option only (category=linear only here)")
_SPOT = Ignored("spot only (category=linear only here)")
_UNSUPPORTED = "is not supported by the simulator"
_NO_PARTIAL = Refused(
    ("Full",), f"params error: tpslMode Partial {_UNSUPPORTED} (TP/SL apply to the whole position)"
)
_PARTIAL = Ignored("Bybit uses it only with tpslMode=Partial (refused)")
_LAST_PRICE_ONLY = Refused(
    ("LastPrice",), f"params error: TP/SL trigger by MarkPrice or IndexPrice {_UNSUPPORTED}"
)
_MARKET_TPSL = Refused(
    ("Market",), "params error: a Limit TP/SL needs tpslMode=Partial, which " + _UNSUPPORTED
)
_COMMON: Final[dict[str, Treatment]] = {
    "category": HONOURED,  # linear only: others fail with 10001
    "symbol": HONOURED,
    "qty": HONOURED,
    "price": HONOURED,
}
_CREATE: Final[dict[str, Treatment]] = {
    **_COMMON,
    "side": HONOURED,
    "order_type": HONOURED,
    "time_in_force": HONOURED,
    "position_idx": HONOURED,  # 0 only (one-way mode): others fail with 10001
    "order_link_id": HONOURED,
    "reduce_only": HONOURED,
    "close_on_trigger": HONOURED,
    "take_profit": HONOURED,
    "stop_loss": HONOURED,
    "trigger_price": HONOURED,
    "trigger_direction": HONOURED,
    "trigger_by": HONOURED,  # LastPrice, MarkPrice, IndexPrice (= the mark here)
    "is_leverage": _SPOT,
    "market_unit": _SPOT,
    "order_filter": _SPOT,
    "order_iv": _OPTION,
    "mmp": _OPTION,
    "tpsl_mode": _NO_PARTIAL,
    "tp_order_type": _MARKET_TPSL,
    "sl_order_type": _MARKET_TPSL,
    "tp_limit_price": _PARTIAL,
    "sl_limit_price": _PARTIAL,
    "tp_trigger_by": _LAST_PRICE_ONLY,
    "sl_trigger_by": _LAST_PRICE_ONLY,
    "smp_type": Refused(("None",), f"params error: smpType {_UNSUPPORTED}"),
    "slippage_tolerance_type": Refused((), f"params error: slippageToleranceType {_UNSUPPORTED}"),
    "slippage_tolerance": Refused((), f"params error: slippageTolerance {_UNSUPPORTED}"),
    "bbo_side_type": Refused((), f"params error: bboSideType {_UNSUPPORTED}"),
    "bbo_level": Refused((), f"params error: bboLevel {_UNSUPPORTED}"),
}
_AMEND_TPSL = Refused((), f"params error: amending an order's TP/SL {_UNSUPPORTED}")
_AMEND: Final[dict[str, Treatment]] = {
    **_COMMON,
    "order_id": HONOURED,
    "order_link_id": HONOURED,
    "trigger_price": HONOURED,  # an untriggered conditional order's only
    "trigger_by": HONOURED,
    "order_iv": _OPTION,
    "tpsl_mode": _AMEND_TPSL,
    "take_profit": _AMEND_TPSL,
    "stop_loss": _AMEND_TPSL,
    "tp_trigger_by": _AMEND_TPSL,
    "sl_trigger_by": _AMEND_TPSL,
    "tp_limit_price": _AMEND_TPSL,
    "sl_limit_price": _AMEND_TPSL,
}
_CANCEL_ALL: Final[dict[str, Treatment]] = {
    "category": HONOURED,
    "symbol": HONOURED,
    "base_coin": HONOURED,
    "settle_coin": HONOURED,
    "order_filter": HONOURED,  # Order, StopOrder (others fail with 10001)
    "stop_order_type": Refused(("Stop",), f"params error: stopOrderType {_UNSUPPORTED}"),
}
_TRADING_STOP: Final[dict[str, Treatment]] = {
    "category": HONOURED,
    "symbol": HONOURED,
    "position_idx": HONOURED,  # 0 only
    "tpsl_mode": HONOURED,  # Full only: Partial fails with 10001
    "take_profit": HONOURED,
    "stop_loss": HONOURED,
    "tp_trigger_by": _LAST_PRICE_ONLY,
    "sl_trigger_by": _LAST_PRICE_ONLY,
    "tp_order_type": _MARKET_TPSL,
    "sl_order_type": _MARKET_TPSL,
    "trailing_stop": Refused(("0",), f"params error: trailingStop {_UNSUPPORTED}"),
    "active_price": Refused((), f"params error: activePrice {_UNSUPPORTED}"),
    "tp_size": _PARTIAL,
    "sl_size": _PARTIAL,
    "tp_limit_price": _PARTIAL,
    "sl_limit_price": _PARTIAL,
}
TREATMENT: Final[dict[type[msgspec.Struct], dict[str, Treatment]]] = {
    OrderCreate: _CREATE,
    OrderAmend: _AMEND,
    CancelAll: _CANCEL_ALL,
    TradingStop: _TRADING_STOP,
}


def refuse_unsupported(req: msgspec.Struct) -> None:
    """Raise 10001 for the first field whose value this venue refuses."""
    for name, treatment in TREATMENT[type(req)].items():
        if isinstance(treatment, Refused):
            value = getattr(req, name)
            if value not in (None, "") and value not in treatment.allowed:
                raise params_error(treatment.msg)


def as_create(req: wire.OrderCreateRequest) -> OrderCreate:
    """The request as the full create type (a plain wire request has the rest absent)."""
    if isinstance(req, OrderCreate):
        return req
    return OrderCreate(**msgspec.structs.asdict(req))


def as_amend(req: wire.OrderAmendRequest) -> OrderAmend:
    """The request as the full amend type."""
    if isinstance(req, OrderAmend):
        return req
    return OrderAmend(**msgspec.structs.asdict(req))


def as_cancel_all(req: wire.CancelAllRequest) -> CancelAll:
    """The request as the full cancel-all type."""
    if isinstance(req, CancelAll):
        return req
    return CancelAll(**msgspec.structs.asdict(req))


def as_trading_stop(req: wire.TradingStopRequest) -> TradingStop:
    """The request as the full trading-stop type."""
    if isinstance(req, TradingStop):
        return req
    return TradingStop(**msgspec.structs.asdict(req))
