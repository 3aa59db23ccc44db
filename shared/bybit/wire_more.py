"""Bybit V5 JSON of the batch, account-history and market-history endpoints (linear).

Field names and JSON types as Bybit's docs give them (numbers in strings, except risk
limit `id` / `isLowestRisk` and the batch `code`). Kept beside `wire` so that module stays
the core set the bot decodes. `batch_results` pairs a batch answer's two lists into one
BatchItemResult per order sent (pure).
"""

from collections.abc import Sequence
from dataclasses import dataclass
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


class BatchItemIds(Wire, kw_only=True):
    """A `result.list` entry as the client reads it: the ids only ("" when the item failed)."""

    order_id: str = ""
    order_link_id: str = ""


class BatchIds(Wire, kw_only=True):
    list: list[BatchItemIds]


class BatchStatuses(Wire, kw_only=True):
    list: list[BatchStatus]


class BatchEnvelope(Wire, kw_only=True):
    """The part of a batch answer the result leaves out: each item's code in retExtInfo."""

    ret_ext_info: BatchStatuses


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    """What the venue said about one order of a batch."""

    order_link_id: str  # the venue's, else the one sent ("" if neither)
    order_id: str  # "" when the item failed
    code: int  # 0 on success, else the item's Bybit retCode
    message: str  # "OK" on success

    @property
    def ok(self) -> bool:
        return self.code == 0


def batch_results(
    sent_link_ids: Sequence[str], ids: Sequence[BatchItemIds], statuses: Sequence[BatchStatus]
) -> list[BatchItemResult]:
    """Return one result per order sent, in the order sent.

    Raises ValueError when result.list or retExtInfo.list does not hold one entry per order.
    """
    if not len(sent_link_ids) == len(ids) == len(statuses):
        raise ValueError(
            f"{len(sent_link_ids)} orders sent, {len(ids)} in result.list, "
            f"{len(statuses)} in retExtInfo.list"
        )
    return [
        BatchItemResult(item.order_link_id or sent, item.order_id, status.code, status.msg)
        for sent, item, status in zip(sent_link_ids, ids, statuses, strict=True)
    ]


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
