"""The order path's pure decisions (order_core): examples per branch, then properties."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.executor.order_core import (
    MAX_BATCH,
    AmendPlan,
    Denied,
    Desk,
    Doubt,
    Next,
    after_create,
    after_lookup,
    batch_refusal,
    cancel_on_ack,
    decide_amend,
    decide_cancel,
    decide_submit,
)
from services.executor.order_state import (
    CANCELABLE_STATUSES,
    TERMINAL_STATUSES,
    OrderRecord,
)
from services.executor.risk import (
    Exposure,
    PositionExposure,
    RiskLimits,
    check_order,
    reduces_position,
)
from shared.bybit.translate import InstrumentRules
from shared.schema import (
    AmendOrder,
    CancelOrder,
    ClientOrderId,
    OrderSide,
    OrderStatus,
    OrderType,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
)
from tests.helpers.samples import BTCUSDT_RULES, COID, SYM, VOID, T, make_submit

D = Decimal
_T = TypeVar("_T")
NOW = T
LAST = D("64000")
# make_submit(): buy 0.002 BTCUSDT at 64000.1, PostOnly, notional 128; inside every limit.
LIMITS = RiskLimits(
    max_order_notional_usdt=D("1000"),
    max_position_notional_usdt=D("5000"),
    max_open_orders=5,
    max_orders_per_minute=10,
    price_band_bps=D("100"),
    allowed_symbols=frozenset({"BTCUSDT", "ETHUSDT"}),
    daily_loss_limit_usdt=D("200"),
)
RULES: dict[str, InstrumentRules] = {"BTCUSDT": BTCUSDT_RULES}
HALTED_REASON = "trading state Halted: no orders until an operator resumes"
REDUCING_REASON = "trading state Reducing: only orders that reduce the position"


@dataclass
class FakeRefusal:
    """The orders-per-minute limit and the orders breaker: records each question."""

    reason: str | None = None
    calls: list[tuple[SubmitOrder, bool]] = field(default_factory=list)

    def __call__(self, command: SubmitOrder, reduce_only: bool) -> str | None:
        self.calls.append((command, reduce_only))
        return self.reason


def exposure(
    position: str = "0", last: Decimal | None = LAST, open_orders: int = 0, **kwargs: object
) -> Exposure:
    return Exposure(
        positions={"BTCUSDT": PositionExposure(qty=D(position), avg_price=LAST)},
        last_trade_price={} if last is None else {"BTCUSDT": last},
        open_orders=open_orders,
        **kwargs,  # type: ignore[arg-type]
    )


def make_desk(
    *,
    state: TradingState = TradingState.ACTIVE,
    reconciled: bool = True,
    exp: Exposure | None = None,
    price: Decimal | None = LAST,
    known: Callable[[str], OrderRecord | None] = lambda _: None,
    refusal: Callable[[SubmitOrder, bool], str | None] | None = None,
) -> Desk:
    return Desk(
        now_ns=NOW,
        state=state,
        reconciled=reconciled,
        limits=LIMITS,
        rules=RULES,
        exposure=exposure() if exp is None else exp,
        fresh_price=lambda symbol: price if symbol == "BTCUSDT" else None,
        known=known,
        orders_refusal=FakeRefusal() if refusal is None else refusal,
    )


def submit(
    qty: str = "0.002",
    price: str | None = "64000.1",
    side: OrderSide = OrderSide.BUY,
    **changes: object,
) -> SubmitOrder:
    """make_submit() with another qty, price (None: a market order) or side."""
    market = price is None
    return msgspec.structs.replace(
        make_submit(),
        qty=D(qty),
        limit_price=None if price is None else D(price),
        side=side,
        order_type=OrderType.MARKET if market else OrderType.LIMIT,
        time_in_force=TimeInForce.IOC if market else TimeInForce.POST_ONLY,
        **changes,
    )


def exit_order(qty: str = "0.002", price: str | None = "64000.1") -> SubmitOrder:
    """A reduce-only sell: it reduces the long 0.002 of `long_position()` when qty <= 0.002."""
    return submit(qty, price, OrderSide.SELL, reduce_only=True)


def long_position(last: Decimal | None = LAST) -> Exposure:
    return exposure("0.002", last)


def working(
    status: OrderStatus = OrderStatus.ACCEPTED,
    command: SubmitOrder | None = None,
    **changes: object,
) -> OrderRecord:
    record = OrderRecord.from_command(command or make_submit())
    record.status = status
    record.venue_order_id = VOID
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def amend(
    qty: str | None = None,
    price: str | None = None,
    *,
    strategy_id: str = "mom1",
    expires_at_ns: int = NOW + 1_000_000_000,
) -> AmendOrder:
    return AmendOrder(
        client_order_id=COID,
        strategy_id=strategy_id,
        symbol=SYM,
        qty=None if qty is None else D(qty),
        limit_price=None if price is None else D(price),
        ts_created_ns=NOW,
        expires_at_ns=expires_at_ns,
    )


def cancel(strategy_id: str = "mom1") -> CancelOrder:
    return CancelOrder(
        client_order_id=COID,
        strategy_id=strategy_id,
        symbol=SYM,
        ts_created_ns=NOW,
        expires_at_ns=NOW + 1_000_000_000,
    )


# ---- decide_submit: the id, the symbol, the price


@pytest.mark.parametrize("coid", ["mom2-3-17", "not an id", "mom1-03-17"])
def test_submit_denied_when_the_id_is_not_the_strategys(coid: str) -> None:
    command = msgspec.structs.replace(make_submit(), client_order_id=ClientOrderId(coid))

    verdict = decide_submit(command, make_desk())

    assert verdict == Denied(f"client_order_id {coid} is not this strategy's id")


def test_submit_denied_when_the_id_is_already_known() -> None:
    record = working(OrderStatus.PARTIALLY_FILLED)
    desk = make_desk(known=lambda coid: record if coid == COID else None)

    verdict = decide_submit(make_submit(), desk)

    assert verdict == Denied("duplicate client_order_id mom1-3-17 (PartiallyFilled)")


def test_submit_denied_when_the_symbol_has_no_rules() -> None:
    command = msgspec.structs.replace(make_submit(), symbol=Symbol("ETHUSDT"))

    verdict = decide_submit(command, make_desk())

    assert verdict == Denied("symbol ETHUSDT not in allowed_symbols or not trading")


@pytest.mark.parametrize("command", [submit(), submit(price=None), exit_order(qty="0.003")])
def test_submit_denied_as_price_stale_when_no_fresh_price_and_it_adds_exposure(
    command: SubmitOrder,
) -> None:
    refusal = FakeRefusal()
    desk = make_desk(price=None, exp=long_position(), refusal=refusal)

    verdict = decide_submit(command, desk)

    assert verdict == Denied("price_stale: no last trade price of BTCUSDT within its limit")
    assert refusal.calls == []


@pytest.mark.parametrize("state", [TradingState.ACTIVE, TradingState.REDUCING])
def test_reduce_only_limit_order_that_reduces_passes_without_a_price(state: TradingState) -> None:
    command = exit_order()
    desk = make_desk(state=state, price=None, exp=long_position(last=None))

    verdict = decide_submit(command, desk)

    assert verdict is command


def test_reduce_only_market_exit_passes_without_a_price() -> None:
    command = exit_order(price=None)
    desk = make_desk(price=None, exp=long_position(last=None))

    verdict = decide_submit(command, desk)

    assert verdict is command


# ---- decide_submit: the instrument's grid


@pytest.mark.parametrize(
    ("side", "price", "expected_price"),
    [(OrderSide.BUY, "64000.19", "64000.1"), (OrderSide.SELL, "64000.11", "64000.2")],
)
def test_off_grid_order_is_floored_in_qty_and_rounded_in_its_favour_in_price(
    side: OrderSide, price: str, expected_price: str
) -> None:
    command = submit("0.0029", price, side)

    verdict = decide_submit(command, make_desk())

    assert verdict == msgspec.structs.replace(
        command, qty=D("0.002"), limit_price=D(expected_price)
    )


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (submit("0.0009"), "qty 0.000 below min_qty 0.001"),
        (submit("0.001", "4000"), "notional 4.000 below min_notional 5"),
        (submit("101"), "qty 101 above max_qty 100"),
    ],
)
def test_submit_denied_when_off_the_instruments_limits(command: SubmitOrder, reason: str) -> None:
    refusal = FakeRefusal()

    verdict = decide_submit(command, make_desk(refusal=refusal))

    assert verdict == Denied(reason)
    assert refusal.calls == []


# ---- decide_submit: last-line risk, then orders_refusal


_RISK_DENIALS = [
    pytest.param(submit(), make_desk(state=TradingState.HALTED), HALTED_REASON, id="halted"),
    pytest.param(
        exit_order(),
        make_desk(state=TradingState.HALTED, exp=long_position()),
        HALTED_REASON,
        id="halted-even-an-exit",
    ),
    pytest.param(
        submit(),
        make_desk(state=TradingState.REDUCING),
        REDUCING_REASON,
        id="reducing-new-exposure",
    ),
    pytest.param(
        exit_order("0.003"),
        make_desk(state=TradingState.REDUCING, exp=long_position()),
        REDUCING_REASON,
        id="reducing-exit-larger-than-the-position",
    ),
    pytest.param(
        submit(),
        make_desk(reconciled=False),
        "not reconciled with the venue yet: only orders that reduce the position",
        id="not-reconciled",
    ),
    pytest.param(
        submit(expires_at_ns=NOW - 1),
        make_desk(),
        f"expired: now {NOW} is after expires_at_ns {NOW - 1}",
        id="expired",
    ),
    pytest.param(
        submit("0.02"),
        make_desk(),
        "notional 1280.002 exceeds max_order_notional_usdt 1000",
        id="order-notional",
    ),
    pytest.param(
        submit(),
        make_desk(exp=exposure(open_orders=5)),
        "open orders 5 reached max_open_orders 5",
        id="open-orders",
    ),
    pytest.param(
        submit(price="65001"),  # 156.40625 bps: no rounding tie
        make_desk(),
        "price 65001 is 156.4 bps from last trade 64000, beyond price_band_bps 100",
        id="price-band",
    ),
]


@pytest.mark.parametrize(("command", "desk", "reason"), _RISK_DENIALS)
def test_risk_denial_comes_through_with_its_reason_and_orders_refusal_is_not_asked(
    command: SubmitOrder, desk: Desk, reason: str
) -> None:
    refusal = FakeRefusal()

    verdict = decide_submit(command, replace(desk, orders_refusal=refusal))

    assert verdict == Denied(reason)
    assert refusal.calls == []


def test_reducing_state_lets_an_order_that_reduces_through() -> None:
    command = exit_order()

    verdict = decide_submit(command, make_desk(state=TradingState.REDUCING, exp=long_position()))

    assert verdict is command


def test_orders_refusal_is_asked_once_with_the_quantized_order_after_every_check_passed() -> None:
    refusal = FakeRefusal()
    command = submit("0.0029", "64000.19")

    verdict = decide_submit(command, make_desk(refusal=refusal))

    assert isinstance(verdict, SubmitOrder)
    assert refusal.calls == [(verdict, False)]


@pytest.mark.parametrize(
    ("command", "exp", "reduce_only"),
    [
        (submit(), exposure(), False),
        (exit_order(), long_position(), True),
        (submit(reduce_only=True), exposure("-0.002"), True),
    ],
)
def test_orders_refusal_is_told_whether_the_order_is_reduce_only(
    command: SubmitOrder, exp: Exposure, reduce_only: bool
) -> None:
    refusal = FakeRefusal()

    decide_submit(command, make_desk(exp=exp, refusal=refusal))

    assert refusal.calls == [(command, reduce_only)]


@pytest.mark.parametrize(
    "reason", ["circuit_open: orders breaker open", "orders per minute 600 reached 600"]
)
def test_submit_denied_when_orders_refusal_gives_a_reason(reason: str) -> None:
    refusal = FakeRefusal(reason)

    verdict = decide_submit(make_submit(), make_desk(refusal=refusal))

    assert verdict == Denied(reason)
    assert len(refusal.calls) == 1


def test_order_that_passes_comes_back_unchanged_when_on_the_grid() -> None:
    command = make_submit()

    verdict = decide_submit(command, make_desk())

    assert verdict is command


# ---- decide_cancel


def test_cancel_denied_for_an_unknown_id() -> None:
    assert decide_cancel(cancel(), None) == Denied("unknown client_order_id mom1-3-17")


def test_cancel_denied_for_another_strategys_order() -> None:
    verdict = decide_cancel(cancel("mom2"), working())

    assert verdict == Denied("unknown client_order_id mom1-3-17")


@pytest.mark.parametrize(
    "status", sorted(set(OrderStatus) - CANCELABLE_STATUSES), ids=lambda status: str(status)
)
def test_cancel_denied_for_an_order_that_is_not_working(status: OrderStatus) -> None:
    verdict = decide_cancel(cancel(), working(status))

    assert verdict == Denied(f"order mom1-3-17 is {status}")


@pytest.mark.parametrize("status", [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED])
def test_cancel_of_a_working_order_returns_its_record(status: OrderStatus) -> None:
    record = working(status)

    assert decide_cancel(cancel(), record) is record


@pytest.mark.parametrize("status", [OrderStatus.SUBMITTED, OrderStatus.IN_DOUBT])
def test_cancel_of_an_order_whose_create_is_unanswered_returns_it_to_cancel_on_ack(
    status: OrderStatus,
) -> None:
    record = working(status, venue_order_id=None, in_flight=1)

    assert decide_cancel(cancel(), record) is record
    assert decide_cancel(cancel(), working(status, venue_order_id=None)) == Denied(
        f"order mom1-3-17 is {status}"
    )  # nothing in flight: no answer will come to cancel it on


# ---- decide_amend


@pytest.mark.parametrize(
    ("command", "record", "original"),
    [
        (amend(price="64000.5"), None, make_submit()),
        (amend(price="64000.5"), working(), None),
        (amend(price="64000.5", strategy_id="mom2"), working(), make_submit()),
    ],
    ids=["no-record", "no-original", "other-strategy"],
)
def test_amend_denied_for_an_unknown_id_or_another_strategys_order(
    command: AmendOrder, record: OrderRecord | None, original: SubmitOrder | None
) -> None:
    verdict = decide_amend(command, record, original, make_desk())

    assert verdict == Denied("unknown client_order_id mom1-3-17")


@pytest.mark.parametrize(
    "status", sorted(set(OrderStatus) - CANCELABLE_STATUSES), ids=lambda status: str(status)
)
def test_amend_denied_for_an_order_that_is_not_working(status: OrderStatus) -> None:
    verdict = decide_amend(amend(price="64000.5"), working(status), make_submit(), make_desk())

    assert verdict == Denied(f"order mom1-3-17 is {status}")


def test_amend_denied_for_a_market_order() -> None:
    original = submit(price=None)

    verdict = decide_amend(amend(qty="0.003"), working(command=original), original, make_desk())

    # The reason names the status, not the order type (see the report).
    assert verdict == Denied("order mom1-3-17 is Accepted")


@pytest.mark.parametrize(
    "command",
    [amend(), amend(qty="0.002"), amend(price="64000.1"), amend(qty="0.002", price="64000.1")],
)
def test_amend_denied_when_it_changes_nothing(command: AmendOrder) -> None:
    verdict = decide_amend(command, working(), make_submit(), make_desk())

    assert verdict == Denied("amend of mom1-3-17 changes nothing")


@pytest.mark.parametrize("qty", ["0.002", "0.001"])
def test_amend_denied_when_the_qty_is_not_above_the_filled_qty(qty: str) -> None:
    record = working(OrderStatus.PARTIALLY_FILLED, qty=D("0.004"), cum_filled_qty=D("0.002"))

    verdict = decide_amend(amend(qty=qty), record, make_submit(), make_desk())

    assert verdict == Denied(f"qty {qty} is not above the filled qty 0.002")


def test_amend_denied_when_its_symbol_has_no_rules() -> None:
    desk = replace(make_desk(), rules={})

    verdict = decide_amend(amend(price="64000.5"), working(), make_submit(), desk)

    assert verdict == Denied("symbol BTCUSDT has no instrument rules")


def test_amend_denied_as_price_stale_when_no_fresh_price_and_it_adds_exposure() -> None:
    desk = make_desk(price=None)

    verdict = decide_amend(amend(price="64000.5"), working(), make_submit(), desk)

    assert verdict == Denied("price_stale: no last trade price of BTCUSDT within its limit")


def test_amend_of_an_exit_passes_without_a_price() -> None:
    original = exit_order()
    desk = make_desk(price=None, exp=long_position(last=None))

    verdict = decide_amend(amend(price="64000.5"), working(command=original), original, desk)

    assert isinstance(verdict, AmendPlan)
    assert verdict.limit_price == D("64000.5")


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (amend(qty="0.0025"), "qty 0.0025 or price 64000.1 off the instrument's grid"),
        (amend(price="64000.15"), "qty 0.002 or price 64000.15 off the instrument's grid"),
        (amend(qty="0.0005"), "qty 0.000 below min_qty 0.001"),
    ],
)
def test_amend_denied_when_off_the_instruments_grid(command: AmendOrder, reason: str) -> None:
    verdict = decide_amend(command, working(), make_submit(), make_desk())

    assert verdict == Denied(reason)


@pytest.mark.parametrize(
    ("command", "desk", "reason"),
    [
        (amend(price="64000.5"), make_desk(state=TradingState.HALTED), HALTED_REASON),
        (amend(qty="0.001"), make_desk(state=TradingState.REDUCING), REDUCING_REASON),
        (
            amend(price="65001"),  # 156.40625 bps: no rounding tie
            make_desk(),
            "price 65001 is 156.4 bps from last trade 64000, beyond price_band_bps 100",
        ),
        (
            amend(qty="0.02"),
            make_desk(),
            "notional 1280.002 exceeds max_order_notional_usdt 1000",
        ),
        (
            amend(price="64000.5", expires_at_ns=NOW - 1),
            make_desk(),
            f"expired: now {NOW} is after expires_at_ns {NOW - 1}",
        ),
    ],
    ids=["halted", "reducing", "price-band", "order-notional", "expired"],
)
def test_amend_risk_denial_comes_through_with_its_reason(
    command: AmendOrder, desk: Desk, reason: str
) -> None:
    verdict = decide_amend(command, working(), make_submit(), desk)

    assert verdict == Denied(reason)


def test_amend_at_max_open_orders_passes_as_the_order_itself_is_not_counted() -> None:
    desk = make_desk(exp=exposure(open_orders=LIMITS.max_open_orders))

    amended = decide_amend(amend(price="64000.5"), working(), make_submit(), desk)
    submitted = decide_submit(make_submit(), desk)

    assert isinstance(amended, AmendPlan)
    assert submitted == Denied("open orders 5 reached max_open_orders 5")


def test_amend_beyond_max_open_orders_is_denied() -> None:
    desk = make_desk(exp=exposure(open_orders=LIMITS.max_open_orders + 1))

    verdict = decide_amend(amend(price="64000.5"), working(), make_submit(), desk)

    assert verdict == Denied("open orders 5 reached max_open_orders 5")


def test_amend_that_raises_the_qty_asks_orders_refusal() -> None:
    refusal = FakeRefusal()

    verdict = decide_amend(amend(qty="0.003"), working(), make_submit(), make_desk(refusal=refusal))

    assert isinstance(verdict, AmendPlan)
    assert len(refusal.calls) == 1
    asked, reduce_only = refusal.calls[0]
    assert (asked.qty, asked.limit_price, reduce_only) == (D("0.003"), D("64000.1"), False)


def test_amend_that_raises_the_qty_is_denied_by_orders_refusal() -> None:
    desk = make_desk(refusal=FakeRefusal("circuit_open: orders breaker open"))

    verdict = decide_amend(amend(qty="0.003"), working(), make_submit(), desk)

    assert verdict == Denied("circuit_open: orders breaker open")


@pytest.mark.parametrize(
    "command", [amend(qty="0.001"), amend(price="64000.5"), amend("0.001", "63999.9")]
)
def test_amend_that_lowers_the_qty_or_moves_the_price_does_not_ask_orders_refusal(
    command: AmendOrder,
) -> None:
    refusal = FakeRefusal("circuit_open: orders breaker open")

    verdict = decide_amend(command, working(), make_submit(), make_desk(refusal=refusal))

    assert isinstance(verdict, AmendPlan)
    assert refusal.calls == []


@pytest.mark.parametrize(
    ("command", "qty", "price", "qty_changed", "price_changed"),
    [
        (amend(price="64000.5"), "0.002", "64000.5", False, True),
        (amend(qty="0.003"), "0.003", "64000.1", True, False),
        (amend(qty="0.003", price="64000.1"), "0.003", "64000.1", True, False),
        (amend(qty="0.001", price="63999.9"), "0.001", "63999.9", True, True),
    ],
)
def test_amend_plan_says_what_changed(
    command: AmendOrder, qty: str, price: str, qty_changed: bool, price_changed: bool
) -> None:
    record = working()

    verdict = decide_amend(command, record, make_submit(), make_desk())

    assert verdict == AmendPlan(record, D(qty), D(price), qty_changed, price_changed)
    assert verdict.record is record


def test_amend_keeps_what_an_earlier_amend_changed() -> None:
    # The record holds the amended values; the original command still holds the first ones.
    record = working(qty=D("0.003"), limit_price=D("64000.5"))

    verdict = decide_amend(amend(price="64000.7"), record, make_submit(), make_desk())

    assert verdict == AmendPlan(record, D("0.003"), D("64000.7"), False, True)


# ---- batch_refusal


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
def test_batch_refused_when_empty_or_above_twenty_orders(size: int) -> None:
    reason = batch_refusal("SubmitOrders", size, {"mom1"}, "mom1")

    assert reason == f"SubmitOrders holds 1 .. 20 orders, not {size}"


@pytest.mark.parametrize("size", [1, MAX_BATCH])
def test_batch_of_one_to_twenty_orders_of_its_strategy_passes(size: int) -> None:
    assert batch_refusal("CancelOrders", size, {"mom1"}, "mom1") is None


@pytest.mark.parametrize("strategy_ids", [{"mom1", "mom2"}, {"mom2"}])
def test_batch_refused_when_it_carries_another_strategys_order(strategy_ids: set[str]) -> None:
    reason = batch_refusal("AmendOrders", 2, strategy_ids, "mom1")

    assert reason == f"AmendOrders of mom1 carries orders of {', '.join(sorted(strategy_ids))}"


def test_batch_size_is_checked_before_its_strategies() -> None:
    reason = batch_refusal("SubmitOrders", 0, {"mom2"}, "mom1")

    assert reason == "SubmitOrders holds 1 .. 20 orders, not 0"


# ---- after_create, after_lookup, cancel_on_ack


@pytest.mark.parametrize(
    ("acknowledged", "outcome_unknown", "expected"),
    [
        (True, False, Next.ACCEPT),
        (True, True, Next.ACCEPT),
        (False, False, Next.REJECT),
        (False, True, Next.RESOLVE),
    ],
)
def test_after_create_accepts_an_ack_rejects_a_refusal_and_resolves_a_doubt(
    acknowledged: bool, outcome_unknown: bool, expected: Next
) -> None:
    assert after_create(acknowledged=acknowledged, outcome_unknown=outcome_unknown) is expected


def _expected_doubt(
    *, found: bool, resends: int, max_resends: int, expired: bool, halted: bool, reduce_only: bool
) -> Doubt:
    # The truth table, written as rows rather than as the code's chain of ifs.
    rows = [
        (found, Doubt.ADOPT),
        (expired, Doubt.REJECT_EXPIRED),
        (halted and not reduce_only, Doubt.REJECT_HALTED),
        (resends < max_resends, Doubt.RESEND),
    ]
    return next((doubt for holds, doubt in rows if holds), Doubt.GIVE_UP)


_counts = st.integers(min_value=0, max_value=6)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    found=st.booleans(),
    resends=_counts,
    max_resends=_counts,
    expired=st.booleans(),
    halted=st.booleans(),
    reduce_only=st.booleans(),
)
def test_after_lookup_follows_its_truth_table(
    *, found: bool, resends: int, max_resends: int, expired: bool, halted: bool, reduce_only: bool
) -> None:
    facts = {
        "found": found,
        "resends": resends,
        "max_resends": max_resends,
        "expired": expired,
        "halted": halted,
        "reduce_only": reduce_only,
    }

    doubt = after_lookup(**facts)  # type: ignore[arg-type]

    assert doubt is _expected_doubt(**facts)  # type: ignore[arg-type]
    if found:
        assert doubt is Doubt.ADOPT


@pytest.mark.parametrize(
    ("resends", "expected"), [(0, Doubt.RESEND), (2, Doubt.RESEND), (3, Doubt.GIVE_UP)]
)
def test_lookup_resends_while_resends_remain_then_gives_up(resends: int, expected: Doubt) -> None:
    doubt = after_lookup(
        found=False, resends=resends, max_resends=3, expired=False, halted=True, reduce_only=True
    )

    assert doubt is expected


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    status=st.sampled_from(list(OrderStatus)),
    flagged=st.booleans(),
    state=st.sampled_from(list(TradingState)),
    reduce_only=st.booleans(),
)
def test_cancel_on_ack_follows_its_truth_table(
    *, status: OrderStatus, flagged: bool, state: TradingState, reduce_only: bool
) -> None:
    record = working(status, cancel_on_ack=flagged, reduce_only=reduce_only)

    cancel_now = cancel_on_ack(record, state)

    halted_exposure = state is TradingState.HALTED and not reduce_only
    expected = status not in TERMINAL_STATUSES and (flagged or halted_exposure)
    assert cancel_now is expected


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES), ids=lambda status: str(status))
def test_terminal_order_is_never_cancelled_on_ack(status: OrderStatus) -> None:
    record = working(status, cancel_on_ack=True)

    assert cancel_on_ack(record, TradingState.HALTED) is False


def test_order_cancelled_in_flight_is_cancelled_on_ack() -> None:
    record = working(OrderStatus.SUBMITTED, cancel_on_ack=True, reduce_only=True)

    assert cancel_on_ack(record, TradingState.ACTIVE) is True


@pytest.mark.parametrize(
    ("reduce_only", "state", "expected"),
    [
        (False, TradingState.HALTED, True),
        (True, TradingState.HALTED, False),
        (False, TradingState.REDUCING, False),
        (False, TradingState.ACTIVE, False),
    ],
)
def test_halt_cancels_on_ack_only_what_is_not_reduce_only(
    reduce_only: bool, state: TradingState, expected: bool
) -> None:
    record = working(OrderStatus.SUBMITTED, reduce_only=reduce_only)

    assert cancel_on_ack(record, state) is expected


# ---- properties of decide_submit


def _mostly(value: _T, *others: _T) -> st.SearchStrategy[_T]:
    # Weighted towards `value` so that a fair share of the drawn orders passes every check.
    return st.sampled_from([value, value, value, *others])


@st.composite
def _submits(draw: st.DrawFn) -> tuple[SubmitOrder, Desk]:
    side = draw(st.sampled_from(list(OrderSide)))
    qty = D(draw(st.integers(min_value=5, max_value=250))) / 10_000  # 0.0005 .. 0.025
    market = draw(st.booleans())
    price = D(draw(st.integers(min_value=6_300_000, max_value=6_500_000))) / 100
    position = D(draw(st.integers(min_value=-30, max_value=30))) / 1_000
    fresh = draw(_mostly(True, False))
    command = submit(
        str(qty), None if market else str(price), side, reduce_only=draw(st.booleans())
    )
    last = LAST if fresh else None
    desk = make_desk(
        state=draw(_mostly(TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED)),
        reconciled=draw(_mostly(True, False)),
        exp=exposure(str(position), last, open_orders=draw(st.integers(0, 6))),
        price=last,
        refusal=lambda _command, _reduce_only: None,
    )
    return command, desk


@settings(derandomize=True, max_examples=500, deadline=None)
@given(_submits())
def test_submitted_order_is_never_larger_nor_priced_worse_than_the_command(
    case: tuple[SubmitOrder, Desk],
) -> None:
    command, desk = case

    verdict = decide_submit(command, desk)

    if isinstance(verdict, Denied):
        return
    assert verdict.qty <= command.qty
    assert BTCUSDT_RULES.check(verdict.qty, verdict.limit_price or LAST, market=False) is None
    if command.limit_price is None:
        assert verdict.limit_price is None
    elif command.side is OrderSide.BUY:
        assert verdict.limit_price is not None
        assert verdict.limit_price <= command.limit_price
    else:
        assert verdict.limit_price is not None
        assert verdict.limit_price >= command.limit_price


@settings(derandomize=True, max_examples=500, deadline=None)
@given(_submits())
def test_submitted_order_passes_check_order_with_the_same_desk(
    case: tuple[SubmitOrder, Desk],
) -> None:
    command, desk = case

    verdict = decide_submit(command, desk)

    if isinstance(verdict, SubmitOrder):
        reason = check_order(
            verdict, desk.limits, desk.exposure, desk.state, desk.reconciled, desk.now_ns
        )
        assert reason is None


@settings(derandomize=True, max_examples=500, deadline=None)
@given(_submits())
def test_nothing_that_adds_exposure_is_submitted_while_halted(
    case: tuple[SubmitOrder, Desk],
) -> None:
    command, desk = case
    halted = replace(desk, state=TradingState.HALTED)

    verdict = decide_submit(command, halted)

    if isinstance(verdict, SubmitOrder):
        position = halted.exposure.position_qty(verdict.symbol)
        assert reduces_position(verdict, position)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_submits())
def test_orders_refusal_is_asked_exactly_when_everything_else_passed(
    case: tuple[SubmitOrder, Desk],
) -> None:
    command, desk = case
    refusal = FakeRefusal("circuit_open: orders breaker open")

    verdict = decide_submit(command, replace(desk, orders_refusal=refusal))
    allowed = decide_submit(command, desk)

    assert len(refusal.calls) == (1 if isinstance(allowed, SubmitOrder) else 0)
    if refusal.calls:
        assert verdict == Denied("circuit_open: orders breaker open")
        assert refusal.calls == [(allowed, command.reduce_only)]
    else:
        assert verdict == allowed
