from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.account_views import (
    order_event,
    order_to_wire,
    position_event,
    position_info,
    wallet_to_wire,
)
from services.simulator.accounts import Account, OrderState
from services.simulator.instruments import select

D = Decimal
START = D(100_000)
BTC = select(("BTCUSDT",))[0]


def _account() -> Account:
    return Account(key="k", wallet=START, default_leverage=D(10))


def _order(*, is_buy: bool, qty: str, price: str, reduce_only: bool = False) -> OrderState:
    return OrderState(
        order_id=f"id-{is_buy}-{qty}-{price}",
        order_link_id="",
        account="k",
        symbol="BTCUSDT",
        is_buy=is_buy,
        order_type="Limit",
        time_in_force="GTC",
        price=D(price),
        qty=D(qty),
        created_ms=1,
        last_price_on_created=D(price),
        reduce_only=reduce_only,
    )


def test_entry_averages_on_increase_and_stays_on_reduce() -> None:
    acct = _account()
    acct.apply_fill("BTCUSDT", True, D(100), D(2), D(0))
    acct.apply_fill("BTCUSDT", True, D(110), D(2), D(0))
    pos = acct.position("BTCUSDT")
    assert (pos.size, pos.entry) == (D(4), D(105))
    assert pos.unrealised(D(120)) == D(60)
    outcome = acct.apply_fill("BTCUSDT", False, D(120), D(1), D(0))
    assert (outcome.closed_size, outcome.closed_pnl) == (D(1), D(15))
    assert (pos.size, pos.entry) == (D(3), D(105))
    assert acct.wallet == START + 15


def test_a_flip_realises_the_old_position_and_opens_at_the_fill_price() -> None:
    acct = _account()
    acct.apply_fill("BTCUSDT", True, D(100), D(3), D("0.3"))
    outcome = acct.apply_fill("BTCUSDT", False, D(90), D(5), D("0.5"))
    pos = acct.position("BTCUSDT")
    assert (outcome.closed_size, outcome.closed_pnl) == (D(3), D(-30))
    assert (pos.size, pos.entry, pos.side) == (D(-2), D(90), "Sell")
    assert pos.cur_realised == D("-0.2")  # the new position's share of the fee
    assert pos.cum_realised == D(-30) - D("0.8")
    assert acct.wallet == START - 30 - D("0.8")
    assert pos.unrealised(D(80)) == D(20)


def test_closing_resets_the_entry() -> None:
    acct = _account()
    acct.apply_fill("BTCUSDT", False, D(50), D(1), D(0))
    acct.apply_fill("BTCUSDT", True, D(40), D(1), D(0))
    pos = acct.position("BTCUSDT")
    assert (pos.size, pos.entry, pos.side) == (D(0), D(0), "")
    assert acct.wallet == START + 10


def test_hand_computed_pnl_with_fees() -> None:
    # buy 0.010 @ 60000 (taker 0.00055), sell 0.004 @ 61000 (maker 0.0002), mark 59000
    acct = _account()
    fee1 = D("600") * D("0.00055")
    fee2 = D("244") * D("0.0002")
    acct.apply_fill("BTCUSDT", True, D(60000), D("0.010"), fee1)
    acct.apply_fill("BTCUSDT", False, D(61000), D("0.004"), fee2)
    pos = acct.position("BTCUSDT")
    assert pos.cum_realised == D(4) - fee1 - fee2  # 0.004 x 1000
    assert pos.unrealised(D(59000)) == D("-6")  # 0.006 x -1000
    assert acct.wallet == START + 4 - fee1 - fee2
    assert acct.wallet + acct.unrealised(lambda _: D(59000)) == START - 2 - fee1 - fee2


fills = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(min_value=1, max_value=50).map(lambda n: D(n) / 10),
        st.integers(min_value=900, max_value=1100).map(D),
        st.sampled_from([D(0), D("0.0002"), D("0.00055")]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150)
