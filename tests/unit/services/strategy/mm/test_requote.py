"""Requote by difference: each rule, the queue-aware keep, and the diff's properties."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.queue import QueueBoard
from services.strategy.mm.quote_book import BatchCommand, QuoteStatus, WorkingQuote
from services.strategy.mm.quote_manager import ManagerKnobs, QuoteManager
from services.strategy.mm.requote import (
    Amend,
    Cancel,
    Place,
    RequoteKnobs,
    SideMarket,
    Target,
    decide,
)
from shared.queue_position import QueueModel
from shared.schema import (
    AmendOrder,
    AmendOrders,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    OrderSide,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    TimeInForce,
)
from tests.unit.services.strategy.mm.test_quote_book import (
    BTC,
    ETH,
    SID,
    T0,
    accepted,
    denied,
    levels,
    trade,
)

D = Decimal
TICK = D("0.1")
STEP = D("0.001")
MARKET = SideMarket(TICK, D("100.0"), D("100.2"))
KNOBS = RequoteKnobs(price_tolerance_ticks=1, qty_tolerance=D("0.002"), keep_max_ticks=1)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BIDS = [("100.0", "5"), ("99.9", "50")]
ASKS = [("100.2", "5"), ("100.3", "50")]


def working(price: str = "100.0", qty: str = "1", filled: str = "0") -> WorkingQuote:
    return WorkingQuote(
        ClientOrderId("mm1-1-a"), BTC, BUY, D(price), D(qty), D("100.1"),
        status=QuoteStatus.WORKING, filled_qty=D(filled), accepted=True,
    )  # fmt: skip


def manager(knobs: ManagerKnobs | None = None) -> QuoteManager:
    board = QueueBoard(QueueModel("risk-averse"), flow_tau_ns=10 * 1_000_000_000)
    mgr = QuoteManager(SID, knobs or ManagerKnobs(), board)
    for symbol in (BTC, ETH):
        mgr.set_rules(symbol, TICK, STEP)
        mgr.on_book(levels(BIDS, ASKS, symbol), T0)
    return mgr


def quoted(mgr: QuoteManager, side: OrderSide, price: str, symbol: Symbol = BTC) -> WorkingQuote:
    """A working quote placed by the manager and acknowledged."""
    mgr.on_targets(symbol, {side: Target(D(price), D(1))}, T0)
    quote = mgr.book.quote(symbol, side)
    assert quote is not None
    mgr.on_event(accepted(quote.client_order_id, symbol))
    return quote


def flat(commands: list[BatchCommand]) -> list[object]:
    out: list[object] = []
    for command in commands:
        match command:
            case SubmitOrders():
                out += command.orders
            case AmendOrders():
                out += command.amends
            case CancelOrders():
                out += command.cancels
    return out


def test_no_target_cancels() -> None:
    quote = working()
    assert decide((BTC, BUY), quote, None, MARKET, KNOBS, hard=False) == Cancel(
        quote.client_order_id, BTC
    )


def test_target_within_tolerance_keeps() -> None:
    target = Target(D("100.1"), D("1.002"))
    assert decide((BTC, BUY), working(), target, MARKET, KNOBS, hard=False) is None


def test_smaller_qty_amends_qty_only_and_counts_fills() -> None:
    decision = decide((BTC, BUY), working(qty="3", filled="1"), Target(D("100.0"), D("1")),
                      MARKET, KNOBS, hard=False)  # fmt: skip
    assert decision == Amend(ClientOrderId("mm1-1-a"), BTC, D("100.0"), D("2"))


def test_larger_qty_after_a_refused_amend_cancels() -> None:
    quote = working()
    quote.amend_refused = True
    decision = decide((BTC, BUY), quote, Target(D("100.0"), D("2")), MARKET, KNOBS, hard=False)
    assert isinstance(decision, Cancel)


def test_new_price_amends_unless_it_would_cross() -> None:
    far = RequoteKnobs()
    moved = decide((BTC, BUY), working(), Target(D("99.5"), D(1)), MARKET, far, hard=False)
    crossing = decide((BTC, BUY), working(), Target(D("100.2"), D(1)), MARKET, far, hard=False)
    assert moved == Amend(ClientOrderId("mm1-1-a"), BTC, D("99.5"), D(1))
    assert isinstance(crossing, Cancel)


def test_pending_quote_waits_but_is_cancelled_without_target() -> None:
    quote = working()
    quote.status = QuoteStatus.PENDING_NEW
    assert decide((BTC, BUY), quote, Target(D(99), D(1)), MARKET, KNOBS, hard=False) is None
    assert isinstance(decide((BTC, BUY), quote, None, MARKET, KNOBS, hard=False), Cancel)
    quote.status = QuoteStatus.PENDING_CANCEL
    assert decide((BTC, BUY), quote, None, MARKET, KNOBS, hard=False) is None


def test_hard_places_nothing_and_cancels() -> None:
    target = Target(D("100.0"), D(1))
    assert decide((BTC, BUY), None, target, MARKET, KNOBS, hard=True) is None
    assert isinstance(decide((BTC, BUY), working(), target, MARKET, KNOBS, hard=True), Cancel)
    assert decide((BTC, BUY), None, target, MARKET, KNOBS, hard=False) == Place(BTC, BUY, target)


def test_manager_places_post_only_quotes_in_one_batch() -> None:
    mgr = manager()
    out = mgr.on_targets(BTC, {BUY: Target(D("100.0"), D(1)), SELL: Target(D("100.2"), D(1))}, T0)
    assert [type(c) for c in out] == [SubmitOrders]
    orders = flat(out)
    assert len(orders) == 2
    assert all(o.time_in_force is TimeInForce.POST_ONLY for o in orders)  # type: ignore[attr-defined]


def test_manager_keeps_a_front_place_worth_more_than_one_tick() -> None:
    # at the head of 100.0 (front 0 after a trade took the 4 lots ahead), with sell flow
    mgr = manager(ManagerKnobs(requote=RequoteKnobs(keep_max_ticks=1)))
    quote = quoted(mgr, BUY, "100.0")
    mgr.board.spots[quote.client_order_id].front = 0
    for _ in range(5):
        mgr.board.on_trade(trade("100.0", "2", SELL), T0)  # flow against the bids
    out = mgr.on_targets(BTC, {BUY: Target(D("99.9"), D(1))}, T0 + 1)
    assert out == []


def test_manager_moves_when_there_is_no_flow_to_value_the_place() -> None:
    mgr = manager()
    quote = quoted(mgr, BUY, "100.0")
    out = mgr.on_targets(BTC, {BUY: Target(D("99.9"), D(1))}, T0 + 1)
    (amend,) = flat(out)
    assert isinstance(amend, AmendOrder)
    assert amend.client_order_id == quote.client_order_id
    assert (amend.limit_price, amend.qty) == (D("99.9"), None)


def test_manager_cancels_after_a_refused_amend_then_places_anew() -> None:
    mgr = manager()
    quote = quoted(mgr, BUY, "100.0")
    mgr.on_targets(BTC, {BUY: Target(D("99.5"), D(1))}, T0 + 1)
    mgr.on_event(denied(quote.client_order_id, "AmendOrder"))
    (cancel,) = flat(mgr.on_targets(BTC, {BUY: Target(D("99.5"), D(1))}, T0 + 2))
    assert cancel.client_order_id == quote.client_order_id  # type: ignore[attr-defined]
    assert mgr.on_targets(BTC, {BUY: Target(D("99.5"), D(1))}, T0 + 3) == []  # waits for ack


PRICES = st.integers(995, 1005).map(lambda n: D(n) * TICK)
QTYS = st.integers(1, 5).map(D)


@given(price=PRICES, qty=QTYS, dticks=st.integers(-1, 1), dqty=st.sampled_from(["0", "0.001"]))
def test_target_equal_within_tolerance_produces_nothing(
    price: Decimal, qty: Decimal, dticks: int, dqty: str
) -> None:
    quote = working(str(price), str(qty))
    target = Target(price + dticks * TICK, qty + D(dqty))
    assert decide((BTC, BUY), quote, target, MARKET, KNOBS, hard=False) is None


SLOTS = [(BTC, BUY), (BTC, SELL), (ETH, BUY), (ETH, SELL)]
STATUS = st.sampled_from([None, *QuoteStatus])
TARGETS = st.one_of(st.none(), st.builds(Target, PRICES, QTYS))


@given(
    statuses=st.lists(STATUS, min_size=4, max_size=4),
    targets=st.lists(TARGETS, min_size=4, max_size=4),
    hard=st.booleans(),
)
def test_commands_name_known_quotes_and_never_two_per_side(
    statuses: list[QuoteStatus | None], targets: list[Target | None], hard: bool
) -> None:
    mgr = manager()
    for (symbol, side), status in zip(SLOTS, statuses, strict=True):
        _seed(mgr, symbol, side, status)
    known = {q.client_order_id for q in mgr.book.quotes()}
    held = {q.slot for q in mgr.book.quotes()}
    if hard:
        mgr.set_hard(None, T0)
    commands: list[object] = []
    for symbol in (BTC, ETH):
        wanted = {s: t for (sym, s), t in zip(SLOTS, targets, strict=True) if sym == symbol}
        commands += flat(mgr.on_targets(symbol, wanted, T0 + 10))
    submits = [c for c in commands if isinstance(c, SubmitOrder)]
    others = [c for c in commands if isinstance(c, AmendOrder | CancelOrder)]
    assert len(submits) + len(others) == len(commands)
    assert all(c.client_order_id in known for c in others)
    new_slots = [(c.symbol, c.side) for c in submits]
    assert len(new_slots) == len(set(new_slots))
    assert not set(new_slots) & held  # never a second quote beside a held one
    assert not (hard and submits)


def _seed(mgr: QuoteManager, symbol: Symbol, side: OrderSide, status: QuoteStatus | None) -> None:
    if status is None:
        return
    price = "99.0" if side is BUY else "101.0"
    mgr.on_targets(symbol, {side: Target(D(price), D(1))}, T0)
    quote = mgr.book.quote(symbol, side)
    assert quote is not None
    if status is not QuoteStatus.PENDING_NEW:
        mgr.on_event(accepted(quote.client_order_id, symbol))
    if status is QuoteStatus.PENDING_AMEND:
        mgr.on_targets(symbol, {side: Target(D(price) + TICK * 5, D(1))}, T0)
    elif status is QuoteStatus.PENDING_CANCEL:
        mgr.on_targets(symbol, {side: None}, T0)
    assert quote.status is status
