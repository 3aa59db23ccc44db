"""Bybit V5 JSON, mirrored as msgspec Structs (category=linear).

Field names follow the venue's JSON exactly (explicit `name=` where camelCase rules would
get them wrong, e.g. `positionIM`). Prices and quantities the bot relies on are Decimal;
fields the venue sometimes sends as "" are `str` and parsed in translate.py. Every field
has the JSON type of the captured frames in tests/fixtures/bybit, so the simulator can
encode these same Structs and be checked against the captures.

Decoding ignores unknown fields (the venue adds fields over time); the simulator encodes
every field.
"""

from decimal import Decimal
from typing import Annotated, Any, Final, Generic, Literal, TypeVar

import msgspec
from msgspec import field

T = TypeVar("T")


class Wire(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of venue JSON objects: camelCase on the wire, snake_case in Python."""


# ---------------------------------------------------------------- envelope


class RawResponse(Wire, kw_only=True):
    """The REST envelope with `result` left undecoded (decoded once retCode is known)."""

    ret_code: int
    ret_msg: str
    result: msgspec.Raw = msgspec.Raw(b"{}")
    ret_ext_info: Any = field(default_factory=dict)
    time: int = 0


class Response(Wire, Generic[T], kw_only=True):
    """The REST envelope around one typed result (what the simulator encodes)."""

    ret_code: int = 0
    ret_msg: str = "OK"
    result: T
    ret_ext_info: dict[str, Any] = field(default_factory=dict)
    time: int


class Empty(Wire, kw_only=True):
    """`result: {}`."""


# ---------------------------------------------------------------- market (public REST)


class ServerTime(Wire, kw_only=True):
    time_second: str
    time_nano: str


class LeverageFilter(Wire, kw_only=True):
    min_leverage: str
    max_leverage: str
    leverage_step: str


class PriceFilter(Wire, kw_only=True):
    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal


class LotSizeFilter(Wire, kw_only=True):
    max_order_qty: Decimal
    min_order_qty: Decimal
    qty_step: Decimal
    post_only_max_order_qty: Decimal
    max_mkt_order_qty: Decimal
    min_notional_value: Decimal


class RiskParameters(Wire, kw_only=True):
    price_limit_ratio_x: str = field(name="priceLimitRatioX")
    price_limit_ratio_y: str = field(name="priceLimitRatioY")


class Instrument(Wire, kw_only=True):
    symbol: str
    contract_type: str
    status: str
    base_coin: str
    quote_coin: str
    launch_time: str
    delivery_time: str = "0"
    delivery_fee_rate: str = ""
    price_scale: str
    leverage_filter: LeverageFilter
    price_filter: PriceFilter
    lot_size_filter: LotSizeFilter
    unified_margin_trade: bool = True
    funding_interval: int = 480
    settle_coin: str = "USDT"
    copy_trading: str = "both"
    upper_funding_rate: str = "0.005"
    lower_funding_rate: str = "-0.005"
    is_pre_listing: bool = False
    pre_listing_info: Any = None
    risk_parameters: RiskParameters | None = None
    display_name: str = ""
    symbol_type: str = ""
    forbid_upl_withdrawal: bool = False
    symbol_id: int = 0


class InstrumentsPage(Wire, kw_only=True):
    category: str
    list: list[Instrument]
    next_page_cursor: str = ""


class Ticker(Wire, kw_only=True):
    symbol: str
    last_price: Decimal
    index_price: str = ""
    mark_price: str = ""
    prev_price24h: Decimal = field(name="prevPrice24h")
    price24h_pcnt: Decimal = field(name="price24hPcnt")
    high_price24h: Decimal = field(name="highPrice24h")
    low_price24h: Decimal = field(name="lowPrice24h")
    prev_price1h: str = field(name="prevPrice1h", default="")
    open_interest: str = ""
    open_interest_value: str = ""
    turnover24h: Decimal = field(name="turnover24h")
    volume24h: Decimal = field(name="volume24h")
    funding_rate: str = ""
    next_funding_time: str = ""
    predicted_delivery_price: str = ""
    basis_rate: str = ""
    delivery_fee_rate: str = ""
    delivery_time: str = "0"
    basis: str = ""
    bid1_price: str = field(name="bid1Price", default="")
    bid1_size: str = field(name="bid1Size", default="")
    ask1_price: str = field(name="ask1Price", default="")
    ask1_size: str = field(name="ask1Size", default="")


class TickerList(Wire, kw_only=True):
    category: str
    list: list[Ticker]


class RawTickerList(Wire, kw_only=True):
    """Tickers left undecoded, so each can be decoded (or dropped) on its own."""

    category: str
    list: list[msgspec.Raw]


PriceLevel = tuple[Decimal, Decimal]  # [price, size] as two strings on the wire


class OrderBookResult(Wire, kw_only=True):
    s: str
    b: list[PriceLevel]
    a: list[PriceLevel]
    ts: int
    u: int
    seq: int
    cts: int


class RecentTrade(Wire, kw_only=True):
    exec_id: str
    symbol: str
    price: Decimal
    size: Decimal
    side: str
    time: str
    is_block_trade: bool = False
    is_rpi_trade: bool = field(name="isRPITrade", default=False)
    seq: str = ""


class RecentTrades(Wire, kw_only=True):
    category: str
    list: list[RecentTrade]


class Klines(Wire, kw_only=True):
    category: str
    symbol: str
    list: list[list[str]]  # [startTime, open, high, low, close, volume, turnover], newest first


# ---------------------------------------------------------------- trade (signed REST)


class OrderCreateRequest(Wire, kw_only=True):
    """Body of /v5/order/create (and the trade websocket's order.create)."""

    category: str = "linear"
    symbol: str
    side: str
    order_type: str
    qty: str
    price: str | None = None
    time_in_force: str | None = None
    position_idx: int | None = None
    order_link_id: str | None = None
    reduce_only: bool | None = None
    close_on_trigger: bool | None = None
    take_profit: str | None = None
    stop_loss: str | None = None


class OrderAmendRequest(Wire, kw_only=True):
    category: str = "linear"
    symbol: str
    order_id: str | None = None
    order_link_id: str | None = None
    qty: str | None = None
    price: str | None = None


class OrderCancelRequest(Wire, kw_only=True):
    category: str = "linear"
    symbol: str
    order_id: str | None = None
    order_link_id: str | None = None


class CancelAllRequest(Wire, kw_only=True):
    category: str = "linear"
    symbol: str | None = None
    base_coin: str | None = None
    settle_coin: str | None = None


class SetLeverageRequest(Wire, kw_only=True):
    category: str = "linear"
    symbol: str
    buy_leverage: str
    sell_leverage: str


class TradingStopRequest(Wire, kw_only=True):
    category: str = "linear"
    symbol: str
    tpsl_mode: str = "Full"
    position_idx: int = 0
    take_profit: str | None = None
    stop_loss: str | None = None
    tp_trigger_by: str | None = None
    sl_trigger_by: str | None = None


class OrderIds(Wire, kw_only=True):
    """Result of create, amend and cancel: an acknowledgement, not a fill."""

    order_id: str
    order_link_id: str


class CancelAllResult(Wire, kw_only=True):
    list: list[OrderIds]
    success: str = "1"


class Order(Wire, kw_only=True):
    """One order as /v5/order/realtime, /v5/order/history and the `order` topic show it."""

    order_id: str
    order_link_id: str
    block_trade_id: str = ""
    symbol: str
    price: Decimal
    qty: Decimal
    side: str
    is_leverage: str = ""
    position_idx: int = 0
    order_status: str
    cancel_type: str = "UNKNOWN"
    reject_reason: str = "EC_NoError"
    avg_price: str = ""
    leaves_qty: str = ""
    leaves_value: str = ""
    cum_exec_qty: Decimal
    cum_exec_value: Decimal
    cum_exec_fee: Decimal
    time_in_force: str
    order_type: str
    stop_order_type: str = ""
    order_iv: str = ""
    trigger_price: str = ""
    take_profit: str = ""
    stop_loss: str = ""
    tp_trigger_by: str = ""
    sl_trigger_by: str = ""
    trigger_direction: int = 0
    trigger_by: str = ""
    last_price_on_created: str = ""
    reduce_only: bool = False
    close_on_trigger: bool = False
    smp_type: str = "None"
    smp_group: int = 0
    smp_order_id: str = ""
    tpsl_mode: str = ""
    tp_limit_price: str = ""
    sl_limit_price: str = ""
    place_type: str = ""
    created_time: str
    updated_time: str
    cum_fee_detail: dict[str, str] = field(default_factory=dict)


class OrderList(Wire, kw_only=True):
    category: str
    list: list[Order]
    next_page_cursor: str = ""


class Execution(Wire, kw_only=True):
    """One fill (or funding, ADL ...: see exec_type) from /v5/execution/list."""

    symbol: str
    order_type: str
    underlying_price: str = ""
    order_link_id: str
    side: str
    index_price: str = ""
    order_id: str
    stop_order_type: str = "UNKNOWN"
    leaves_qty: Decimal
    exec_time: str
    fee_currency: str = ""
    is_maker: bool
    exec_fee: Decimal
    fee_rate: str = ""
    exec_id: str
    trade_iv: str = ""
    block_trade_id: str = ""
    mark_price: str = ""
    exec_price: Decimal
    mark_iv: str = ""
    order_qty: Decimal
    order_price: Decimal
    exec_value: Decimal
    exec_type: str
    exec_qty: Decimal
    closed_size: str = ""
    extra_fees: str | list[dict[str, str]] = ""
    seq: int = 0


class ExecutionList(Wire, kw_only=True):
    category: str
    list: list[Execution]
    next_page_cursor: str = ""


# ---------------------------------------------------------------- position and account


class PositionInfo(Wire, kw_only=True):
    """One position as /v5/position/list shows it (the `position` topic: PositionEvent)."""

    position_idx: int = 0
    risk_id: int = 1
    risk_limit_value: str = ""
    symbol: str
    side: str  # "Buy" long, "Sell" short, "" flat
    size: Decimal
    avg_price: str
    position_value: str = ""
    trade_mode: int = 0
    position_status: str = "Normal"
    auto_add_margin: int = 0
    adl_rank_indicator: int = 0
    leverage: str = ""
    break_even_price: str = ""
    position_balance: str = ""
    mark_price: str = ""
    liq_price: str = ""
    bust_price: str = ""
    position_mm: str = field(name="positionMM", default="")
    position_mm_by_mp: str = field(name="positionMMByMp", default="")
    position_im: str = field(name="positionIM", default="")
    position_im_by_mp: str = field(name="positionIMByMp", default="")
    tpsl_mode: str = "Full"
    take_profit: str = ""
    stop_loss: str = ""
    trailing_stop: str = ""
    unrealised_pnl: str = ""
    cur_realised_pnl: str = ""
    cum_realised_pnl: str = ""
    seq: int = -1
    is_reduce_only: bool = False
    mmr_sys_update_time: str = ""
    leverage_sys_updated_time: str = ""
    session_avg_price: str = ""
    created_time: str = ""
    updated_time: str = ""


class PositionList(Wire, kw_only=True):
    list: list[PositionInfo]
    next_page_cursor: str = ""
    category: str = "linear"


class CoinBalance(Wire, kw_only=True):
    available_to_borrow: str = ""
    bonus: str = "0"
    accrued_interest: str = "0"
    available_to_withdraw: str = ""
    total_order_im: str = field(name="totalOrderIM", default="0")
    equity: Decimal
    total_position_mm: str = field(name="totalPositionMM", default="0")
    usd_value: str = ""
    spot_hedging_qty: str = "0"
    unrealised_pnl: str = "0"
    collateral_switch: bool = True
    borrow_amount: str = "0"
    total_position_im: str = field(name="totalPositionIM", default="0")
    wallet_balance: Decimal
    cum_realised_pnl: str = "0"
    locked: str = "0"
    margin_collateral: bool = True
    coin: str
    spot_borrow: str = "0"


class Wallet(Wire, kw_only=True):
    total_equity: str
    account_im_rate: str = field(name="accountIMRate", default="0")
    account_im_rate_by_mp: str = field(name="accountIMRateByMp", default="0")
    total_margin_balance: str
    total_initial_margin: str = "0"
    total_initial_margin_by_mp: str = field(name="totalInitialMarginByMp", default="0")
    account_type: str = "UNIFIED"
    total_available_balance: str
    account_mm_rate: str = field(name="accountMMRate", default="0")
    account_mm_rate_by_mp: str = field(name="accountMMRateByMp", default="0")
    total_perp_upl: str = field(name="totalPerpUPL", default="0")
    total_wallet_balance: str
    account_ltv: str = field(name="accountLTV", default="0")
    total_maintenance_margin: str = "0"
    total_maintenance_margin_by_mp: str = field(name="totalMaintenanceMarginByMp", default="0")
    coin: list[CoinBalance]


class WalletList(Wire, kw_only=True):
    list: list[Wallet]


# ---------------------------------------------------------------- websocket control


class WsRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A client op: subscribe, unsubscribe, ping, auth."""

    op: str
    args: list[Any] = field(default_factory=list)
    req_id: str | None = None


class WsAck(msgspec.Struct, kw_only=True):
    """Reply to subscribe, unsubscribe, auth, and the public stream's ping."""

    success: bool
    ret_msg: str = ""
    conn_id: str = ""
    req_id: str | None = None
    op: str


class WsPong(msgspec.Struct, kw_only=True):
    """The private stream's reply to ping."""

    op: str
    args: list[str] = field(default_factory=list)
    conn_id: str = ""
    req_id: str | None = None


# ---------------------------------------------------------------- public websocket

# Market data's timestamps become nanoseconds and its update ids go on the bus, both as
# 64-bit integers: a value that cannot be one fails decoding (a dropped frame), instead of
# breaking the book's publisher after the frame was applied.
_INT64_MAX: Final = 2**63 - 1
MsTimestamp = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX // 1_000_000)]
UpdateId = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)]


