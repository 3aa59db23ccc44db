import re
import time
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.exchange import Exchange, ExchangeConfig, VenueError, fee_of
from shared.bybit import wire

D = Decimal
T0 = 1_780_000_000_000
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
MAKER, TAKER = D("0.0002"), D("0.00055")


def quiet(**overrides: Any) -> Exchange:
    """Frozen mids, no synthetic trades: only our orders move the book."""
    config: dict[str, Any] = {
        "seed": 5,
        "symbols": ("BTCUSDT", "DOGEUSDT"),
        "volatility_scale": 0.0,
        "trade_rate_scale": 0.0,
        "history_minutes": 1500,
    }
    config.update(overrides)
    exchange = Exchange(ExchangeConfig(**config), T0)
    exchange.advance(T0 + 100)
    return exchange


def order(exchange: Exchange, account: str = "alice", **fields: Any) -> wire.OrderIds:
    fields.setdefault("symbol", "BTCUSDT")
    return exchange.create_order(account, wire.OrderCreateRequest(**fields), exchange.now_ms)


def events(exchange: Exchange, account: str = "alice", topic: str | None = None) -> list[Any]:
    return [
        payload
        for who, kind, payload in exchange.take_private_events()
        if who == account and (topic is None or kind == topic)
    ]


def the_order(exchange: Exchange, ids: wire.OrderIds, account: str = "alice") -> wire.Order:
    (found,) = exchange.orders(account, order_id=ids.order_id)
    return found


def best(exchange: Exchange, symbol: str = "BTCUSDT") -> tuple[tuple[D, D], tuple[D, D]]:
    bids, asks = exchange.book_top(symbol, 1)
    return bids[0], asks[0]


def size(exchange: Exchange, account: str = "alice", symbol: str = "BTCUSDT") -> Decimal:
    (pos,) = exchange.positions(account, symbol)
    return pos.size if pos.side != "Sell" else -pos.size


# ---------------------------------------------------------------- entry, acknowledgement, events


def test_a_resting_limit_order_is_acknowledged_and_shows_in_the_book() -> None:
    ex = quiet()
    (bid, bid_size), _ = best(ex)
    u_before = ex.orderbook("BTCUSDT", 1).u
    ids = order(
        ex, side="Buy", order_type="Limit", qty="0.010", price=str(bid), order_link_id="b-1"
    )
    assert UUID.fullmatch(ids.order_id)
    assert ids.order_link_id == "b-1"
    kinds = [kind for _, kind, _ in ex.take_private_events()]
    assert kinds == ["order", "position", "wallet"]
    resting = the_order(ex, ids)
    assert (resting.order_status, resting.leaves_qty, resting.time_in_force) == (
        "New",
        "0.010",
        "GTC",
    )
    assert best(ex)[0] == (bid, bid_size + D("0.010"))
    assert ex.orderbook("BTCUSDT", 1).u > u_before
    assert [o.order_id for o in ex.orders("alice")] == [ids.order_id]
    wallet = ex.wallet("alice")
    assert D(wallet.coin[0].total_order_im) == D("0.010") * bid / 10


def test_a_market_order_walks_the_book_pays_taker_fees_and_moves_the_top() -> None:
    ex = quiet()
    bids, asks = ex.book_top("BTCUSDT", 10)
    qty = asks[0][1] + asks[1][1] + D("0.001")
    ids = order(ex, side="Buy", order_type="Market", qty=str(qty))
    fills = events(ex, topic="execution")
    assert [f.exec_price for f in fills] == [asks[0][0], asks[1][0], asks[2][0]]
    assert sum(f.exec_qty for f in fills) == qty
    for fill in fills:
        assert fill.is_maker is False
        assert fill.exec_value == fill.exec_price * fill.exec_qty
        assert fill.exec_fee == fee_of(fill.exec_value, TAKER)
        assert fill.fee_rate == "0.00055"
        assert UUID.fullmatch(fill.exec_id)
    assert len({f.exec_id for f in fills}) == len(fills)
    assert the_order(ex, ids).order_status == "Filled"
    assert size(ex) == qty
    assert ex.book_top("BTCUSDT", 1)[1][0][0] == asks[2][0], "our sweep moved the best ask"
    assert ex.book_top("BTCUSDT", 1)[0][0] == bids[0]
    trades = ex.take_public_trades()
    assert [(t.p, t.v, t.S) for t in trades] == [(f.exec_price, f.exec_qty, "Buy") for f in fills]
    wallet = ex.wallet("alice")
    fees = sum(f.exec_fee for f in fills)
    assert D(wallet.total_wallet_balance) == (D(100_000) - fees).quantize(D("0.00000001"))


