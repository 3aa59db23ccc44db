"""The quote book: one quote per (symbol, side), moved by our order events, nothing dropped.

The module's builders (`levels`, `accepted`, ...) are shared with the other quote-manager
tests of this directory.
"""

from decimal import Decimal

import pytest

from services.strategy.mm.quote_book import (
    MAX_BATCH,
    QuoteBook,
    QuoteStatus,
    Stamp,
    WorkingQuote,
    batch_commands,
)
from shared.schema import (
    AmendOrders,
    BookLevel,
    BookLevels,
    CancelOrders,
    ClientOrderId,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    SubmitOrders,
    Symbol,
    Trade,
    VenueOrderId,
)

D = Decimal
SID = "mm1"
BTC = Symbol("BTCUSDT")
ETH = Symbol("ETHUSDT")
T0 = 1_700_000_000 * 1_000_000_000
VOID = VenueOrderId("v1")
STAMP = Stamp(now_ns=T0, ttl_ns=2_000_000_000)


def levels(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], symbol: Symbol = BTC, ts: int = T0
) -> BookLevels:
    return BookLevels(
        symbol=symbol,
        epoch=1,
        bids=tuple(BookLevel(price=D(p), qty=D(q)) for p, q in bids),
        asks=tuple(BookLevel(price=D(p), qty=D(q)) for p, q in asks),
        venue_update_id=1,
        ts_event_ns=ts,
        ts_recv_ns=ts,
    )


def trade(price: str, qty: str, taker: OrderSide, symbol: Symbol = BTC, ts: int = T0) -> Trade:
    return Trade(
        symbol=symbol,
        epoch=1,
        price=D(price),
        qty=D(qty),
        taker_side=taker,
        trade_id="t",
        ts_event_ns=ts,
        ts_recv_ns=ts,
    )


def accepted(coid: ClientOrderId, symbol: Symbol = BTC) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=coid,
        venue_order_id=VOID,
        strategy_id=SID,
        symbol=symbol,
        ts_event_ns=T0,
        ts_trigger_recv_ns=T0,
        ts_request_sent_ns=T0,
        ts_ack_ns=T0,
    )


def amended(
    coid: ClientOrderId, qty: Decimal, price: Decimal, symbol: Symbol = BTC
) -> OrderAmended:
    return OrderAmended(
        client_order_id=coid,
        venue_order_id=VOID,
        strategy_id=SID,
        symbol=symbol,
        qty=qty,
        limit_price=price,
        ts_event_ns=T0,
        ts_command_recv_ns=T0,
        ts_request_sent_ns=T0,
        ts_ack_ns=T0,
    )


def canceled(coid: ClientOrderId, symbol: Symbol = BTC) -> OrderCanceled:
    return OrderCanceled(
        client_order_id=coid,
        venue_order_id=VOID,
        strategy_id=SID,
        symbol=symbol,
        cum_filled_qty=D(0),
        reason="asked",
        ts_event_ns=T0,
    )


def rejected(coid: ClientOrderId, symbol: Symbol = BTC) -> OrderRejected:
    return OrderRejected(
        client_order_id=coid,
        strategy_id=SID,
        symbol=symbol,
        reason="EC_PostOnlyWillTakeLiquidity",
        venue_code=0,
        ts_event_ns=T0,
    )


def denied(coid: ClientOrderId, kind: str) -> OrderDenied:
    return OrderDenied(
        client_order_id=coid, strategy_id=SID, command_kind=kind, reason="no", ts_event_ns=T0
    )


def fill(
    coid: ClientOrderId, side: OrderSide, cum: Decimal, leaves: Decimal, symbol: Symbol = BTC
) -> OrderFilled | OrderPartiallyFilled:
    kind = OrderFilled if leaves == 0 else OrderPartiallyFilled
    return kind(
        client_order_id=coid,
        venue_order_id=VOID,
        strategy_id=SID,
        symbol=symbol,
        side=side,
        exec_id=f"e{cum}",
        fill_qty=cum,
        fill_price=D(100),
        cum_filled_qty=cum,
        leaves_qty=leaves,
        fee=D(0),
        is_maker=True,
        ts_event_ns=T0,
        ts_trigger_recv_ns=T0,
        ts_request_sent_ns=T0,
        ts_ack_ns=T0,
    )


def new_quote(
    book: QuoteBook, side: OrderSide = OrderSide.BUY, price: str = "100", qty: str = "1"
) -> WorkingQuote:
    order = book.new_order((BTC, side), (D(price), D(qty)), levels([], []), STAMP)
    book.send_new(order, D(price))
    quote = book.by_id(order.client_order_id)
    assert quote is not None
    return quote


def test_a_quote_moves_from_pending_new_to_working_on_accept() -> None:
    book = QuoteBook(SID)
    quote = new_quote(book)
    statuses = [quote.status]
    book.apply(accepted(quote.client_order_id))
    statuses.append(quote.status)
    assert statuses == [QuoteStatus.PENDING_NEW, QuoteStatus.WORKING]
    assert book.quote(BTC, OrderSide.BUY) is quote


