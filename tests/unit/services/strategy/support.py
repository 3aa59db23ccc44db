"""Builders for the strategy's unit tests: settings, rules, market data, executor events."""

from decimal import Decimal
from typing import Any

from services.strategy.api import Output, Resync, Transition
from services.strategy.machine import MomentumScalper
from services.strategy.settings import StrategySettings
from shared.bybit.translate import InstrumentRules
from shared.schema import (
    Alert,
    CancelOrder,
    ExecutionSnapshot,
    FeedReady,
    OpenOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    Position,
    PositionChanged,
    Quote,
    SubmitOrder,
    Symbol,
    Trade,
    TradingState,
    TradingStateChanged,
    UniverseChanged,
    VenueOrderId,
)

D = Decimal
T0 = 1_700_000_000 * 1_000_000_000
MS = 1_000_000
S_NS = 1_000_000_000
BTC = Symbol("BTCUSDT")
ETH = Symbol("ETHUSDT")
VOID = VenueOrderId("v1")


def make_settings(**overrides: Any) -> StrategySettings:
    """Settings for tests: 150 USDT at about 50100 sizes to 0.002 BTC."""
    return StrategySettings(metrics_port=9103, **{"order_notional_usdt": 150.0, **overrides})


def make_rules(symbol: str = "BTCUSDT") -> InstrumentRules:
    return InstrumentRules(
        symbol=symbol,
        tick_size=D("0.1"),
        qty_step=D("0.001"),
        min_qty=D("0.001"),
        max_qty=D("100"),
        max_mkt_qty=D("50"),
        min_notional=D("5"),
    )


def quote(
    bid: str,
    ask: str,
    ts: int,
    *,
    symbol: Symbol = BTC,
    epoch: int = 1,
    bid_qty: str = "1",
    ask_qty: str = "1",
    trace_id: str = "",
) -> Quote:
    return Quote(
        symbol=symbol,
        epoch=epoch,
        bid_price=D(bid),
        bid_qty=D(bid_qty),
        ask_price=D(ask),
        ask_qty=D(ask_qty),
        venue_update_id=1,
        ts_event_ns=ts - MS,
        ts_recv_ns=ts,
        trace_id=trace_id,
    )


def trade(price: str, ts: int, *, symbol: Symbol = BTC, epoch: int = 1, qty: str = "0.01") -> Trade:
    return Trade(
        symbol=symbol,
        epoch=epoch,
        price=D(price),
        qty=D(qty),
        taker_side=OrderSide.BUY,
        trade_id="t",
        ts_event_ns=ts - MS,
        ts_recv_ns=ts,
    )


def universe(symbol: Symbol, epoch: int, ts: int = T0) -> UniverseChanged:
    return UniverseChanged(symbol=symbol, epoch=epoch, ranking=(), reason="test", ts_event_ns=ts)


def feed_ready(symbol: Symbol, epoch: int, ts: int = T0) -> FeedReady:
    return FeedReady(symbol=symbol, epoch=epoch, ts_event_ns=ts)


def snapshot(
    positions: tuple[Position, ...] = (),
    orders: tuple[OpenOrder, ...] = (),
    *,
    state: TradingState = TradingState.ACTIVE,
    reconciled: bool = True,
) -> ExecutionSnapshot:
    return ExecutionSnapshot(
        open_orders=orders,
        positions=positions,
        trading_state=state,
        reconciled=reconciled,
        ts_event_ns=T0,
    )


def position(symbol: Symbol, qty: str, price: str) -> Position:
    return Position(
        symbol=symbol, qty=D(qty), avg_entry_price=D(price), unrealised_pnl=D(0), realised_pnl=D(0)
    )


def position_changed(symbol: Symbol, qty: str, price: str, ts: int = T0) -> PositionChanged:
    return PositionChanged(
        symbol=symbol,
        qty=D(qty),
        avg_entry_price=D(price),
        unrealised_pnl=D(0),
        realised_pnl=D(0),
        ts_event_ns=ts,
    )


def open_order(cmd: SubmitOrder, cum: str = "0") -> OpenOrder:
    return OpenOrder(
        client_order_id=cmd.client_order_id,
        venue_order_id=VOID,
        strategy_id=cmd.strategy_id,
        symbol=cmd.symbol,
        side=cmd.side,
        order_type=cmd.order_type,
        time_in_force=cmd.time_in_force,
        qty=cmd.qty,
        limit_price=cmd.limit_price,
        cum_filled_qty=D(cum),
        status=OrderStatus.ACCEPTED,
        reduce_only=cmd.reduce_only,
    )


