"""The order path's decisions, pure: a command and what the executor knows at `now_ns` in,
a verdict out. No I/O and no clock: the shell (order_flow.py) journals, sends and
publishes what these return, and feeds the venue's answers back as outcomes.

A submit is denied, with its reason, unless every check passes, in this order: the id is
the strategy's and new, the symbol has instrument rules, a last trade price younger than
its limit is known (never fetched here: `price_stale`), the order fits the instrument's
grid, the last-line risk check (risk.py), the strategy's orders-per-minute limit, and the
orders breaker (`circuit_open`: new exposure waits; reduce-only orders and cancels pass).
While a reconciliation runs the state is Reducing and risk.py lets only reducing orders
through: "no new exposure while reconciling" is this decision, not a lock.

An order's create answer is an outcome (acknowledged, refused, unknown); `after_create`
says what follows: accept, reject, or resolve the doubt by orderLinkId (then resend the
same orderLinkId only if the venue never heard of it, at most `resends` times).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

import msgspec

from services.executor.order_state import CANCELABLE_STATUSES, OrderRecord
from services.executor.risk import (
    Exposure,
    RiskLimits,
    check_order,
    quantize_order,
    reduces_position,
)
from shared.bybit.translate import InstrumentRules
from shared.order_ids import parse_client_order_id
from shared.schema import (
    AmendOrder,
    CancelOrder,
    OrderStatus,
    OrderType,
    SubmitOrder,
    TradingState,
)

MAX_BATCH: Final = 20  # Bybit's create/amend/cancel-batch for linear: 1 .. 20 orders


@dataclass(frozen=True, slots=True)
class Desk:
    """What a decision reads: the executor's state at `now_ns`, gathered by the shell."""

    now_ns: int
    state: TradingState
    reconciled: bool
    limits: RiskLimits
    rules: Mapping[str, InstrumentRules]
    exposure: Exposure
    fresh_price: Callable[[str], Decimal | None]  # the last trade price if young enough
    known: Callable[[str], OrderRecord | None]  # an order by client_order_id
    # The strategy's orders-per-minute and the orders breaker, asked last (a half-open
    # breaker lets one probe through: asking it is taking it), with whether the order is
    # reduce-only (it passes an open breaker). None: allowed.
    orders_refusal: Callable[[SubmitOrder, bool], str | None]


@dataclass(frozen=True, slots=True)
class Denied:
    reason: str


def decide_submit(command: SubmitOrder, desk: Desk) -> SubmitOrder | Denied:
    """Return the order to journal and send (on the instrument's grid), or why not."""
    parsed = parse_client_order_id(command.client_order_id)
    if parsed is None or parsed.strategy_id != command.strategy_id:
        return Denied(f"client_order_id {command.client_order_id} is not this strategy's id")
    if (known := desk.known(command.client_order_id)) is not None:
        return Denied(f"duplicate client_order_id {command.client_order_id} ({known.status})")
    rules = desk.rules.get(command.symbol)
    if rules is None:
        return Denied(f"symbol {command.symbol} not in allowed_symbols or not trading")
    price = desk.fresh_price(command.symbol)
    reduces = _reduces(command, desk.exposure)
    if price is None and not reduces:
        return Denied(f"price_stale: no last trade price of {command.symbol} within its limit")
    quantized = quantize_order(command, rules, price, reduces=reduces)
    if isinstance(quantized, str):
        return Denied(quantized)
    reason = check_order(
        quantized, desk.limits, desk.exposure, desk.state, desk.reconciled, desk.now_ns
    )
    if reason is None:
        reason = desk.orders_refusal(quantized, quantized.reduce_only)
    return quantized if reason is None else Denied(reason)


def decide_cancel(command: CancelOrder, record: OrderRecord | None) -> OrderRecord | Denied:
    """Return the order to cancel, or why not (cancels are never held back by a breaker).

    An order whose create is unanswered is returned too: the shell cancels it on its ack.
    """
    if record is None or record.strategy_id != command.strategy_id:
        return Denied(f"unknown client_order_id {command.client_order_id}")
    if record.status not in CANCELABLE_STATUSES and not awaiting_ack(record):
        return Denied(f"order {command.client_order_id} is {record.status}")
    return record


def awaiting_ack(record: OrderRecord) -> bool:
    """Sent, its create (or the lookup of an unknown outcome) not answered yet."""
    return (
        record.status in (OrderStatus.SUBMITTED, OrderStatus.IN_DOUBT)
        and record.in_flight > 0
        and not record.venue_order_id
    )


@dataclass(frozen=True, slots=True)
class AmendPlan:
    """An amend that passed: the new qty and price, and what changes (None: unchanged)."""

    record: OrderRecord
    qty: Decimal
    limit_price: Decimal | None
    qty_changed: bool
    price_changed: bool