def test_post_only_that_would_cross_ends_cancelled_not_rejected() -> None:
    ex = quiet()
    _, (ask, _) = best(ex)
    ids = order(
        ex, side="Buy", order_type="Limit", qty="0.01", price=str(ask), time_in_force="PostOnly"
    )
    (event,) = events(ex, topic="order")
    assert event.order_status == "Cancelled"
    assert event.reject_reason == "EC_PostOnlyWillTakeLiquidity"
    assert event.cum_exec_qty == 0
    assert the_order(ex, ids).order_status == "Cancelled"
    assert size(ex) == 0
    below = order(
        ex,
        side="Buy",
        order_type="Limit",
        qty="0.01",
        price=str(ask - D("0.1")),
        time_in_force="PostOnly",
    )
    assert the_order(ex, below).order_status == "New"


def test_fok_is_all_or_nothing() -> None:
    ex = quiet()
    _, (ask, ask_size) = best(ex)
    too_big = order(
        ex,
        side="Buy",
        order_type="Limit",
        qty=str(ask_size + D("0.001")),
        price=str(ask),
        time_in_force="FOK",
    )
    assert events(ex, topic="execution") == []
    cancelled = the_order(ex, too_big)
    assert (cancelled.order_status, cancelled.reject_reason) == (
        "Cancelled",
        "EC_NoEnoughQtyToFill",
    )
    assert best(ex)[1] == (ask, ask_size)
    fits = order(
        ex, side="Buy", order_type="Limit", qty=str(ask_size), price=str(ask), time_in_force="FOK"
    )
    assert the_order(ex, fits).order_status == "Filled"
    assert size(ex) == ask_size


def test_ioc_remainder_is_cancelled() -> None:
    ex = quiet()
    _, (ask, ask_size) = best(ex)
    ids = order(
        ex,
        side="Buy",
        order_type="Limit",
        qty=str(ask_size + D("0.5")),
        price=str(ask),
        time_in_force="IOC",
    )
    done = the_order(ex, ids)
    assert done.order_status == "Cancelled"
    assert done.cum_exec_qty == ask_size
    assert done.leaves_qty == "0.000"
    assert all(f.exec_price == ask for f in events(ex, topic="execution"))
    assert ex.orders("alice") == []


def test_gtc_fills_what_it_can_and_rests_the_rest() -> None:
    ex = quiet()
    _, (ask, ask_size) = best(ex)
    ids = order(ex, side="Buy", order_type="Limit", qty=str(ask_size + D("0.005")), price=str(ask))
    partly = the_order(ex, ids)
    assert (partly.order_status, partly.cum_exec_qty, partly.leaves_qty) == (
        "PartiallyFilled",
        ask_size,
        "0.005",
    )
    assert best(ex)[0] == (ask, D("0.005")), "the rest is now the best bid"


def test_market_order_remainder_beyond_the_protection_band_is_cancelled() -> None:
    ex = quiet(book_levels=5)  # a thin synthetic book: 5 levels a side
    _, asks = ex.book_top("BTCUSDT", 10)
    depth = sum(q for _, q in asks)
    ids = order(ex, side="Buy", order_type="Market", qty=str(depth + D("1")))
    done = the_order(ex, ids)
    assert (done.order_status, done.cum_exec_qty) == ("Cancelled", depth)
    assert done.reject_reason == "EC_NoError"


# ---------------------------------------------------------------- errors


def _error(exchange: Exchange, **fields: Any) -> VenueError:
    with pytest.raises(VenueError) as caught:
        order(exchange, **fields)
    return caught.value


