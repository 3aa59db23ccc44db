"""Bad venue reports through the executor's real entry points (the private stream's frames,
the REST answers of reconciliation and of the guard): counted, alerted, never journaled nor
published. And a bad fill already in the journal never poisons the replay at start."""

import asyncio
import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from services.executor.guard import Guard
from services.executor.order_budget import StrategyRateLimits
from services.executor.order_state import OrderRecord
from services.executor.ports import Parts
from services.executor.prices import PriceRefresh
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.settings import ExecutorSettings
from services.executor.venue_calls import VenueCalls
from services.executor.venue_events import VenueEvents
from shared.bybit import wire
from shared.bybit.stream import StreamFrame
from shared.runtime.breaker import Breakers
from shared.runtime.clock import FakeClock
from shared.schema import (
    Alert,
    BalanceChanged,
    OrderFilled,
    OrderPartiallyFilled,
    PositionChanged,
    Symbol,
)
from tests.helpers.executor_parts import RecordingPublisher, events_with_a_working_order, make_parts
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.journal_writer import write_fill_row
from tests.helpers.samples import BTCUSDT_RULES, COID, make_submit

D = Decimal
BTC = Symbol("BTCUSDT")
BAD_FILLS = [
    pytest.param({"execPrice": "0"}, "fill_not_positive", id="price-0"),
    pytest.param({"execPrice": "-95900.1"}, "fill_not_positive", id="price-negative"),
    pytest.param({"execPrice": "NaN"}, "fill_not_finite", id="price-nan"),
    pytest.param({"execFee": "NaN"}, "fill_not_finite", id="fee-nan"),
    pytest.param({"execFee": "Infinity"}, "fill_not_finite", id="fee-infinity"),
    pytest.param({"execQty": "0"}, "fill_not_positive", id="qty-0"),
]


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def _execution_frame(**changes: str) -> bytes:
    frame = _fixture("ws_private_execution_linear_docexample.json")
    fields = {"orderLinkId": COID, "orderId": "v1", "execQty": "0.001", "execPrice": "64000.1"}
    frame["data"][0].update(fields | changes)
    return json.dumps(frame).encode()


def _count(path: Path, sql: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute(sql).fetchone()[0])


def _alerts(publisher: RecordingPublisher) -> list[Alert]:
    return [m for m in publisher.sent if isinstance(m, Alert)]


def _assert_refused_fill(
    parts: Parts, publisher: RecordingPublisher, tmp_path: Path, counter: str
) -> None:
    assert parts.counters[f"refused_{counter}"] == 1
    (alert,) = _alerts(publisher)
    assert (alert.source, alert.code) == ("executor", "invalid_venue_report")
    assert not [m for m in publisher.sent if isinstance(m, OrderFilled | OrderPartiallyFilled)]
    assert _count(tmp_path / "journal.sqlite", "SELECT count(*) FROM fills") == 0
    record = parts.registry.get(COID)
    assert record is not None
    assert record.cum_filled_qty == 0
    assert not parts.registry.exec_ids


@pytest.mark.parametrize(("changes", "counter"), BAD_FILLS)
def test_a_bad_fill_on_the_stream_is_counted_alerted_and_not_journaled(
    tmp_path: Path, changes: dict[str, str], counter: str
) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)

    events.on_frame(StreamFrame(_execution_frame(**changes), 1))

    _assert_refused_fill(parts, publisher, tmp_path, counter)


@pytest.mark.parametrize(("changes", "counter"), BAD_FILLS)
def test_a_bad_fill_from_rest_reconciliation_is_counted_alerted_and_not_journaled(
    tmp_path: Path, changes: dict[str, str], counter: str
) -> None:
    listed = msgspec.json.decode(
        _execution_frame(**changes), type=wire.PrivateMessage[wire.Execution]
    )
    events, parts, publisher = events_with_a_working_order(tmp_path, _Rest(executions=listed.data))

    asyncio.run(ReconcileRunner(parts, _Flow(), events).poll())  # type: ignore[arg-type]

    assert parts.counters[f"refused_{counter}"] == 1
    assert "invalid_venue_report" in [a.code for a in _alerts(publisher)]
    assert not [m for m in publisher.sent if isinstance(m, OrderFilled | OrderPartiallyFilled)]
    assert _count(tmp_path / "journal.sqlite", "SELECT count(*) FROM fills") == 0


def test_a_good_fill_is_still_journaled_and_published(tmp_path: Path) -> None:
    events, _, publisher = events_with_a_working_order(tmp_path)

    events.on_frame(StreamFrame(_execution_frame(execFee="-0.0001"), 1))  # a maker rebate

    assert [type(m) for m in publisher.sent] == [OrderPartiallyFilled]
    assert _count(tmp_path / "journal.sqlite", "SELECT count(*) FROM fills") == 1


