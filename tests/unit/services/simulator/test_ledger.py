"""The ledger (transaction rows, closed PnL per closing order) and the history helpers."""

from decimal import Decimal
from typing import Any

import pytest

from services.simulator.ledger import FillRecord, Ledger, time_window
from services.simulator.venue import ExchangeConfig, Venue, VenueError
from services.simulator.venue.market_more import stamps
from shared.bybit import wire, wire_more

D = Decimal
T0 = 1_780_000_000_000
DAY = 86_400_000


def fill(order: str, is_buy: bool, price: str, qty: str, fee: str, **fields: Any) -> FillRecord:
    values: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "order_id": order,
        "order_link_id": "",
        "exec_id": f"e-{order}",
        "is_buy": is_buy,
        "price": D(price),
        "qty": D(qty),
        "fee": D(fee),
        "fee_rate": "0.001",
        "closed_size": D(0),
        "closed_pnl": D(0),
        "size_after": D(0),
        "wallet_after": D(0),
        "time_ms": T0,
    }
    values.update(fields)
    return FillRecord(**values)


def test_a_partial_close_takes_its_share_of_the_open_fee_and_a_flip_opens_anew() -> None:
    ledger = Ledger()
    ledger.record_fill(fill("open", True, "100", "2", "0.2", size_after=D(2)))
    # sell 3 at 110: closes 2 (pnl 20), opens a short of 1; fee 0.33, of which 0.22 closes
    ledger.record_fill(
        fill(
            "flip",
            False,
            "110",
            "3",
            "0.33",
            closed_size=D(2),
            closed_pnl=D(20),
            size_after=D(-1),
            time_ms=T0 + 1,
        )
    )
    row = ledger.closed["flip"]
    assert (row.closed_size, row.entry_value, row.exit_value) == (D(2), D(200), D(220))
    assert (row.open_fee, row.close_fee) == (D("0.2"), D("0.22"))
    assert row.closed_pnl == D("19.58")
    assert ledger.open_fees["BTCUSDT"] == D("0.11")  # the short's own opening fee
    # buy 1 back at 105 in two fills of one order: pnl 5 in all, half the open fee each
    for n, t in enumerate((T0 + 2, T0 + 3)):
        ledger.record_fill(
            fill(
                "cover",
                True,
                "105",
                "0.5",
                "0.0525",
                closed_size=D("0.5"),
                closed_pnl=D("2.5"),
                size_after=D("-0.5") if n == 0 else D(0),
                time_ms=t,
            )
        )
    cover = ledger.closed["cover"]
    assert (cover.fills, cover.created_ms, cover.updated_ms) == (2, T0 + 2, T0 + 3)
    assert (cover.entry_value, cover.exit_value, cover.gross_pnl) == (D(110), D(105), D(5))
    assert (cover.open_fee, cover.close_fee) == (D("0.11"), D("0.105"))
    assert ledger.open_fees["BTCUSDT"] == 0
    assert len(ledger.fills) == 4


def test_the_time_window_follows_bybit() -> None:
    assert time_window(None, None, T0, 7 * DAY) == (T0 - 7 * DAY, T0)
    assert time_window(T0, None, T0 + 5, DAY) == (T0, T0 + DAY)
    assert time_window(None, T0, T0 + 5, DAY) == (T0 - DAY, T0)
    assert time_window(T0, T0 + DAY, T0, DAY) == (T0, T0 + DAY)
    with pytest.raises(ValueError, match="startTime and endTime"):
        time_window(T0, T0 + DAY + 1, T0, DAY)
    with pytest.raises(ValueError, match="startTime and endTime"):
        time_window(T0, T0 - 1, T0, DAY)


def test_stamps_are_interval_multiples_newest_first() -> None:
    assert stamps(10, None, 35, 3) == [30, 20, 10]
    assert stamps(10, 15, 35, 9) == [30, 20]
    assert stamps(10, None, 5, 3) == [0]


def quiet() -> Venue:
    config = ExchangeConfig(
        seed=3,
        symbols=("BTCUSDT",),
        history_minutes=120,
        volatility_scale=0.0,
        trade_rate_scale=0.0,
    )
    return Venue(config, T0)


def test_a_batch_runs_every_item_and_reports_each_outcome() -> None:
    v = quiet()
    bids, _ = v.book_top("BTCUSDT", 1)
    price = str(bids[0][0] - 100)
    good = wire.OrderCreateRequest(
        symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.010", price=price
    )
    dup = wire.OrderCreateRequest(
        symbol="BTCUSDT",
        side="Buy",
        order_type="Limit",
        qty="0.010",
        price=price,
        order_link_id="x",
    )
    out = v.create_batch("a", "linear", [good, dup, dup, VenueError(10001, "bad")], T0 + 100)
    assert [s.code for s in out.statuses] == [0, 0, 110072, 10001]
    assert [bool(i.order_id) for i in out.items] == [True, True, False, False]
    assert isinstance(out.items[2], wire_more.BatchCreateItem)
    assert out.items[2].order_link_id == "x"
    assert out.items[2].create_at == ""
    assert len(v.orders("a")) == 2
    with pytest.raises(VenueError) as refused:
        v.cancel_batch("a", "linear", [], T0 + 200)
    assert refused.value.code == 10001
    with pytest.raises(VenueError):
        v.cancel_batch("a", "spot", [wire.OrderCancelRequest(symbol="BTCUSDT")], T0 + 200)


def test_switching_to_hedge_with_a_position_is_refused_as_bybit_does() -> None:
    v = quiet()
    v.submit(
        "a",
        wire.OrderCreateRequest(symbol="BTCUSDT", side="Buy", order_type="Market", qty="0.010"),
        T0 + 100,
    )
    with pytest.raises(VenueError) as refused:
        v.switch_mode("a", wire_more.SwitchModeRequest(symbol="BTCUSDT", mode=3), T0 + 200)
    assert refused.value.code == 110024
    assert [t.size for t in v.transaction_log("a")] == ["0.010"]
