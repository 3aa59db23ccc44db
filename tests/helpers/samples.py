"""One fixed sample of every bus message kind (the golden files are made from these)."""

from decimal import Decimal

from shared.bybit.translate import InstrumentRules
from shared.schema import (
    Alert,
    AlertSeverity,
    AmendOrder,
    AmendOrders,
    BalanceChanged,
    BookLevel,
    BookLevels,
    BusMessage,
    CancelAllOrders,
    CancelOrder,
    CancelOrders,
    ClientOrderId,
    ClosePosition,
    ExecutionSnapshot,
    FeedReady,
    FeedState,
    FeedStatus,
    Heartbeat,
    InstrumentRulesChanged,
    MarketMakingCandidate,
    MarketMakingUniverse,
    OpenOrder,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionChanged,
    Quote,
    RankedSymbol,
    RequestSnapshot,
    ServiceState,
    ServiceStatus,
    SetTradingState,
    SnapshotEnd,
    SnapshotRequest,
    StrategyStatus,
    SubmitOrder,
    SubmitOrders,
    Symbol,
    TimeInForce,
    Trade,
    TradingState,
    TradingStateChanged,
    UniverseChanged,
    VenueFrame,
    VenueFrames,
    VenueOrderId,
)

T = 1_763_700_000_000_000_000
SYM = Symbol("BTCUSDT")
COID = ClientOrderId("mom1-3-17")
VOID = VenueOrderId("1321003749386327552")
TRACE = "mj4k2x9a-1842"  # a feed frame's trace id: "<feed start, ms base 36>-<frame no>"
D = Decimal
# BTCUSDT's grid and limits, as the simulator lists it (tick 0.1, step 0.001).
BTCUSDT_RULES = InstrumentRules(
    symbol="BTCUSDT",
    tick_size=D("0.1"),
    qty_step=D("0.001"),
    min_qty=D("0.001"),
    max_qty=D("100"),
    max_mkt_qty=D("100"),
    min_notional=D("5"),
)


def make_quote(
    symbol: str = "BTCUSDT", bid: str = "64000.1", seq: int = 1, trace_id: str = ""
) -> Quote:
    return Quote(
        symbol=Symbol(symbol),
        epoch=3,
        bid_price=D(bid),
        bid_qty=D("1.25"),
        ask_price=D(bid) + D("0.1"),
        ask_qty=D("0.5"),
        venue_update_id=seq,
        ts_event_ns=T,
        ts_recv_ns=T + 1_500_000,
        trace_id=trace_id,
    )


def make_submit(expires_at_ns: int = T + 2_000_000_000, trace_id: str = "") -> SubmitOrder:
    return SubmitOrder(
        client_order_id=COID,
        strategy_id="mom1",
        epoch=3,
        symbol=SYM,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY,
        qty=D("0.002"),
        limit_price=D("64000.1"),
        ts_created_ns=T,
        expires_at_ns=expires_at_ns,
        ts_trigger_recv_ns=T - 50_000,
        ts_trigger_event_ns=T - 2_000_000,
        trace_id=trace_id,
    )


_FILL = {
    "client_order_id": COID,
    "venue_order_id": VOID,
    "strategy_id": "mom1",
    "symbol": SYM,
    "side": OrderSide.BUY,
    "exec_id": "e0b8a1f5-6f4d-4b1f-9d3a-000000000001",
    "fill_qty": D("0.001"),
    "fill_price": D("64000.1"),
    "cum_filled_qty": D("0.001"),
    "leaves_qty": D("0.001"),
    "fee": D("0.0128"),
    "is_maker": True,
    "ts_event_ns": T,
    "ts_trigger_recv_ns": T - 50_000,
    "ts_request_sent_ns": T - 30_000,
    "ts_ack_ns": T - 10_000,
    "trace_id": TRACE,
}