@pytest.mark.parametrize(
    ("fields", "code", "text"),
    [
        (
            {"symbol": "NOPEUSDT", "side": "Buy", "order_type": "Market", "qty": "1"},
            10001,
            "symbol invalid",
        ),
        ({"side": "Hold", "order_type": "Market", "qty": "0.01"}, 10001, "side"),
        ({"side": "Buy", "order_type": "Stop", "qty": "0.01"}, 10001, "orderType"),
        ({"side": "Buy", "order_type": "Limit", "qty": "0.01"}, 10001, "price is required"),
        (
            {"side": "Buy", "order_type": "Limit", "qty": "0.0015", "price": "97000"},
            10001,
            "Qty invalid",
        ),
        (
            {"side": "Buy", "order_type": "Limit", "qty": "0.01", "price": "97000.05"},
            10001,
            "tickSize",
        ),
        (
            {"side": "Buy", "order_type": "Limit", "qty": "2000", "price": "97000"},
            10001,
            "too large",
        ),
        ({"side": "Buy", "order_type": "Market", "qty": "200"}, 10001, "too large"),
        (
            {"side": "Buy", "order_type": "Market", "qty": "0.01", "position_idx": 1},
            10001,
            "position idx",
        ),
        (
            {"side": "Buy", "order_type": "Market", "qty": "0.01", "order_link_id": "x" * 37},
            10001,
            "orderLinkId",
        ),
        (
            {"side": "Buy", "order_type": "Market", "qty": "0.01", "order_link_id": "a b"},
            10001,
            "orderLinkId",
        ),
        (
            {"side": "Buy", "order_type": "Limit", "qty": "0.01", "price": "200000.00"},
            110003,
            "range",
        ),
        (
            {"side": "Sell", "order_type": "Limit", "qty": "0.01", "price": "1000.00"},
            110003,
            "range",
        ),
        (
            {"symbol": "DOGEUSDT", "side": "Buy", "order_type": "Market", "qty": "10"},
            110094,
            "minimum order value 5USDT",
        ),
        (
            {"side": "Buy", "order_type": "Limit", "qty": "0.00005", "price": "97000"},
            10001,
            "Qty invalid",
        ),
        (
            {"side": "Sell", "order_type": "Market", "qty": "0.01", "reduce_only": True},
            110017,
            "truncated to zero",
        ),
        ({"side": "Buy", "order_type": "Market", "qty": "50"}, 110007, "ab not enough"),
    ],
)
def test_invalid_orders_fail_like_bybit(fields: dict[str, Any], code: int, text: str) -> None:
    ex = quiet()
    error = _error(ex, **fields)
    assert error.code == code
    assert text in error.msg
    assert ex.take_private_events() == []
    assert ex.orders("alice") == []


def test_duplicate_order_link_id_among_open_and_closed_orders() -> None:
    ex = quiet()
    (bid, _), _ = best(ex)
    first = order(
        ex, side="Buy", order_type="Limit", qty="0.01", price=str(bid), order_link_id="dup"
    )
    assert (
        _error(
            ex, side="Buy", order_type="Limit", qty="0.01", price=str(bid), order_link_id="dup"
        ).code
        == 110072
    )
    ex.cancel_order(
        "alice", wire.OrderCancelRequest(symbol="BTCUSDT", order_link_id="dup"), ex.now_ms
    )
    error = _error(ex, side="Buy", order_type="Market", qty="0.01", order_link_id="dup")
    assert (error.code, error.msg) == (110072, "OrderLinkedID is duplicate")
    assert order(
        ex, "bob", side="Buy", order_type="Market", qty="0.01", order_link_id="dup"
    ).order_id
    assert the_order(ex, first).order_status == "Cancelled"


def test_margin_is_checked_against_the_available_balance() -> None:
    ex = quiet(starting_balance=D(1000))
    (bid, _), _ = best(ex)
    # 0.1 BTC at 10x needs ~973 USDT of the 1000
    order(ex, side="Buy", order_type="Limit", qty="0.100", price=str(bid))
    assert _error(ex, side="Buy", order_type="Limit", qty="0.010", price=str(bid)).code == 110007
    ex.set_leverage(
        "alice",
        wire.SetLeverageRequest(symbol="BTCUSDT", buy_leverage="20", sell_leverage="20"),
        ex.now_ms,
    )
    order(ex, side="Buy", order_type="Limit", qty="0.010", price=str(bid))


# ---------------------------------------------------------------- reduce-only


def test_reduce_only_is_capped_to_the_position_and_closes_it() -> None:
    ex = quiet()
    order(ex, side="Buy", order_type="Market", qty="0.020")
    assert _error(ex, side="Buy", order_type="Market", qty="0.01", reduce_only=True).code == 110017
    ids = order(ex, side="Sell", order_type="Market", qty="0.500", reduce_only=True)
    done = the_order(ex, ids)
    assert (done.qty, done.cum_exec_qty, done.order_status) == (D("0.020"), D("0.020"), "Filled")
    assert size(ex) == 0
    assert ex.positions("alice") == []