class OrderBookData(msgspec.Struct, kw_only=True):
    s: str
    b: list[PriceLevel]
    a: list[PriceLevel]
    u: UpdateId
    seq: UpdateId


class OrderBookMessage(msgspec.Struct, kw_only=True):
    topic: str
    type: str  # "snapshot" | "delta"
    ts: MsTimestamp
    data: OrderBookData
    cts: int = 0


class PublicTradeData(msgspec.Struct, kw_only=True):
    """One public trade; single-letter field names are the venue's."""

    T: MsTimestamp
    s: str
    S: Literal["Buy", "Sell"]  # taker side: anything else fails decoding (a bad frame)
    v: Decimal
    p: Decimal
    L: str = ""
    i: str
    BT: bool = False
    RPI: bool = False
    seq: UpdateId = 0


class PublicTradeMessage(msgspec.Struct, kw_only=True):
    topic: str
    type: str
    ts: MsTimestamp
    data: list[PublicTradeData]


class TickerData(Wire, kw_only=True, omit_defaults=True):
    """Ticker snapshot or delta: in a delta only the changed fields are present."""

    symbol: str
    tick_direction: str | None = None
    price24h_pcnt: str | None = field(name="price24hPcnt", default=None)
    last_price: str | None = None
    prev_price24h: str | None = field(name="prevPrice24h", default=None)
    high_price24h: str | None = field(name="highPrice24h", default=None)
    low_price24h: str | None = field(name="lowPrice24h", default=None)
    prev_price1h: str | None = field(name="prevPrice1h", default=None)
    mark_price: str | None = None
    index_price: str | None = None
    open_interest: str | None = None
    open_interest_value: str | None = None
    turnover24h: str | None = field(name="turnover24h", default=None)
    volume24h: str | None = field(name="volume24h", default=None)
    funding_interval_hour: str | None = None
    funding_cap: str | None = None
    single_open_interest: str | None = None
    single_open_interest_value: str | None = None
    next_funding_time: str | None = None
    funding_rate: str | None = None
    bid1_price: str | None = field(name="bid1Price", default=None)
    bid1_size: str | None = field(name="bid1Size", default=None)
    ask1_price: str | None = field(name="ask1Price", default=None)
    ask1_size: str | None = field(name="ask1Size", default=None)
    pre_open_price: str | None = None
    pre_qty: str | None = None
    cur_pre_listing_phase: str | None = None


class TickerMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    topic: str
    type: str
    data: TickerData
    cs: int
    ts: int


# ---------------------------------------------------------------- private websocket


class OrderEvent(Order, kw_only=True):
    """An order on the `order` topic: the REST order plus these fields."""

    category: str = "linear"
    closed_pnl: str = "0"
    create_type: str = "CreateByUser"
    fee_currency: str = ""
    rpi_taker_access: bool = False
    rpi_matched_qty: str = "0"


class ExecutionEvent(Execution, kw_only=True):
    category: str = "linear"
    extra_fees: str | list[dict[str, str]] = field(default_factory=list)  # a list on the stream
    exec_pnl: str = "0"
    is_leverage: str = "0"
    market_unit: str = ""
    create_type: str = "CreateByUser"


class PositionEvent(Wire, kw_only=True):
    """A position on the `position` topic (entryPrice where REST says avgPrice)."""

    position_idx: int = 0
    trade_mode: int = 0
    risk_id: int = 1
    risk_limit_value: str = ""
    symbol: str
    side: str
    size: Decimal
    entry_price: str
    leverage: str = ""
    break_even_price: str = ""
    position_value: str = ""
    position_balance: str = ""
    mark_price: str = ""
    position_im: str = field(name="positionIM", default="")
    position_im_by_mp: str = field(name="positionIMByMp", default="")
    position_mm: str = field(name="positionMM", default="")
    position_mm_by_mp: str = field(name="positionMMByMp", default="")
    take_profit: str = ""
    stop_loss: str = ""
    trailing_stop: str = ""
    unrealised_pnl: str = ""
    cur_realised_pnl: str = ""
    cum_realised_pnl: str = ""
    session_avg_price: str = ""
    created_time: str = ""
    updated_time: str = ""
    tpsl_mode: str = "Full"
    liq_price: str = ""
    bust_price: str = ""
    category: str = "linear"
    position_status: str = "Normal"
    adl_rank_indicator: int = 0
    auto_add_margin: int = 0
    leverage_sys_updated_time: str = ""
    mmr_sys_updated_time: str = ""
    seq: int = -1
    is_reduce_only: bool = False


class PrivateMessage(Wire, Generic[T], kw_only=True):
    id: str = ""
    topic: str
    creation_time: int
    data: list[T]


class TopicProbe(msgspec.Struct, kw_only=True):
    """Just enough of any websocket frame to route it: data frames have `topic`, replies `op`."""

    topic: str | None = None
    op: str | None = None
    type: str | None = None


ORDER_BOOK_DEPTHS: Final = (1, 50, 200, 1000)
