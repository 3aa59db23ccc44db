"""Conditional orders on the venue core: Untriggered, Triggered, then placed, as on Bybit.

The market is moved by recorded events (`BookTop` moves the mark, `TradePrint` the last
price), so every trigger happens exactly where the test puts it.
"""

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.venue import BookTop, ExchangeConfig, TradePrint, Venue, VenueError
from services.simulator.venue.request_fields import (
    HONOURED,
    TREATMENT,
    CancelAll,
    Ignored,
    OrderAmend,
    OrderCreate,
    Refused,
    TradingStop,
)
from shared.bybit import wire

D = Decimal
T0 = 1_780_000_000_000
TICK = D("0.1")
SYMBOL = "BTCUSDT"


def recorded() -> Venue:
    config = ExchangeConfig(
        seed=3, symbols=(SYMBOL,), history_minutes=120, market_source="recorded-tops"
    )
    return Venue(config, T0)


def last(v: Venue) -> Decimal:
    return D(v.tickers(SYMBOL)[0].last_price)


def trade_at(v: Venue, t: int, price: Decimal) -> None:
    """The book moved so that `price` is the ask, and a buyer took it: last = price."""
    v.on_market(BookTop(SYMBOL, t, bid=price - TICK, ask=price))
    v.on_market(TradePrint(SYMBOL, t, taker_is_buy=True, price=price, qty=D("0.001")))


def create(v: Venue, account: str = "a", t: int = T0 + 100, **fields: Any) -> wire.OrderIds:
    body: dict[str, Any] = {"symbol": SYMBOL, "side": "Buy", "order_type": "Market", "qty": "0.01"}
    body.update(fields)
    return v.create_order(account, OrderCreate(**body), t)


def events(v: Venue, account: str = "a") -> list[tuple[str, Any]]:
    return [(topic, payload) for who, topic, payload in v.drain_reports() if who == account]


def statuses(evs: list[tuple[str, Any]]) -> list[str]:
    return [p.order_status if topic == "order" else topic for topic, p in evs]


def test_a_conditional_market_order_waits_untriggered_then_triggers_and_fills() -> None:
    v = recorded()
    trigger = last(v) + 10
    available = v.wallet("a").total_available_balance
    ids = create(v, trigger_price=str(trigger), trigger_direction=1, order_link_id="c1")
    evs = events(v)
    assert statuses(evs) == ["Untriggered", "position", "wallet"]
    untriggered = evs[0][1]
    assert (untriggered.stop_order_type, untriggered.create_type) == ("Stop", "CreateByStopOrder")
    assert (untriggered.trigger_price, untriggered.trigger_direction) == ("97260.00", 1)
    assert untriggered.trigger_by == "LastPrice"
    (listed,) = v.orders("a", symbol=SYMBOL)
    assert (listed.order_id, listed.order_status, listed.trigger_price) == (
        ids.order_id,
        "Untriggered",
        "97260.00",
    )
    assert v.wallet("a").total_available_balance == available  # no margin until triggered

    trade_at(v, T0 + 200, trigger - TICK)  # not there yet
    assert statuses(events(v)) == []
    trade_at(v, T0 + 300, trigger)
    evs = events(v)
    assert statuses(evs) == ["Triggered", "execution", "Filled", "position", "wallet"]
    assert {p.order_id for topic, p in evs if topic in ("order", "execution")} == {ids.order_id}
    assert evs[1][1].stop_order_type == "Stop"
    assert v.positions("a", SYMBOL)[0].size == D("0.01")
    assert v.orders("a", symbol=SYMBOL) == []