def fill(
    cmd: SubmitOrder,
    qty: str,
    price: str,
    *,
    cum: str | None = None,
    final: bool = True,
    fee: str = "0",
    exec_id: str = "e1",
) -> OrderFilled | OrderPartiallyFilled:
    cum_qty = D(cum) if cum is not None else D(qty)
    kind = OrderFilled if final else OrderPartiallyFilled
    return kind(
        client_order_id=cmd.client_order_id,
        venue_order_id=VOID,
        strategy_id=cmd.strategy_id,
        symbol=cmd.symbol,
        side=cmd.side,
        exec_id=exec_id,
        fill_qty=D(qty),
        fill_price=D(price),
        cum_filled_qty=cum_qty,
        leaves_qty=cmd.qty - cum_qty,
        fee=D(fee),
        is_maker=False,
        ts_event_ns=T0,
        ts_trigger_recv_ns=cmd.ts_trigger_recv_ns,
        ts_request_sent_ns=T0,
        ts_ack_ns=T0,
    )


def accepted(cmd: SubmitOrder) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=cmd.client_order_id,
        venue_order_id=VOID,
        strategy_id=cmd.strategy_id,
        symbol=cmd.symbol,
        ts_event_ns=T0,
        ts_trigger_recv_ns=T0,
        ts_request_sent_ns=T0,
        ts_ack_ns=T0,
    )


def canceled(cmd: SubmitOrder, cum: str = "0") -> OrderCanceled:
    return OrderCanceled(
        client_order_id=cmd.client_order_id,
        venue_order_id=VOID,
        strategy_id=cmd.strategy_id,
        symbol=cmd.symbol,
        cum_filled_qty=D(cum),
        reason="test",
        ts_event_ns=T0,
    )


def rejected(cmd: SubmitOrder) -> OrderRejected:
    return OrderRejected(
        client_order_id=cmd.client_order_id,
        strategy_id=cmd.strategy_id,
        symbol=cmd.symbol,
        reason="no",
        venue_code=110007,
        ts_event_ns=T0,
    )


def denied(cmd: SubmitOrder, kind: str = "SubmitOrder") -> OrderDenied:
    return OrderDenied(
        client_order_id=cmd.client_order_id,
        strategy_id=cmd.strategy_id,
        command_kind=kind,
        reason="risk",
        ts_event_ns=T0,
    )


def trading_state(state: TradingState) -> TradingStateChanged:
    return TradingStateChanged(state=state, reason="test", ts_event_ns=T0)


def ready_machine(**overrides: Any) -> MomentumScalper:
    """A scalper in Idle on BTCUSDT epoch 1, with rules, after a flat reconciled snapshot."""
    machine = MomentumScalper(make_settings(**overrides))
    machine.set_rules(make_rules("BTCUSDT"))
    machine.set_rules(make_rules("ETHUSDT"))
    machine.on_message(universe(BTC, 1), T0)
    machine.on_message(feed_ready(BTC, 1), T0)
    machine.on_message(snapshot(), T0)
    assert machine.state == "Idle"
    return machine


def feed_signal(
    machine: MomentumScalper,
    ts: int,
    *,
    last: str = "50100",
    bid: str = "50099.9",
    ask: str = "50100",
    symbol: Symbol = BTC,
    epoch: int = 1,
    **quote_kw: str,
) -> list[Output]:
    """Nineteen trades at 50000 and one at `last`, then a quote; return all outputs."""
    out: list[Output] = []
    for i in range(19):
        out += machine.on_message(trade("50000", ts, symbol=symbol, epoch=epoch), ts + i)
    out += machine.on_message(trade(last, ts, symbol=symbol, epoch=epoch), ts)
    out += machine.on_message(quote(bid, ask, ts, symbol=symbol, epoch=epoch, **quote_kw), ts)
    return out


def submits(outputs: list[Output]) -> list[SubmitOrder]:
    return [o for o in outputs if isinstance(o, SubmitOrder)]


def cancels(outputs: list[Output]) -> list[CancelOrder]:
    return [o for o in outputs if isinstance(o, CancelOrder)]


def alerts(outputs: list[Output]) -> list[Alert]:
    return [o for o in outputs if isinstance(o, Alert)]


def resyncs(outputs: list[Output]) -> list[tuple[str, ...]]:
    return [o.peers for o in outputs if isinstance(o, Resync)]


def transitions(outputs: list[Output]) -> list[tuple[str, str]]:
    return [(o.from_state, o.to_state) for o in outputs if isinstance(o, Transition)]


def enter_long(machine: MomentumScalper, ts: int = T0) -> SubmitOrder:
    """Drive an Idle machine to a filled long of 0.002 at 50100; return the entry command."""
    (entry,) = submits(feed_signal(machine, ts))
    machine.on_message(fill(entry, str(entry.qty), "50100"), ts + MS)
    assert machine.state == "PositionOpen"
    return entry