@given(fills=fills, mark=st.integers(min_value=800, max_value=1200).map(D))
def test_position_and_pnl_add_up_for_any_sequence_of_fills(
    fills: list[tuple[bool, Decimal, Decimal, Decimal]], mark: Decimal
) -> None:
    acct = _account()
    signed = D(0)
    fees = D(0)
    marked = D(0)  # what the fills are worth at `mark`
    for is_buy, qty, price, rate in fills:
        fee = qty * price * rate
        outcome = acct.apply_fill("BTCUSDT", is_buy, price, qty, fee)
        s = qty if is_buy else -qty
        assert 0 <= outcome.closed_size <= qty
        signed += s
        fees += fee
        marked += s * (mark - price)
    pos = acct.position("BTCUSDT")
    assert pos.size == signed
    assert (pos.entry > 0) == (pos.size != 0)
    realised = acct.wallet - START
    assert abs(realised - pos.cum_realised) < D("1e-15")  # 28-digit Decimal rounding
    assert abs(realised + pos.unrealised(mark) - (marked - fees)) < D("1e-12")


def test_margin_and_available_balance() -> None:
    acct = _account()
    acct.apply_fill("BTCUSDT", True, D(50000), D("0.2"), D(0))  # IM 1000 at 10x
    assert acct.position_margin() == D(1000)
    buy = _order(is_buy=True, qty="0.1", price="49000")  # opens: 490
    sell = _order(is_buy=False, qty="0.3", price="51000")  # 0.2 of it reduces
    reduce_only = _order(is_buy=False, qty="0.2", price="52000", reduce_only=True)
    for order in (buy, sell, reduce_only):
        acct.add_order(order)
    expected_orders = D(490) + D("15300") * D("0.1") / D("0.3") / 10
    assert acct.order_margin() == expected_orders
    assert acct.available() == START - 1000 - expected_orders
    extra = _order(is_buy=True, qty="1", price="50000")
    assert acct.available((extra,)) == acct.available() - 5000
    assert acct.available(skip=buy.order_id) == acct.available() + 490


def test_reducible() -> None:
    acct = _account()
    assert acct.reducible("BTCUSDT", False) == 0
    acct.apply_fill("BTCUSDT", True, D(1), D("0.5"), D(0))
    assert acct.reducible("BTCUSDT", False) == D("0.5")
    assert acct.reducible("BTCUSDT", True) == 0


def test_wire_rendering_uses_the_symbols_scales() -> None:
    acct = _account()
    order = _order(is_buy=True, qty="0.0100", price="64000.1")
    acct.add_order(order)
    order.cum_qty = D("0.004")
    order.cum_value = D("256.0004")
    order.cum_fee = D("0.05120008")
    order.status = "PartiallyFilled"
    raw = msgspec.json.decode(msgspec.json.encode(order_to_wire(order, BTC)))
    assert raw["price"] == "64000.10"
    assert raw["qty"] == "0.010"
    assert raw["leavesQty"] == "0.006"
    assert raw["cumExecQty"] == "0.004"
    assert raw["avgPrice"] == "64000.10"
    assert raw["orderStatus"] == "PartiallyFilled"
    assert raw["cumFeeDetail"] == {"USDT": "0.05120008"}
    event = order_event(order, BTC)
    assert event.category == "linear"
    assert event.create_type == "CreateByUser"

    acct.apply_fill("BTCUSDT", False, D("64000.1"), D("0.004"), D(0))
    info = position_info(acct.position("BTCUSDT"), BTC, D("63000.0"))
    assert (info.side, str(info.size), info.avg_price) == ("Sell", "0.004", "64000.10")
    assert info.unrealised_pnl == "4.00040000"
    assert info.leverage == "10"
    assert position_event(acct.position("BTCUSDT"), BTC, D(63000)).entry_price == "64000.10"

    wallet = wallet_to_wire(acct, lambda _: D(63000))
    assert wallet.account_type == "UNIFIED"
    assert wallet.coin[0].coin == "USDT"
    assert wallet.total_wallet_balance == "100000.00000000"
    assert D(wallet.total_perp_upl) == D("4.0004")
    assert D(wallet.total_available_balance) == D(wallet.total_wallet_balance) - D(
        wallet.total_initial_margin
    )