def test_a_fill_off_the_instruments_grid_is_refused_where_the_rules_are_known(
    tmp_path: Path,
) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)
    rules = BTCUSDT_RULES
    events.checks.grid_of = lambda symbol: rules if symbol == BTC else None

    events.on_frame(StreamFrame(_execution_frame(execPrice="64000.15"), 1))

    _assert_refused_fill(parts, publisher, tmp_path, "fill_off_tick")


def test_a_refused_fill_asked_again_is_counted_again_but_alerted_once(tmp_path: Path) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)
    frame = StreamFrame(_execution_frame(execPrice="NaN"), 1)
    other = StreamFrame(_execution_frame(execPrice="0", execId="other"), 2)

    for _ in range(3):  # e.g. REST polling while the stream is down
        events.on_frame(frame)
    events.on_frame(other)

    assert parts.counters["refused_fill_not_finite"] == 3
    assert parts.counters["refused_fill_not_positive"] == 1
    assert parts.counters["refusal_alerts_held"] == 2
    assert len(_alerts(publisher)) == 2  # one per exec id


def test_other_refusals_are_alerted_at_most_once_per_kind_every_10_s(tmp_path: Path) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)
    clock = parts.clock
    assert isinstance(clock, FakeClock)
    frame = StreamFrame(_wallet_frame(totalEquity="Infinity"), 1)

    for _ in range(12):
        events.on_frame(frame)
        clock.advance(1_000_000_000)

    assert parts.counters["refused_wallet_not_finite"] == 12
    assert len(_alerts(publisher)) == 2  # at 0 s and at 10 s
    assert parts.counters["refusal_alerts_held"] == 10


def _wallet_frame(**changes: str) -> bytes:
    frame = _fixture("ws_private_wallet.json")
    frame["data"][0].update(changes)
    return json.dumps(frame).encode()


def test_a_wallet_with_infinite_equity_is_counted_alerted_and_not_published(
    tmp_path: Path,
) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)
    frame = _fixture("ws_private_wallet.json")
    frame["data"][0]["coin"][0]["equity"] = "Infinity"

    events.on_frame(StreamFrame(json.dumps(frame).encode(), 1))
    events.on_frame(StreamFrame(_wallet_frame(totalEquity="Infinity"), 2))

    assert not [m for m in publisher.sent if isinstance(m, BalanceChanged)]
    assert parts.counters["refused_wallet_not_finite"] == 2
    assert [a.code for a in _alerts(publisher)] == ["invalid_venue_report"]  # one per 10 s
    assert parts.counters["refusal_alerts_held"] == 1
    events.on_frame(StreamFrame(_wallet_frame(), 3))  # a good one is published
    assert [m for m in publisher.sent if isinstance(m, BalanceChanged)]


def test_the_guard_neither_journals_nor_halts_on_an_infinite_rest_equity(tmp_path: Path) -> None:
    raw = (FIXTURES / "rest_account_wallet_balance_response_docexample.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    (wallet,) = msgspec.json.decode(result, type=wire.WalletList).list
    rest = _Rest(wallet=msgspec.structs.replace(wallet, total_equity="Infinity"))
    events, parts, publisher = events_with_a_working_order(tmp_path, rest)
    settings = ExecutorSettings(metrics_port=1)
    guard = Guard(parts, settings, None, events, None, None)  # type: ignore[arg-type]

    asyncio.run(guard._check_daily_loss(parts.clock.now_ns()))

    assert guard.equity_usdt is None  # unknown, not zero nor infinite
    assert _count(tmp_path / "journal.sqlite", "SELECT count(*) FROM day_start_equity") == 0
    assert parts.counters["refused_wallet_not_finite"] == 1
    assert [a.code for a in _alerts(publisher)] == ["invalid_venue_report"]


def _position_frame(size: str) -> bytes:
    frame = _fixture("ws_private_position_linear_docexample.json")
    frame["data"][0].update(size=size, side="Buy", positionIdx=0, entryPrice="64000")
    return json.dumps(frame).encode()


def test_a_position_of_nan_size_is_counted_alerted_and_not_published(tmp_path: Path) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)
    events.on_frame(StreamFrame(_position_frame("0.002"), 1))

    events.on_frame(StreamFrame(_position_frame("NaN"), 2))

    assert [m.qty for m in publisher.sent if isinstance(m, PositionChanged)] == [D("0.002")]
    assert parts.registry.positions[BTC].qty == D("0.002")  # as before: unknown is not flat
    assert parts.counters["refused_position_not_finite"] == 1
    assert [a.code for a in _alerts(publisher)] == ["invalid_venue_report"]