def test_resting_reduce_only_orders_are_cancelled_when_the_position_is_gone() -> None:
    ex = quiet()
    order(ex, side="Buy", order_type="Market", qty="0.020")
    _, (ask, _) = best(ex)
    resting = order(
        ex, side="Sell", order_type="Limit", qty="0.020", price=str(ask + 50), reduce_only=True
    )
    assert the_order(ex, resting).order_status == "New"
    order(ex, side="Sell", order_type="Market", qty="0.015")  # not reduce-only
    shrunk = the_order(ex, resting)
    assert (shrunk.order_status, shrunk.qty) == ("New", D("0.005"))
    order(ex, side="Sell", order_type="Market", qty="0.005")
    gone = the_order(ex, resting)
    assert (gone.order_status, gone.cancel_type) == ("Cancelled", "CancelByReduceOnly")


def test_close_on_trigger_with_zero_qty_closes_the_whole_position() -> None:
    ex = quiet()
    order(ex, side="Sell", order_type="Market", qty="0.030")
    order(ex, side="Buy", order_type="Market", qty="0", reduce_only=True, close_on_trigger=True)
    assert size(ex) == 0


# ---------------------------------------------------------------- amend and cancel


def test_amend_changes_qty_and_price() -> None:
    ex = quiet()
    (bid, bid_size), _ = best(ex)
    ids = order(
        ex, side="Buy", order_type="Limit", qty="0.050", price=str(bid - 1), order_link_id="am"
    )
    events(ex)
    ex.amend_order(
        "alice",
        wire.OrderAmendRequest(symbol="BTCUSDT", order_link_id="am", qty="0.040"),
        ex.now_ms,
    )
    assert [type(e).__name__ for e in events(ex)] == ["OrderEvent", "PositionEvent", "Wallet"]
    assert the_order(ex, ids).qty == D("0.040")
    ex.amend_order(
        "alice",
        wire.OrderAmendRequest(symbol="BTCUSDT", order_id=ids.order_id, price=str(bid)),
        ex.now_ms,
    )
    assert the_order(ex, ids).price == bid
    assert best(ex)[0] == (bid, bid_size + D("0.040"))


def test_amend_errors() -> None:
    ex = quiet()
    _, (ask, ask_size) = best(ex)
    ids = order(ex, side="Buy", order_type="Limit", qty=str(ask_size + D("0.005")), price=str(ask))
    req = wire.OrderAmendRequest
    with pytest.raises(VenueError) as caught:
        ex.amend_order(
            "alice", req(symbol="BTCUSDT", order_id=ids.order_id, qty=str(ask_size)), ex.now_ms
        )
    assert caught.value.code == 110064
    with pytest.raises(VenueError) as caught:
        ex.amend_order(
            "alice", req(symbol="BTCUSDT", order_id=ids.order_id, price=str(ask)), ex.now_ms
        )
    assert caught.value.code == 10001
    assert "unchanged" in caught.value.msg
    with pytest.raises(VenueError) as caught:
        ex.amend_order("alice", req(symbol="BTCUSDT", order_id="nope", qty="1"), ex.now_ms)
    assert caught.value.code == 110001
    with pytest.raises(VenueError) as caught:
        ex.amend_order(
            "alice", req(symbol="BTCUSDT", order_id=ids.order_id, qty="0.0001"), ex.now_ms
        )
    assert caught.value.code == 10001


