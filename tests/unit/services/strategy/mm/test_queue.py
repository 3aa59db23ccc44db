"""The live queue estimate: the venue's model fed by book levels and trades at our price."""

import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.queue import (
    FlowRate,
    QueueBoard,
    edge_bps,
    fill_probability,
    qty_ahead_of_new,
    queue_value_bps,
)
from shared.queue_position import QueueModel
from shared.schema import ClientOrderId, OrderSide
from tests.unit.services.strategy.mm.test_quote_book import BTC, ETH, T0, levels, trade

D = Decimal
STEP = D("0.001")
S_NS = 1_000_000_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL
OID = ClientOrderId("mm1-1-a")


def board(model: str = "risk-averse") -> QueueBoard:
    qb = QueueBoard(QueueModel(model), flow_tau_ns=10 * S_NS)  # type: ignore[arg-type]
    qb.on_book(levels([("100.0", "0.005")], [("100.2", "0.005")]))
    return qb


def test_join_behind_the_displayed_qty() -> None:
    qb = board()
    spot = qb.place(OID, BTC, BUY, D("100.0"), (D("0.002"), STEP))
    assert (spot.front, spot.own_lots) == (5, 2)


def test_trade_at_our_price_moves_us_up_then_reaches_us() -> None:
    qb = board()
    qb.place(OID, BTC, BUY, D("100.0"), (D("0.002"), STEP))
    assert qb.on_trade(trade("100.0", "0.003", SELL), T0) == {}
    assert qb.spots[OID].front == 2
    assert qb.on_trade(trade("100.0", "0.003", SELL), T0) == {OID: 1}
    assert qb.spots[OID].front == 0


def test_trade_through_our_price_clears_the_queue() -> None:
    qb = board()
    qb.place(OID, BTC, BUY, D("100.0"), (D("0.002"), STEP))
    assert qb.on_trade(trade("99.9", "0.001", SELL), T0) == {OID: 2}
    assert qb.on_trade(trade("99.9", "0.001", BUY), T0) == {}  # a buyer takes the asks
    assert qb.on_trade(trade("100.0", "0.001", SELL, symbol=ETH), T0) == {}


def test_level_shrink_moves_us_by_the_model_without_our_own_lots() -> None:
    averse, prob = board(), board("probabilistic")
    for qb in (averse, prob):
        qb.place(OID, BTC, BUY, D("100.0"), (D("0.002"), STEP))
        qb.on_book(levels([("100.0", "0.009")], [("100.2", "0.005")]))  # 5 ahead + 2 ours + 2
        qb.on_book(levels([("100.0", "0.006")], [("100.2", "0.005")]))  # 3 cancelled
    assert averse.spots[OID].front == 4  # min(5, 6 - 2)
    assert prob.spots[OID].front < 5


def test_size_decrease_keeps_the_place_a_new_price_rejoins() -> None:
    qb = board()
    qb.place(OID, BTC, BUY, D("100.0"), (D("0.002"), STEP))
    qb.spots[OID].front = 1
    qb.resize(OID, D("100.0"), D("0.001"))
    assert (qb.spots[OID].front, qb.spots[OID].own_lots) == (1, 1)
    qb.resize(OID, D("100.0"), D("0.003"))
    assert qb.spots[OID].front == 5  # a larger qty is a new place


def test_resize_of_an_unknown_spot_is_counted() -> None:
    qb = board()
    qb.resize(OID, D("100.0"), D("0.001"))
    assert qb.counters["resize_without_spot"] == 1


def test_fill_probability_and_value() -> None:
    assert fill_probability(0.0, 1.0, 5.0) == 1.0
    assert fill_probability(5.0, 1.0, 5.0) == math.exp(-1)
    assert fill_probability(1.0, 0.0, 5.0) == 0.0
    assert edge_bps(D("99"), D("100"), BUY) == 100.0
    assert edge_bps(D("99"), D("100"), SELL) == -100.0
    assert queue_value_bps(0.0, D("99"), D("100"), BUY, (1.0, 5.0)) == 100.0


def test_flow_rate_decays() -> None:
    flow = FlowRate(tau_ns=10 * S_NS)
    flow.observe(D(10), T0)
    assert flow.rate_qty_per_s(T0) == 1.0
    assert flow.rate_qty_per_s(T0 + 10 * S_NS) == math.exp(-1)


def test_qty_ahead_of_a_new_order_counts_its_level_and_better() -> None:
    book = levels([("100.0", "1"), ("99.9", "2"), ("99.8", "4")], []).bids
    assert qty_ahead_of_new(book, D("99.9"), BUY) == D(3)


@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.integers(0, 20), st.sampled_from(["100.0", "99.9"])),
        max_size=40,
    ),
    model=st.sampled_from(["risk-averse", "probabilistic"]),
)
def test_front_never_negative_never_above_the_level(
    steps: list[tuple[bool, int, str]], model: str
) -> None:
    qb = board(model)
    qb.place(OID, BTC, BUY, D("100.0"), (D("0.002"), STEP))
    for is_trade, lots, price in steps:
        spot = qb.spots[OID]
        front_before = spot.front
        if is_trade:
            reached = qb.on_trade(trade(price, str(lots * STEP), SELL), T0)
            through = price != "100.0"
            assert (OID in reached) == (through or lots > front_before)
        else:
            qb.on_book(levels([("100.0", str(lots * STEP))], [("100.2", "0.005")]))
            assert spot.front <= max(0, lots - spot.own_lots)
        assert spot.front >= 0
