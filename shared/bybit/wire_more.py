"""Bybit V5 JSON of the batch, account-history and market-history endpoints (linear).

Field names and JSON types as Bybit's docs give them (numbers in strings, except risk
limit `id` / `isLowestRisk` and the batch `code`). Kept beside `wire` so that module stays
the core set the bot decodes.
"""

from typing import Any

import msgspec

from shared.bybit.wire import Wire

# ---------------------------------------------------------------- batch orders


class BatchRequest(Wire, kw_only=True):
    """Body of create-batch / amend-batch / cancel-batch: each item decoded on its own."""

    category: str
    request: list[msgspec.Raw]


class BatchItem(Wire, kw_only=True):
    """One entry of a batch's `result.list` (create-batch adds `createAt`)."""

    category: str
    symbol: str
    order_id: str
    order_link_id: str


class BatchCreateItem(BatchItem, kw_only=True):
    create_at: str


class BatchStatus(Wire, kw_only=True):
    """One entry of a batch's `retExtInfo.list`: the item's own retCode / retMsg."""

    code: int
    msg: str


class BatchResult(Wire, kw_only=True):
    list: list[Any]  # BatchItem | BatchCreateItem


# ---------------------------------------------------------------- account and position


class FeeRate(Wire, kw_only=True):
    symbol: str
    taker_fee_rate: str
    maker_fee_rate: str


class FeeRates(Wire, kw_only=True):
    list: list[FeeRate]


class ClosedPnl(Wire, kw_only=True):
    symbol: str
    order_id: str
    side: str
    qty: str
    order_price: str
    order_type: str
    exec_type: str
    closed_size: str
    cum_entry_value: str
    avg_entry_price: str
    cum_exit_value: str
    avg_exit_price: str
    closed_pnl: str
    fill_count: str
    leverage: str
    open_fee: str
    close_fee: str
    created_time: str
    updated_time: str


class ClosedPnlPage(Wire, kw_only=True):
    category: str
    list: list[ClosedPnl]
    next_page_cursor: str = ""


class Transaction(Wire, kw_only=True):
    """One row of /v5/account/transaction-log (UTA)."""

    id: str
    symbol: str
    category: str
    side: str
    transaction_time: str
    type: str
    trans_sub_type: str = ""
    qty: str
    size: str
    currency: str
    trade_price: str
    funding: str
    fee: str
    cash_flow: str
    change: str
    cash_balance: str
    fee_rate: str
    bonus_change: str
    trade_id: str
    order_id: str
    order_link_id: str
    extra_fees: str = ""


class TransactionPage(Wire, kw_only=True):
    list: list[Transaction]
    next_page_cursor: str = ""


class SwitchModeRequest(Wire, kw_only=True):
    category: str = "linear"
    symbol: str | None = None
    coin: str | None = None
    mode: int


class SetMarginModeRequest(Wire, kw_only=True):
    set_margin_mode: str


class MarginModeReason(Wire, kw_only=True):
    reason_code: str
    reason_msg: str


class MarginModeResult(Wire, kw_only=True):
    reasons: list[MarginModeReason]


# ---------------------------------------------------------------- market history


class FundingRate(Wire, kw_only=True):
    symbol: str
    funding_rate: str
    funding_rate_timestamp: str


class FundingHistory(Wire, kw_only=True):
    category: str
    list: list[FundingRate]


class OpenInterest(Wire, kw_only=True):
    open_interest: str
    single_open_interest: str
    timestamp: str


class OpenInterestPage(Wire, kw_only=True):
    category: str
    symbol: str
    list: list[OpenInterest]
    next_page_cursor: str = ""


class RiskLimit(Wire, kw_only=True):
    id: int
    symbol: str
    risk_limit_value: str
    maintenance_margin: str
    initial_margin: str
    is_lowest_risk: int
    max_leverage: str
    mm_deduction: str


class RiskLimits(Wire, kw_only=True):
    category: str
    list: list[RiskLimit]
    next_page_cursor: str = ""