def test_cancel_and_cancel_all() -> None:
    ex = quiet()
    (bid, _), _ = best(ex)
    (doge_bid, _), _ = best(ex, "DOGEUSDT")
    a = order(ex, side="Buy", order_type="Limit", qty="0.010", price=str(bid))
    b = order(ex, side="Buy", order_type="Limit", qty="0.010", price=str(bid - 1))
    c = order(ex, symbol="DOGEUSDT", side="Buy", order_type="Limit", qty="100", price=str(doge_bid))
    events(ex)
    cancelled = ex.cancel_order(
        "alice", wire.OrderCancelRequest(symbol="BTCUSDT", order_id=a.order_id), ex.now_ms
    )
    assert cancelled == a
    kinds = events(ex)
    assert [type(e).__name__ for e in kinds] == ["OrderEvent", "PositionEvent", "Wallet"]
    assert (kinds[0].order_status, kinds[0].cancel_type) == ("Cancelled", "CancelByUser")
    with pytest.raises(VenueError) as caught:
        ex.cancel_order(
            "alice", wire.OrderCancelRequest(symbol="BTCUSDT", order_id=a.order_id), ex.now_ms
        )
    assert (caught.value.code, caught.value.msg) == (
        110001,
        "order not exists or too late to cancel",
    )
    with pytest.raises(VenueError):
        ex.cancel_all("alice", wire.CancelAllRequest(), ex.now_ms)
    result = ex.cancel_all("alice", wire.CancelAllRequest(symbol="BTCUSDT"), ex.now_ms)
    assert [i.order_id for i in result.list] == [b.order_id]
    result = ex.cancel_all("alice", wire.CancelAllRequest(settle_coin="USDT"), ex.now_ms)
    assert [i.order_id for i in result.list] == [c.order_id]
    assert ex.orders("alice") == []
    closed = ex.orders("alice", open_only=1)
    assert {o.order_id for o in closed} == {a.order_id, b.order_id, c.order_id}
    assert len(ex.order_history("alice", symbol="BTCUSDT")) == 2


# ---------------------------------------------------------------- leverage and venue stops


def test_set_leverage() -> None:
    ex = quiet()
    req = wire.SetLeverageRequest
    with pytest.raises(VenueError) as caught:
        ex.set_leverage(
            "alice", req(symbol="BTCUSDT", buy_leverage="10", sell_leverage="10"), ex.now_ms
        )
    assert caught.value.code == 110043
    for bad in (("5", "6"), ("0.5", "0.5"), ("101", "101"), ("2.001", "2.001")):
        with pytest.raises(VenueError) as caught:
            ex.set_leverage(
                "alice", req(symbol="BTCUSDT", buy_leverage=bad[0], sell_leverage=bad[1]), ex.now_ms
            )
        assert caught.value.code == 10001
    ex.set_leverage(
        "alice", req(symbol="BTCUSDT", buy_leverage="25", sell_leverage="25"), ex.now_ms
    )
    assert ex.positions("alice", "BTCUSDT")[0].leverage == "25"
    assert [type(e).__name__ for e in events(ex)] == ["PositionEvent", "Wallet"]


def test_trading_stop_validation() -> None:
    ex = quiet()
    req = wire.TradingStopRequest
    with pytest.raises(VenueError) as caught:
        ex.trading_stop("alice", req(symbol="BTCUSDT", stop_loss="90000"), ex.now_ms)
    assert (caught.value.code, caught.value.msg) == (
        10001,
        "can not set tp/sl/ts for zero position",
    )
    order(ex, side="Buy", order_type="Market", qty="0.010")
    last = ex.tickers("BTCUSDT")[0].last_price
    with pytest.raises(VenueError) as caught:
        ex.trading_stop("alice", req(symbol="BTCUSDT", stop_loss=str(last + 10)), ex.now_ms)
    assert caught.value.code == 10001
    assert "set for Buy position should lower than base_price" in caught.value.msg
    with pytest.raises(VenueError) as caught:
        ex.trading_stop("alice", req(symbol="BTCUSDT", take_profit=str(last - 10)), ex.now_ms)
    assert "should higher than" in caught.value.msg
    ex.trading_stop(
        "alice",
        req(symbol="BTCUSDT", stop_loss=str(last - 100), take_profit=str(last + 100)),
        ex.now_ms,
    )
    (pos,) = ex.positions("alice", "BTCUSDT")
    assert (D(pos.stop_loss), D(pos.take_profit)) == (last - 100, last + 100)
    with pytest.raises(VenueError) as caught:
        ex.trading_stop("alice", req(symbol="BTCUSDT", stop_loss=str(last - 100)), ex.now_ms)
    assert (caught.value.code, caught.value.msg) == (34040, "not modified")
    ex.trading_stop("alice", req(symbol="BTCUSDT", take_profit="0"), ex.now_ms)
    (pos,) = ex.positions("alice", "BTCUSDT")
    assert (D(pos.stop_loss), D(pos.take_profit)) == (last - 100, 0)