def test_ids_follow_the_scalper_scheme_and_are_deterministic() -> None:
    first, second = QuoteBook(SID), QuoteBook(SID)
    ids = [first.next_id(1, T0), first.next_id(1, T0)]
    assert ids == [second.next_id(1, T0), second.next_id(1, T0)]
    assert ids[0].startswith("mm1-1-")
    assert ids[0] != ids[1]


def test_second_quote_on_a_side_is_a_bug() -> None:
    book = QuoteBook(SID)
    new_quote(book)
    with pytest.raises(RuntimeError, match="already held"):
        new_quote(book)


def test_no_new_quote_after_hard() -> None:
    book = QuoteBook(SID)
    book.set_hard(BTC)
    with pytest.raises(RuntimeError, match="HARD"):
        new_quote(book)


def test_amend_applies_new_price_and_qty() -> None:
    book = QuoteBook(SID)
    quote = new_quote(book)
    book.apply(accepted(quote.client_order_id))
    book.send_amend(quote, (D(99), D(2)), D(100), STAMP)
    assert quote.status is QuoteStatus.PENDING_AMEND
    book.apply(amended(quote.client_order_id, D(2), D(99)))
    assert (quote.status, quote.price, quote.qty) == (QuoteStatus.WORKING, D(99), D(2))


def test_denied_amend_returns_to_working_and_marks_the_quote() -> None:
    book = QuoteBook(SID)
    quote = new_quote(book)
    book.apply(accepted(quote.client_order_id))
    book.send_amend(quote, (D(99), D(2)), D(100), STAMP)
    book.apply(denied(quote.client_order_id, "AmendOrder"))
    assert quote.status is QuoteStatus.WORKING
    assert quote.amend_refused
    assert book.counters["denied_amend"] == 1


def test_denied_cancel_returns_to_the_amend_in_flight() -> None:
    book = QuoteBook(SID)
    quote = new_quote(book)
    book.apply(accepted(quote.client_order_id))
    book.send_amend(quote, (D(99), D(1)), D(100), STAMP)
    book.send_cancel(quote, STAMP)
    book.apply(denied(quote.client_order_id, "CancelOrder"))
    statuses = [quote.status]
    book.apply(amended(quote.client_order_id, D(1), D(99)))
    statuses.append(quote.status)
    assert statuses == [QuoteStatus.PENDING_AMEND, QuoteStatus.WORKING]
    assert book.counters["amended_while_canceling"] == 0


def test_denied_cancel_keeps_the_quote() -> None:
    book = QuoteBook(SID)
    quote = new_quote(book)
    book.send_cancel(quote, STAMP)
    book.apply(denied(quote.client_order_id, "CancelOrder"))
    assert quote.status is QuoteStatus.PENDING_NEW
    assert book.by_id(quote.client_order_id) is quote


@pytest.mark.parametrize(
    "end",
    [
        lambda q: canceled(q.client_order_id),
        lambda q: rejected(q.client_order_id),
        lambda q: denied(q.client_order_id, "SubmitOrder"),
        lambda q: fill(q.client_order_id, q.side, q.qty, D(0)),
    ],
)
def test_slot_is_freed_when_the_order_ends(end: object) -> None:
    book = QuoteBook(SID)
    quote = new_quote(book)
    book.apply(end(quote))  # type: ignore[operator]
    assert book.quote(BTC, OrderSide.BUY) is None
    assert book.by_id(quote.client_order_id) is None


def test_partial_fill_reduces_leaves() -> None:
    book = QuoteBook(SID)
    quote = new_quote(book, qty="3")
    book.apply(fill(quote.client_order_id, quote.side, D(1), D(2)))
    assert quote.leaves_qty == D(2)


def test_event_for_an_unknown_id_is_counted() -> None:
    book = QuoteBook(SID)
    assert book.apply(canceled(ClientOrderId("mm1-1-zz"))) is None
    assert book.counters["unknown_OrderCanceled"] == 1


def test_batches_hold_at_most_max_batch_and_cancels_go_first() -> None:
    book = QuoteBook(SID)
    cancel = book.send_cancel(new_quote(book), STAMP)
    orders = [
        book.new_order((Symbol(f"S{i}USDT"), OrderSide.BUY), (D(1), D(1)), levels([], []), STAMP)
        for i in range(MAX_BATCH + 3)
    ]
    out = batch_commands([cancel], [], orders, STAMP, SID)
    assert [type(c) for c in out] == [CancelOrders, SubmitOrders, SubmitOrders]
    assert [len(c.orders) for c in out if isinstance(c, SubmitOrders)] == [MAX_BATCH, 3]
    assert not any(isinstance(c, AmendOrders) for c in out)
    assert all(c.strategy_id == SID and c.expires_at_ns == STAMP.expires_at_ns for c in out)