def test_a_conditional_limit_order_on_the_mark_rests_after_its_trigger() -> None:
    v = recorded()
    mark = D(v.tickers(SYMBOL)[0].mark_price)
    trigger = mark - 20
    create(
        v,
        side="Sell",
        order_type="Limit",
        price=str(mark + 50),
        trigger_price=str(trigger),
        trigger_direction=2,
        trigger_by="MarkPrice",
    )
    events(v)
    v.on_market(BookTop(SYMBOL, T0 + 200, bid=trigger + 1, ask=trigger + 2))
    assert statuses(events(v)) == []
    v.on_market(BookTop(SYMBOL, T0 + 300, bid=trigger - 1, ask=trigger))  # mark: the bid
    evs = events(v)
    assert statuses(evs) == ["Triggered", "New", "position", "wallet"]
    assert evs[1][1].trigger_by == "MarkPrice"
    assert [o.order_status for o in v.orders("a", symbol=SYMBOL)] == ["New"]


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"trigger_direction": None}, 10001, "params error: TriggerDirection invalid"),
        ({"trigger_direction": 3}, 10001, "params error: TriggerDirection invalid"),
        ({"trigger_by": "Oracle"}, 10001, "params error: TriggerBy invalid"),
        ({"trigger_price": "97250.05"}, 10001, "TriggerPrice invalid"),
        ({"trigger_price": "97240"}, 110092, "expect Rising, but trigger_price[97240]"),
        ({"trigger_direction": 2}, 110093, "expect Falling, but trigger_price[97260]"),
    ],
)
def test_conditional_create_errors_are_bybits(
    fields: dict[str, Any], code: int, message: str
) -> None:
    v = recorded()
    body: dict[str, Any] = {"trigger_price": "97260", "trigger_direction": 1, **fields}
    with pytest.raises(VenueError) as raised:
        create(v, **body)
    assert raised.value.code == code
    assert raised.value.msg.startswith(message)
    assert v.orders("a") == []


def test_cancel_deactivates_and_cancel_all_follows_order_filter() -> None:
    v = recorded()
    price = last(v)
    stop = create(v, trigger_price=str(price + 10), trigger_direction=1)
    plain = create(v, order_type="Limit", price=str(price - 100))
    other = create(v, trigger_price=str(price - 10), trigger_direction=2)
    events(v)
    v.cancel_order("a", wire.OrderCancelRequest(symbol=SYMBOL, order_id=stop.order_id), T0 + 200)
    evs = events(v)
    assert statuses(evs) == ["Deactivated", "position", "wallet"]
    assert evs[0][1].cancel_type == "CancelByUser"
    with pytest.raises(VenueError) as raised:
        v.cancel_all("a", CancelAll(symbol=SYMBOL, order_filter="Everything"), T0 + 300)
    assert raised.value.code == 10001
    only_stops = v.cancel_all("a", CancelAll(symbol=SYMBOL, order_filter="StopOrder"), T0 + 300)
    assert [i.order_id for i in only_stops.list] == [other.order_id]
    assert [o.order_id for o in v.orders("a", symbol=SYMBOL)] == [plain.order_id]
    create(v, trigger_price=str(price + 10), trigger_direction=1, t=T0 + 400)
    only_plain = v.cancel_all("a", CancelAll(symbol=SYMBOL, order_filter="Order"), T0 + 500)
    assert [i.order_id for i in only_plain.list] == [plain.order_id]
    everything = v.cancel_all("a", wire.CancelAllRequest(symbol=SYMBOL), T0 + 600)
    assert len(everything.list) == 1
    assert v.orders("a", symbol=SYMBOL) == []


def test_amend_moves_an_untriggered_orders_trigger() -> None:
    v = recorded()
    price = last(v)
    ids = create(v, trigger_price=str(price + 10), trigger_direction=1)
    events(v)
    amend = OrderAmend(symbol=SYMBOL, order_id=ids.order_id, trigger_price=str(price + 30))
    v.amend_order("a", amend, T0 + 200)
    evs = events(v)
    assert statuses(evs) == ["Untriggered", "position", "wallet"]
    assert evs[0][1].trigger_price == str(price + 30)
    for wrong, code in ((str(price + 30), 10001), (str(price - 5), 110092)):
        with pytest.raises(VenueError) as raised:
            v.amend_order(
                "a", OrderAmend(symbol=SYMBOL, order_id=ids.order_id, trigger_price=wrong), T0
            )
        assert raised.value.code == code
    trade_at(v, T0 + 300, price + 10)
    assert statuses(events(v)) == []  # the old trigger no longer counts
    trade_at(v, T0 + 400, price + 30)
    assert statuses(events(v))[:2] == ["Triggered", "execution"]