def test_a_stop_loss_triggers_and_closes_the_position() -> None:
    ex = quiet()
    order(ex, side="Buy", order_type="Market", qty="0.050")
    (bid, _), _ = best(ex)
    stop = bid - D("0.3")
    ex.trading_stop(
        "alice", wire.TradingStopRequest(symbol="BTCUSDT", stop_loss=str(stop)), ex.now_ms
    )
    events(ex)
    order(ex, "bob", side="Sell", order_type="Market", qty="3")  # pushes the last price down
    mine = events(ex, "alice")
    stops = [e for e in mine if isinstance(e, wire.OrderEvent)]
    assert [(e.create_type, e.stop_order_type, e.order_status, e.reduce_only) for e in stops] == [
        ("CreateByStopLoss", "StopLoss", "Filled", True)
    ]
    assert size(ex) == 0
    (pos,) = ex.positions("alice", "BTCUSDT")
    assert D(pos.stop_loss) == 0
    assert isinstance(mine[-1], wire.Wallet)


def test_a_take_profit_triggers_for_a_short() -> None:
    ex = quiet()
    order(ex, side="Sell", order_type="Market", qty="0.050")
    _, (ask, _) = best(ex)
    ex.trading_stop(
        "alice", wire.TradingStopRequest(symbol="BTCUSDT", take_profit=str(ask - 1)), ex.now_ms
    )
    order(ex, "bob", side="Sell", order_type="Market", qty="3")
    assert size(ex) == 0
    (closing,) = [o for o in ex.orders("alice", open_only=1) if o.stop_order_type == "TakeProfit"]
    assert closing.side == "Buy"


def test_take_profit_attached_to_an_order_applies_to_the_position() -> None:
    ex = quiet()
    _, (ask, _) = best(ex)
    order(
        ex,
        side="Buy",
        order_type="Market",
        qty="0.010",
        take_profit=str(ask + 500),
        stop_loss=str(ask - 500),
    )
    (pos,) = ex.positions("alice", "BTCUSDT")
    assert (D(pos.take_profit), D(pos.stop_loss)) == (ask + 500, ask - 500)


# ---------------------------------------------------------------- the market trades with us


def test_a_resting_order_fills_as_maker_at_its_price_from_the_trade_flow() -> None:
    ex = quiet(trade_rate_scale=3.0)
    (bid, _), _ = best(ex)
    ids = order(ex, side="Buy", order_type="Limit", qty="0.020", price=str(bid))
    fills: list[wire.ExecutionEvent] = []
    for k in range(1, 600):
        ex.advance(T0 + 100 + k * 100)
        fills += events(ex, topic="execution")
        if sum(f.exec_qty for f in fills) == D("0.020"):
            break
    assert sum(f.exec_qty for f in fills) == D("0.020")
    for fill in fills:
        assert (fill.is_maker, fill.exec_price, fill.fee_rate) == (True, bid, "0.0002")
        assert fill.exec_fee == fee_of(fill.exec_value, MAKER)
    assert the_order(ex, ids).order_status == "Filled"


def test_the_market_moving_through_a_resting_order_fills_it() -> None:
    ex = quiet(volatility_scale=2.0, seed=9)
    _, (ask, _) = best(ex)
    limit = ask + 20
    ids = order(ex, side="Sell", order_type="Limit", qty="0.010", price=str(limit))
    for k in range(1, 3000):
        ex.advance(T0 + 100 + k * 100)
        if the_order(ex, ids).order_status == "Filled":
            break
    done = the_order(ex, ids)
    assert done.order_status == "Filled"
    assert D(done.avg_price) == limit


# ---------------------------------------------------------------- queries and market data


def test_orderbook_snapshot() -> None:
    ex = quiet()
    book = ex.orderbook("BTCUSDT", 200)
    assert len(book.b) == len(book.a) == 200
    assert [p for p, _ in book.b] == sorted((p for p, _ in book.b), reverse=True)
    assert [p for p, _ in book.a] == sorted(p for p, _ in book.a)
    assert book.b[0][0] < book.a[0][0]
    raw = msgspec.json.decode(msgspec.json.encode(book))
    assert raw["s"] == "BTCUSDT"
    assert isinstance(raw["b"][0][0], str)
    assert {"ts", "u", "seq", "cts"} <= raw.keys()


def test_executions_and_positions_queries() -> None:
    ex = quiet()
    order(ex, side="Buy", order_type="Market", qty="0.010")
    order(ex, symbol="DOGEUSDT", side="Sell", order_type="Market", qty="100")
    all_fills = ex.executions("alice")
    assert {e.symbol for e in all_fills} == {"BTCUSDT", "DOGEUSDT"}
    assert all_fills[0].symbol == "DOGEUSDT", "newest first"
    assert all(e.symbol == "BTCUSDT" for e in ex.executions("alice", symbol="BTCUSDT"))
    assert ex.executions("alice", start_ms=ex.now_ms + 1) == []
    assert [p.symbol for p in ex.positions("alice")] == ["BTCUSDT", "DOGEUSDT"]
    (flat,) = ex.positions("bob", "BTCUSDT")
    assert (flat.side, flat.size, flat.avg_price) == ("", 0, "0")