def decide_amend(
    command: AmendOrder, record: OrderRecord | None, original: SubmitOrder | None, desk: Desk
) -> AmendPlan | Denied:
    """A working limit order's new qty and/or price, after the same last-line checks as a
    new order of that size (the order itself not counted among the open ones)."""
    if record is None or original is None or record.strategy_id != command.strategy_id:
        return Denied(f"unknown client_order_id {command.client_order_id}")
    changed = msgspec.structs.replace(
        original,
        qty=command.qty or record.qty,
        limit_price=command.limit_price or record.limit_price,
        expires_at_ns=command.expires_at_ns,
    )
    reason = _amend_refusal(changed, record) or _amend_risk(changed, record, desk)
    if reason is not None:
        return Denied(reason)
    return AmendPlan(
        record,
        changed.qty,
        changed.limit_price,
        qty_changed=changed.qty != record.qty,
        price_changed=changed.limit_price != record.limit_price,
    )


def _amend_refusal(changed: SubmitOrder, record: OrderRecord) -> str | None:
    """What the order itself rules out: not working, not a limit order, nothing new."""
    if record.status not in CANCELABLE_STATUSES or record.order_type is not OrderType.LIMIT:
        return f"order {record.client_order_id} is {record.status}"
    if changed.qty == record.qty and changed.limit_price == record.limit_price:
        return f"amend of {record.client_order_id} changes nothing"
    if changed.qty <= record.cum_filled_qty:
        return f"qty {changed.qty} is not above the filled qty {record.cum_filled_qty}"
    return None


def _amend_risk(changed: SubmitOrder, record: OrderRecord, desk: Desk) -> str | None:
    """The new order's grid, price and last-line risk, as for a new order of that size."""
    rules = desk.rules.get(record.symbol)
    if rules is None:
        return f"symbol {record.symbol} has no instrument rules"
    price = desk.fresh_price(record.symbol)
    if price is None and not _reduces(changed, desk.exposure):
        return f"price_stale: no last trade price of {record.symbol} within its limit"
    quantized = quantize_order(changed, rules, price)
    if isinstance(quantized, str):
        return quantized
    if quantized.qty != changed.qty or quantized.limit_price != changed.limit_price:
        return f"qty {changed.qty} or price {changed.limit_price} off the instrument's grid"
    others = _without(desk.exposure, record)
    reason = check_order(changed, desk.limits, others, desk.state, desk.reconciled, desk.now_ns)
    if reason is None and changed.qty > record.qty:  # more size is more exposure
        reason = desk.orders_refusal(changed, changed.reduce_only)
    return reason


def _without(exposure: Exposure, record: OrderRecord) -> Exposure:
    """The exposure without `record` itself (an amend replaces it: not counted twice)."""
    working = dict(exposure.working_qty)
    if not record.reduce_only and record.symbol in working:
        buys, sells = working[record.symbol]
        left = max(record.qty - record.cum_filled_qty, Decimal(0))
        is_buy = str(record.side) == "Buy"
        working[record.symbol] = (
            (max(buys - left, Decimal(0)), sells)
            if is_buy
            else (buys, max(sells - left, Decimal(0)))
        )
    return msgspec.structs.replace(
        exposure, open_orders=max(exposure.open_orders - 1, 0), working_qty=working
    )


def _reduces(command: SubmitOrder, exposure: Exposure) -> bool:
    return reduces_position(command, exposure.position_qty(command.symbol))


def batch_refusal(kind: str, size: int, strategy_ids: set[str], strategy_id: str) -> str | None:
    """The checks of a batch command as a whole: 1 .. 20 orders, all of its strategy."""
    if not 1 <= size <= MAX_BATCH:
        return f"{kind} holds 1 .. {MAX_BATCH} orders, not {size}"
    if strategy_ids - {strategy_id}:
        return f"{kind} of {strategy_id} carries orders of {', '.join(sorted(strategy_ids))}"
    return None


class Next(StrEnum):
    """What follows a create's outcome."""

    ACCEPT = "accept"
    REJECT = "reject"
    RESOLVE = "resolve"  # unknown: ask the venue by orderLinkId


def after_create(*, acknowledged: bool, outcome_unknown: bool) -> Next:
    if acknowledged:
        return Next.ACCEPT
    return Next.RESOLVE if outcome_unknown else Next.REJECT


class Doubt(StrEnum):
    """What an in-doubt order's lookup by orderLinkId leads to."""

    ADOPT = "adopt"  # the venue knows it: take its id and status
    RESEND = "resend"  # the venue never heard of it: send it again, same orderLinkId
    GIVE_UP = "give_up"  # resends spent: left in doubt for the next reconciliation (alert)
    REJECT_EXPIRED = "reject_expired"  # never placed, and its command has expired
    REJECT_HALTED = "reject_halted"  # never placed, and new exposure is halted


def after_lookup(
    *,
    found: bool,
    resends: int,
    max_resends: int,
    expired: bool,
    halted: bool,
    reduce_only: bool,
) -> Doubt:
    """An unanswered create asked for by orderLinkId: adopt, resend, or end it."""
    if found:
        return Doubt.ADOPT
    if expired:
        return Doubt.REJECT_EXPIRED
    if halted and not reduce_only:
        return Doubt.REJECT_HALTED
    return Doubt.RESEND if resends < max_resends else Doubt.GIVE_UP


def cancel_on_ack(record: OrderRecord, state: TradingState) -> bool:
    """Cancel an order as soon as it is acknowledged: a cancel came while its create was in
    flight, or a halt came (the halt's cancel round could not cancel it yet)."""
    if record.is_terminal:
        return False
    return record.cancel_on_ack or (state is TradingState.HALTED and not record.reduce_only)