def test_a_plain_orders_trigger_price_cannot_be_amended() -> None:
    v = recorded()
    ids = create(v, order_type="Limit", price=str(last(v) - 100))
    with pytest.raises(VenueError) as raised:
        v.amend_order(
            "a", OrderAmend(symbol=SYMBOL, order_id=ids.order_id, trigger_price="1"), T0 + 200
        )
    assert raised.value.code == 10001


def test_a_close_on_trigger_stop_closes_the_position_or_is_cancelled_without_one() -> None:
    v = recorded()
    price = last(v)
    create(v, qty="0.02")
    stop: dict[str, Any] = {
        "side": "Sell",
        "qty": "0",
        "reduce_only": True,
        "close_on_trigger": True,
        "trigger_direction": 2,
    }
    create(v, trigger_price=str(price - 50), **stop)
    events(v)
    trade_at(v, T0 + 200, price - 60)
    evs = events(v)
    assert "Triggered" in statuses(evs)
    assert v.positions("a", SYMBOL)[0].size == 0

    create(v, qty="0.02", t=T0 + 300)
    create(v, trigger_price=str(price - 100), t=T0 + 300, **stop)
    create(v, side="Sell", qty="0.02", t=T0 + 400)  # the position goes first
    events(v)
    trade_at(v, T0 + 500, price - 110)
    evs = events(v)
    assert statuses(evs)[:2] == ["Triggered", "Cancelled"]
    assert evs[1][1].cancel_type == "CancelByReduceOnly"


def test_at_most_ten_conditional_orders_per_symbol() -> None:
    v = recorded()
    trigger = str(last(v) + 10)
    for _ in range(10):
        create(v, trigger_price=trigger, trigger_direction=1)
    with pytest.raises(VenueError) as raised:
        create(v, trigger_price=trigger, trigger_direction=1)
    assert raised.value.code == 110009


@pytest.mark.parametrize(
    "fields",
    [
        {"tpsl_mode": "Partial", "take_profit": "99000"},
        {"tp_order_type": "Limit", "take_profit": "99000", "tp_limit_price": "98900"},
        {"sl_order_type": "Limit", "stop_loss": "90000"},
        {"tp_trigger_by": "MarkPrice", "take_profit": "99000"},
        {"sl_trigger_by": "IndexPrice", "stop_loss": "90000"},
        {"smp_type": "CancelMaker"},
        {"slippage_tolerance_type": "Percent", "slippage_tolerance": "0.5"},
        {"bbo_side_type": "Queue", "bbo_level": "1"},
    ],
)
def test_what_the_venue_cannot_do_is_refused_not_dropped(fields: dict[str, Any]) -> None:
    v = recorded()
    with pytest.raises(VenueError) as raised:
        create(v, **fields)
    assert raised.value.code == 10001
    assert "not supported by the simulator" in raised.value.msg
    assert v.orders("a") == []


def test_what_changes_nothing_here_is_accepted() -> None:
    v = recorded()
    create(
        v,
        take_profit="99000",
        tpsl_mode="Full",
        tp_order_type="Market",
        tp_trigger_by="LastPrice",
        order_iv="0.1",
        is_leverage=0,
        smp_type="None",
    )
    assert v.positions("a", SYMBOL)[0].take_profit == "99000.00"
    with pytest.raises(VenueError) as raised:
        v.amend_order("a", OrderAmend(symbol=SYMBOL, order_id="x", take_profit="0"), T0)
    assert raised.value.code == 10001