def test_recent_trades_and_klines() -> None:
    ex = quiet(trade_rate_scale=1.0)
    ex.advance(T0 + 5000)
    trades = ex.recent_trades("BTCUSDT", 10)
    assert 0 < len(trades) <= 10
    assert int(trades[0].time) >= int(trades[-1].time)
    klines = ex.klines("BTCUSDT", "1", 5, T0 + 5000)
    assert len(klines) == 5
    assert int(klines[0][0]) > int(klines[1][0])
    assert all(len(row) == 7 for row in klines)
    with pytest.raises(VenueError):
        ex.klines("BTCUSDT", "7", 5, T0 + 5000)


def test_wallet_equity_is_wallet_plus_unrealised() -> None:
    ex = quiet()
    order(ex, side="Buy", order_type="Market", qty="0.100")
    wallet = ex.wallet("alice")
    assert D(wallet.total_equity) == D(wallet.total_wallet_balance) + D(wallet.total_perp_upl)
    (pos,) = ex.positions("alice", "BTCUSDT")
    assert D(pos.unrealised_pnl) == D(wallet.total_perp_upl)


# ---------------------------------------------------------------- properties


def _run(seed: int) -> tuple[bytes, bytes]:
    ex = Exchange(
        ExchangeConfig(seed=seed, symbols=("BTCUSDT", "WIFUSDT"), history_minutes=1500), T0
    )
    for k in range(1, 60):
        ex.advance(T0 + k * 250)
        if k % 10 == 0:
            order(ex, side="Buy" if k % 20 else "Sell", order_type="Market", qty="0.010")
    return (
        msgspec.json.encode(ex.take_private_events()),
        msgspec.json.encode(ex.take_public_trades()),
    )


def test_the_venue_is_reproducible_for_a_seed() -> None:
    assert _run(3) == _run(3)
    assert _run(3) != _run(4)


_ops = st.lists(
    st.tuples(
        st.sampled_from(["Limit", "Limit", "Market", "IOC", "FOK", "PostOnly", "wait", "cancel"]),
        st.booleans(),
        st.integers(min_value=-8, max_value=8),  # price offset in ticks from the touch
        st.integers(min_value=1, max_value=60),  # qty in lots
        st.booleans(),  # reduce only
    ),
    min_size=1,
    max_size=14,
)


def _apply(ex: Exchange, op: tuple[str, bool, int, int, bool]) -> None:
    kind, is_buy, offset, lots, reduce_only = op
    if kind == "wait":
        ex.advance(ex.now_ms + 100 * lots)
        return
    if kind == "cancel":
        ex.cancel_all("alice", wire.CancelAllRequest(symbol="BTCUSDT"), ex.now_ms)
        return
    (bid, _), (ask, _) = best(ex)
    price = (ask if is_buy else bid) + offset * D("0.1") * (1 if is_buy else -1)
    fields: dict[str, Any] = {
        "side": "Buy" if is_buy else "Sell",
        "order_type": "Market" if kind == "Market" else "Limit",
        "qty": str(D(lots) / 1000),
        "reduce_only": reduce_only,
    }
    if kind != "Market":
        fields["price"] = str(price)
        fields["time_in_force"] = "GTC" if kind == "Limit" else kind
    try:
        order(ex, **fields)
    except VenueError as e:
        if e.code not in (110017, 110094, 110007):  # reduce-only, min value, margin
            raise


