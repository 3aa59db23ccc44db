"""The dashboard's queue-ahead estimate from the touch (risk-averse rule)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.dashboard.queue import EMIT_EVERY_NS, QueueBoard
from services.dashboard.view import Header, View
from shared.schema import OrderSide, Quote, Symbol, Trade

D = Decimal
HEADER = Header(mode="paper", run_dir="/run", controls_enabled=False, daily_loss_limit_usdt=None)


def _view(side: str = "Buy", price: str = "100", qty: str = "1") -> View:
    view = View(HEADER)
    view.set(
        ("orders", "working", "q1"),
        {
            "symbol": "ETHUSDT",
            "side": side,
            "order_type": "Limit",
            "qty": qty,
            "limit_price": price,
            "cum_filled_qty": "0",
            "status": "Accepted",
            "strategy_id": "mm1",
            "queue_ahead_qty": None,
        },
    )
    return view


def _quote(bid: str, bid_qty: str, ask: str = "101", ask_qty: str = "5") -> Quote:
    return Quote(
        symbol=Symbol("ETHUSDT"),
        epoch=1,
        bid_price=D(bid),
        bid_qty=D(bid_qty),
        ask_price=D(ask),
        ask_qty=D(ask_qty),
        venue_update_id=1,
        ts_event_ns=1,
        ts_recv_ns=1,
    )


def _trade(price: str, qty: str) -> Trade:
    return Trade(
        symbol=Symbol("ETHUSDT"),
        epoch=1,
        price=D(price),
        qty=D(qty),
        taker_side=OrderSide.SELL,
        trade_id="t",
        ts_event_ns=1,
        ts_recv_ns=1,
    )


def _ahead(board: QueueBoard, view: View, now_ns: int = EMIT_EVERY_NS) -> str | None:
    board.emit(view, now_ns)
    value: str | None = view.get(("orders", "working", "q1", "queue_ahead_qty"))
    return value


def test_joining_the_touch_queues_behind_what_is_shown_less_our_own() -> None:
    view, board = _view(qty="1"), QueueBoard()
    board.on_quote(view, _quote("100", "10"))
    assert _ahead(board, view) == "9"


def test_cancels_move_us_up_only_below_our_place_and_trades_move_us_up() -> None:
    view, board = _view(qty="1"), QueueBoard()
    board.on_quote(view, _quote("100", "10"))  # 9 ahead
    board.on_quote(view, _quote("100", "20"))  # joiners queue behind us
    board.on_trade(view, _trade("100", "4"))  # 5 ahead
    board.on_quote(view, _quote("100", "4"))  # the level shrank below our place: 3
    assert _ahead(board, view) == "3"
    board.on_trade(view, _trade("99.5", "1"))  # traded through our price
    assert _ahead(board, view, 2 * EMIT_EVERY_NS) == "0"


def test_behind_the_touch_is_unknown_and_better_than_it_is_first() -> None:
    view, board = _view(side="Sell", price="102"), QueueBoard()
    board.on_quote(view, _quote("100", "1", ask="101"))
    assert _ahead(board, view) is None
    board.on_quote(view, _quote("100", "1", ask="103"))
    assert _ahead(board, view, 2 * EMIT_EVERY_NS) == "0"


def test_estimates_reach_the_view_at_most_four_times_a_second() -> None:
    view, board = _view(), QueueBoard()
    board.on_quote(view, _quote("100", "10"))
    board.emit(view, EMIT_EVERY_NS)
    view.take()
    board.on_quote(view, _quote("100", "5"))
    board.emit(view, EMIT_EVERY_NS + 1)  # too soon: held
    assert view.take()[0] == []
    board.emit(view, 2 * EMIT_EVERY_NS)
    assert view.take()[0][0]["value"] == "4"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 50)), max_size=60))
def test_the_estimate_never_grows_at_one_price_and_never_goes_below_zero(
    events: list[tuple[bool, int]],
) -> None:
    view, board = _view(qty="1"), QueueBoard()
    board.on_quote(view, _quote("100", "30"))
    last = D(_ahead(board, view) or "0")
    now = EMIT_EVERY_NS
    for is_trade, qty in events:
        if is_trade:
            board.on_trade(view, _trade("100", str(qty)))
        else:
            board.on_quote(view, _quote("100", str(qty)))
        now += EMIT_EVERY_NS
        value = D(_ahead(board, view, now) or "0")
        assert D(0) <= value <= last
        last = value


def test_an_order_whose_details_come_after_the_quote_is_placed_without_waiting_for_another() -> (
    None
):
    # Arrange: the order is known from its OrderAccepted only (no side, qty, price) when the
    # symbol's quote comes; then the executor's snapshot brings its details
    view, board = _view(qty="1"), QueueBoard()
    details = dict(view.state["orders"]["working"]["q1"])
    view.merge(("orders", "working", "q1"), {"side": None, "qty": None, "limit_price": None})
    board.on_quote(view, _quote("100", "10"))
    assert _ahead(board, view) is None
    view.set(("orders", "working", "q1"), details)

    # Act: the next flush, no new quote
    value = _ahead(board, view, 2 * EMIT_EVERY_NS)

    # Assert
    assert value == "9"