def test_a_listed_position_of_nan_size_leaves_the_position_alone(tmp_path: Path) -> None:
    raw = (FIXTURES / "rest_position_list_response_docexample.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    info = msgspec.json.decode(result, type=wire.PositionList).list[0]
    listed = msgspec.structs.replace(info, symbol=BTC, size=D("NaN"), side="Buy", seq=200)
    events, parts, publisher = events_with_a_working_order(tmp_path, _Rest(positions=[listed]))
    events.on_frame(StreamFrame(_position_frame("0.002"), 1))

    asyncio.run(ReconcileRunner(parts, _Flow(), events).poll())  # type: ignore[arg-type]

    assert parts.registry.positions[BTC].qty == D("0.002")  # not NaN, not zeroed
    assert parts.counters["refused_position_not_finite"] == 1
    assert "position_mismatch" not in [a.code for a in _alerts(publisher)]


def test_a_ticker_with_a_nan_last_price_leaves_the_price_unknown(tmp_path: Path) -> None:
    raw = (FIXTURES / "rest_market_tickers_linear.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    ticker = msgspec.json.decode(result, type=wire.TickerList).list[0]
    bad = msgspec.structs.replace(ticker, symbol=BTC, last_price=D("NaN"))
    events, parts, publisher = events_with_a_working_order(tmp_path, _Rest(tickers=[bad]))
    calls = VenueCalls(parts, Breakers(), StrategyRateLimits(), max_in_flight=8)
    prices = PriceRefresh(parts, calls, events.checks, lambda: [BTC], max_age_s=5.0)

    asyncio.run(prices.refresh())

    # Unknown: a new order is denied (price_stale), never valued at NaN.
    assert parts.registry.price(BTC, parts.clock.now_ns(), 10**12) is None
    assert parts.counters["refused_ticker_not_finite"] == 1
    assert [a.code for a in _alerts(publisher)] == ["invalid_venue_report"]


class _Flow:
    """The venue knows no order by our id (the one left working is asked for)."""

    async def query(self, symbol: str, order_link_id: str) -> None:
        return None

    def resend_unknown(self, record: OrderRecord) -> None:
        return None


class _Rest:
    """Answers the reconciliation's and the guard's reads."""

    def __init__(
        self,
        executions: list[wire.Execution] | None = None,
        positions: list[wire.PositionInfo] | None = None,
        wallet: wire.Wallet | None = None,
        tickers: list[wire.Ticker] | None = None,
    ) -> None:
        self._executions = executions or []
        self._tickers = tickers or []
        self._positions = positions or []
        self._wallet = wallet

    async def open_orders(self) -> list[wire.Order]:
        return []

    async def executions(self) -> list[wire.Execution]:
        return self._executions

    async def positions(self) -> list[wire.PositionInfo]:
        return self._positions

    async def tickers(self, symbol: str) -> list[wire.Ticker]:
        return self._tickers

    async def wallet_balance(self) -> wire.Wallet:
        assert self._wallet is not None
        return self._wallet


# ---------------------------------------------------------------- the journal at start

BAD_ROWS = [
    pytest.param("0.001", "0", "0.01", "not_positive", id="price-0"),
    pytest.param("0.001", "-64000.1", "0.01", "not_positive", id="price-negative"),
    pytest.param("0.001", "NaN", "0.01", "not_finite", id="price-nan"),
    pytest.param("0.001", "64000.1", "NaN", "not_finite", id="fee-nan"),
    pytest.param("0.001", "64000.1", "Infinity", "not_finite", id="fee-infinity"),
    pytest.param("0", "64000.1", "0.01", "not_positive", id="qty-0"),
    pytest.param("0.001", "sixty", "0.01", "not_a_number", id="price-text"),
    pytest.param("100", "64000.1", "0.01", "impossible", id="beyond-the-order-qty"),
]


@pytest.mark.parametrize(("qty", "price", "fee", "defect"), BAD_ROWS)
def test_a_bad_journaled_fill_is_quarantined_at_start_and_never_replayed(
    tmp_path: Path, qty: str, price: str, fee: str, defect: str
) -> None:
    first, _, _ = make_parts(tmp_path)
    first.journal.record_intent(make_submit(), 1, sent_ns=1)
    first.journal.close()
    path = tmp_path / "journal.sqlite"
    write_fill_row(path, COID, "good", "0.001", "64000.1", "-0.001")
    write_fill_row(path, COID, "bad", qty, price, fee)

    for restart in range(2):  # and again: the bad row is gone, nothing more to quarantine
        parts, publisher, _ = make_parts(tmp_path)
        ReconcileRunner(parts, None, VenueEvents(parts)).restore_from_journal()  # type: ignore[arg-type]

        record = parts.registry.get(COID)
        assert record is not None
        assert record.cum_filled_qty == D("0.001")  # the good fill only
        assert parts.registry.exec_ids == {"good"}  # "bad" may come again, good, from the venue
        alerts = [a.code for a in _alerts(publisher)]
        assert alerts == (["journal_fill_quarantined"] if restart == 0 else [])
        assert parts.counters[f"quarantined_fill_{defect}"] == (1 if restart == 0 else 0)
        parts.journal.close()
    assert _count(path, "SELECT count(*) FROM quarantined_fills WHERE exec_id = 'bad'") == 1
    assert _count(path, "SELECT count(*) FROM fills") == 1