@settings(max_examples=40, deadline=None)
@given(ops=_ops, seed=st.integers(min_value=0, max_value=3))
def test_fills_never_beat_the_limit_and_positions_add_up(
    ops: list[tuple[str, bool, int, int, bool]], seed: int
) -> None:
    ex = Exchange(
        ExchangeConfig(seed=seed, symbols=("BTCUSDT",), history_minutes=1500, trade_rate_scale=2.0),
        T0,
    )
    for op in ops:
        _apply(ex, op)
    ex.advance(ex.now_ms + 1000)
    orders = {o.order_id: o for o in ex.order_history("alice")}
    signed = D(0)
    by_order: dict[str, Decimal] = {}
    for fill in ex.executions("alice"):
        placed = orders[fill.order_id]
        assert fill.exec_qty > 0
        if placed.order_type == "Limit":
            if placed.side == "Buy":
                assert fill.exec_price <= placed.price
            else:
                assert fill.exec_price >= placed.price
        rate = MAKER if fill.is_maker else TAKER
        assert fill.exec_fee == fee_of(fill.exec_value, rate)
        assert fill.exec_value == fill.exec_price * fill.exec_qty
        signed += fill.exec_qty if fill.side == "Buy" else -fill.exec_qty
        by_order[fill.order_id] = by_order.get(fill.order_id, D(0)) + fill.exec_qty
    for order_id, filled in by_order.items():
        assert filled == orders[order_id].cum_exec_qty <= orders[order_id].qty
    for placed in orders.values():
        assert placed.cum_exec_qty <= placed.qty
    assert size(ex) == signed


def test_advancing_the_whole_universe_is_cheap() -> None:
    ex = Exchange(ExchangeConfig(seed=1), T0)
    assert len(ex.instruments()) >= 32
    started = time.process_time()
    for k in range(1, 101):  # 10 simulated seconds at 10 steps per second
        ex.advance(T0 + k * 100)
    spent = time.process_time() - started
    assert spent < 0.2, f"{spent * 100:.1f} ms of CPU per simulated second"


def test_fee_is_rounded_half_up_to_eight_decimals_like_the_venue() -> None:
    assert fee_of(Decimal("60"), Decimal("0.00055")) == Decimal("0.03300000")
    assert fee_of(Decimal("97.25010"), Decimal("0.00055")) == Decimal("0.05348756")


def test_orders_past_the_live_history_are_archived_and_still_found_by_id() -> None:
    """A paper run of weeks: the venue keeps the last `history_kept` finished orders live
    (listings); an older one is archived with its executions, still answers a query by
    orderId or orderLinkId, and its orderLinkId stays taken. Open orders always stay."""
    ex = quiet(history_kept=4)
    resting = order(
        ex, side="Buy", order_type="Limit", qty="0.001", price="10000", order_link_id="r"
    )
    links = [f"m{n}" for n in range(10)]
    ids = [
        order(
            ex,
            side="Buy" if n % 2 == 0 else "Sell",
            order_type="Market",
            qty="0.001",
            order_link_id=link,
        )
        for n, link in enumerate(links)
    ]
    acct = ex.state.accounts["alice"]

    listed = [o.order_link_id for o in ex.order_history("alice") if o.order_status == "Filled"]
    assert listed == links[:-5:-1]  # the live ones, newest first
    assert the_order(ex, resting).order_status == "New"
    assert len(ex.executions("alice")) == 4
    assert (len(acct.orders), len(acct.link_ids), len(acct.archive)) == (5, 5, 6)
    assert all(row.order_id in acct.orders for row in acct.ledger.closed.values())
    assert acct.ledger.fills_dropped == 6

    (old,) = ex.orders("alice", order_link_id="m0")
    assert (old.order_id, old.order_status, old.cum_exec_qty) == (
        ids[0].order_id,
        "Filled",
        D("0.001"),
    )
    assert ex.order_history("alice", order_id=ids[0].order_id) == [old]
    (fill,) = ex.executions("alice", order_id=ids[0].order_id)
    assert (fill.order_link_id, fill.exec_qty) == ("m0", D("0.001"))
    with pytest.raises(VenueError, match="110072"):
        order(ex, side="Buy", order_type="Market", qty="0.001", order_link_id="m0")


def test_archived_orders_go_after_the_retention() -> None:
    ex = quiet(history_kept=1)
    for n in range(3):
        order(ex, side="Buy", order_type="Market", qty="0.001", order_link_id=f"a{n}")
    acct = ex.state.accounts["alice"]
    assert len(acct.archive) == 2
    week_ago = ex.now_ms - 7 * 86_400_000 - 1  # as if a0 had been archived a week ago
    acct.archive = {
        k: (week_ago if n == 0 else ms, blob)
        for n, (k, (ms, blob)) in enumerate(acct.archive.items())
    }
    order(ex, side="Sell", order_type="Market", qty="0.001", order_link_id="later")
    assert sorted(acct.archived_links) == ["a1", "a2"]
    assert ex.orders("alice", order_link_id="a0") == []