SAMPLES: dict[str, BusMessage] = {
    "Quote": make_quote(trace_id=TRACE),
    "Trade": Trade(
        symbol=SYM,
        epoch=3,
        price=D("64000.2"),
        qty=D("0.01"),
        taker_side=OrderSide.SELL,
        trade_id="a1b2",
        ts_event_ns=T,
        ts_recv_ns=T + 1,
        trace_id=TRACE,
    ),
    "BookLevels": BookLevels(
        symbol=SYM,
        epoch=3,
        bids=(BookLevel(price=D("64000.1"), qty=D("1")),),
        asks=(BookLevel(price=D("64000.2"), qty=D("2")),),
        venue_update_id=9,
        ts_event_ns=T,
        ts_recv_ns=T + 1,
        trace_id=TRACE,
    ),
    "FeedStatus": FeedStatus(
        symbol=SYM, epoch=3, state=FeedState.RESYNCING, reason="u gap", ts_event_ns=T
    ),
    "FeedReady": FeedReady(symbol=SYM, epoch=3, ts_event_ns=T),
    "UniverseChanged": UniverseChanged(
        symbol=SYM,
        epoch=3,
        ranking=(
            RankedSymbol(
                symbol=SYM,
                score=1.5e9,
                turnover_24h=D("3000000000"),
                price_24h_pcnt=D("0.05"),
                boost=1.0,
                last_price=D("64000"),
            ),
        ),
        reason="score above hysteresis",
        ts_event_ns=T,
    ),
    "SubmitOrder": make_submit(trace_id=TRACE),
    "CancelOrder": CancelOrder(
        client_order_id=COID,
        strategy_id="mom1",
        symbol=SYM,
        ts_created_ns=T,
        expires_at_ns=T + 1,
        trace_id=TRACE,
    ),
    "AmendOrder": AmendOrder(
        client_order_id=COID,
        strategy_id="mom1",
        symbol=SYM,
        limit_price=D("64000.5"),
        ts_created_ns=T,
        expires_at_ns=T + 1,
        trace_id=TRACE,
    ),
    "CancelAllOrders": CancelAllOrders(
        strategy_id="mom1",
        symbol=SYM,
        reason="switch",
        ts_created_ns=T,
        expires_at_ns=T + 1,
        trace_id=TRACE,
    ),
    "ClosePosition": ClosePosition(
        strategy_id="mom1",
        symbol=SYM,
        reason="halt",
        ts_created_ns=T,
        expires_at_ns=T + 1,
        trace_id=TRACE,
    ),
    "SetTradingState": SetTradingState(
        state=TradingState.HALTED, reason="operator", ts_created_ns=T, expires_at_ns=T + 1
    ),
    "RequestSnapshot": RequestSnapshot(strategy_id="mom1", ts_created_ns=T, expires_at_ns=T + 1),
    "SubmitOrders": SubmitOrders(
        strategy_id="mom1", orders=(make_submit(),), ts_created_ns=T, expires_at_ns=T + 1
    ),
    "AmendOrders": AmendOrders(
        strategy_id="mom1",
        amends=(
            AmendOrder(
                client_order_id=COID,
                strategy_id="mom1",
                symbol=SYM,
                qty=D("0.002"),
                ts_created_ns=T,
                expires_at_ns=T + 1,
            ),
        ),
        ts_created_ns=T,
        expires_at_ns=T + 1,
    ),
    "CancelOrders": CancelOrders(
        strategy_id="mom1",
        cancels=(
            CancelOrder(
                client_order_id=COID,
                strategy_id="mom1",
                symbol=SYM,
                ts_created_ns=T,
                expires_at_ns=T + 1,
            ),
        ),
        ts_created_ns=T,
        expires_at_ns=T + 1,
    ),
    "OrderAccepted": OrderAccepted(
        client_order_id=COID,
        venue_order_id=VOID,
        strategy_id="mom1",
        symbol=SYM,
        ts_event_ns=T,
        ts_trigger_recv_ns=T - 50_000,
        ts_request_sent_ns=T - 30_000,
        ts_ack_ns=T - 10_000,
        trace_id=TRACE,
    ),
    "OrderAmended": OrderAmended(
        client_order_id=COID,
        venue_order_id=VOID,
        strategy_id="mom1",
        symbol=SYM,
        qty=D("0.002"),
        limit_price=D("64000.5"),
        ts_event_ns=T,
        ts_command_recv_ns=T - 60_000,
        ts_request_sent_ns=T - 30_000,
        ts_ack_ns=T - 10_000,
        trace_id="mj4k2x9a-1842",
    ),
    "OrderRejected": OrderRejected(
        client_order_id=COID,
        strategy_id="mom1",
        symbol=SYM,
        reason="Order does not meet minimum order value 5USDT",
        venue_code=110094,
        ts_event_ns=T,
        trace_id=TRACE,
    ),
    "OrderDenied": OrderDenied(
        client_order_id=COID,
        strategy_id="mom1",
        command_kind="SubmitOrder",
        reason="notional 1500 exceeds max_order_notional 1000",
        ts_event_ns=T,
        trace_id=TRACE,
    ),
    "OrderPartiallyFilled": OrderPartiallyFilled(**_FILL),
    "OrderFilled": OrderFilled(**{**_FILL, "leaves_qty": D("0"), "cum_filled_qty": D("0.002")}),
    "OrderCanceled": OrderCanceled(
        client_order_id=COID,
        venue_order_id=VOID,
        strategy_id="mom1",
        symbol=SYM,
        cum_filled_qty=D("0"),
        reason="timeout",
        ts_event_ns=T,
        trace_id=TRACE,
    ),
    "PositionChanged": PositionChanged(
        symbol=SYM,
        qty=D("-0.002"),
        avg_entry_price=D("64000.1"),
        unrealised_pnl=D("-0.01"),
        realised_pnl=D("0.5"),
        stop_loss_price=D("65000"),
        ts_event_ns=T,
    ),
    "BalanceChanged": BalanceChanged(
        coin="USDT",
        wallet_balance=D("10000"),
        available_balance=D("9800.5"),
        equity=D("10001.2"),
        ts_event_ns=T,
    ),
    "TradingStateChanged": TradingStateChanged(
        state=TradingState.REDUCING, reason="reconciling", ts_event_ns=T
    ),
    "Alert": Alert(
        source="executor",
        severity=AlertSeverity.CRITICAL,
        code="position_mismatch",
        detail="venue 0.002 journal 0",
        ts_event_ns=T,
    ),
    "ExecutionSnapshot": ExecutionSnapshot(
        open_orders=(
            OpenOrder(
                client_order_id=COID,
                venue_order_id=VOID,
                strategy_id="mom1",
                symbol=SYM,
                side=OrderSide.SELL,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.GTC,
                qty=D("0.002"),
                limit_price=D("64100"),
                cum_filled_qty=D("0"),
                status=OrderStatus.ACCEPTED,
                reduce_only=True,
            ),
        ),
        positions=(
            Position(
                symbol=SYM,
                qty=D("0.002"),
                avg_entry_price=D("64000.1"),
                unrealised_pnl=D("0.1"),
                realised_pnl=D("0"),
            ),
        ),
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=T,
    ),
    "Heartbeat": Heartbeat(ts_event_ns=T),
    "SnapshotRequest": SnapshotRequest(topic_prefix="md.", ts_event_ns=T),
    "SnapshotEnd": SnapshotEnd(last_seq=42, count=3, ts_event_ns=T),
    "ServiceStatus": ServiceStatus(
        service="feed", state=ServiceState.DEGRADED, detail="reconnecting", ts_event_ns=T
    ),
    "StrategyStatus": StrategyStatus(
        strategy_id="mom1",
        state="PositionOpen",
        symbol=Symbol("BTCUSDT"),
        epoch=3,
        position_qty=Decimal("-0.002"),
        entry_price=Decimal("64000.5"),
        realised_pnl_usdt=Decimal("-1.25"),
        reason="entry filled",
        ts_event_ns=T,
    ),
    "VenueFrames": VenueFrames(
        frames=(
            VenueFrame(
                symbol=SYM,
                data=b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1786310819681}',
                ts_recv_ns=T,
            ),
        )
    ),
    "InstrumentRulesChanged": InstrumentRulesChanged(
        symbol=SYM, rules=BTCUSDT_RULES, ts_event_ns=T
    ),
    "MarketMakingUniverse": MarketMakingUniverse(
        symbols=(SYM, Symbol("ETHUSDT")),
        ranking=(
            MarketMakingCandidate(
                symbol=SYM,
                score=3.0e9,
                turnover_24h_usdt=D("3000000000"),
                spread_bps=0.015625,
                tick_bps=0.015625,
                touch_depth_usdt=D("640000.0"),
                last_price=D("64000"),
            ),
            MarketMakingCandidate(
                symbol=Symbol("ETHUSDT"),
                score=2.5e9,
                turnover_24h_usdt=D("1250000000"),
                spread_bps=0.5,
                tick_bps=0.25,
                touch_depth_usdt=D("32000.00"),
                last_price=D("4000"),
            ),
        ),
        reason="BTCUSDT, ETHUSDT selected (were none)",
        ts_event_ns=T,
    ),
}