@pytest.mark.parametrize("request_type", [OrderCreate, OrderAmend, CancelAll, TradingStop])
def test_every_request_field_has_a_treatment(request_type: type[msgspec.Struct]) -> None:
    fields = {f.name for f in msgspec.structs.fields(request_type)}
    treatment = TREATMENT[request_type]
    assert fields - set(treatment) == set(), "a field with no treatment would be dropped"
    assert set(treatment) - fields == set(), "a treatment for a field the request lacks"
    for value in treatment.values():
        assert value == HONOURED or isinstance(value, Ignored | Refused)


def test_the_request_types_carry_every_field_of_the_shared_wire_requests() -> None:
    for full, base in (
        (OrderCreate, wire.OrderCreateRequest),
        (OrderAmend, wire.OrderAmendRequest),
        (CancelAll, wire.CancelAllRequest),
        (TradingStop, wire.TradingStopRequest),
    ):
        assert issubclass(full, base)


@settings(max_examples=40, deadline=None)
@given(
    rise=st.booleans(),
    distance=st.integers(1, 40),
    path=st.lists(st.integers(-60, 60), min_size=1, max_size=8),
)
def test_a_trigger_fires_at_the_first_price_that_reaches_it(
    rise: bool, distance: int, path: list[int]
) -> None:
    v = recorded()
    start = last(v)
    trigger = start + distance * TICK if rise else start - distance * TICK
    create(v, trigger_price=str(trigger), trigger_direction=1 if rise else 2)
    events(v)
    expected = next(
        (
            i
            for i, step in enumerate(path)
            if (start + step * TICK >= trigger if rise else start + step * TICK <= trigger)
        ),
        None,
    )
    fired_at = None
    for i, step in enumerate(path):
        trade_at(v, T0 + 200 + 100 * i, start + step * TICK)
        if "Triggered" in statuses(events(v)) and fired_at is None:
            fired_at = i
    assert fired_at == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"tp_trigger_by": "MarkPrice"},
        {"trailing_stop": "50"},
        {"active_price": "99000"},
        {"tp_order_type": "Limit"},
    ],
)
def test_trading_stop_refuses_what_it_cannot_do(fields: dict[str, Any]) -> None:
    v = recorded()
    create(v)
    req = TradingStop(symbol=SYMBOL, take_profit="99000", **fields)
    with pytest.raises(VenueError) as raised:
        v.trading_stop("a", req, T0 + 200)
    assert raised.value.code == 10001
    assert v.positions("a", SYMBOL)[0].take_profit == "0.00"
    v.trading_stop("a", TradingStop(symbol=SYMBOL, take_profit="99000", trailing_stop="0"), T0)
    assert v.positions("a", SYMBOL)[0].take_profit == "99000.00"


def test_order_queries_follow_order_filter() -> None:
    v = recorded()
    price = last(v)
    stop = create(v, trigger_price=str(price + 10), trigger_direction=1)
    plain = create(v, order_type="Limit", price=str(price - 100))

    def ids(order_filter: str | None) -> list[str]:
        return [o.order_id for o in v.orders("a", symbol=SYMBOL, order_filter=order_filter)]

    assert ids(None) == [plain.order_id, stop.order_id]
    assert ids("StopOrder") == [stop.order_id]
    assert ids("Order") == [plain.order_id]
    assert ids("tpslOrder") == []
    with pytest.raises(VenueError) as raised:
        ids("Nonsense")
    assert raised.value.code == 10001
    v.cancel_order("a", wire.OrderCancelRequest(symbol=SYMBOL, order_id=stop.order_id), T0 + 200)
    history = v.order_history("a", symbol=SYMBOL, order_filter="StopOrder")
    assert [(o.order_id, o.order_status) for o in history] == [(stop.order_id, "Deactivated")]
