"""`Venue`: the one object the HTTP layer and a backtest call; it only delegates.

Driving it directly (a backtest, a test): `on_market(event)` feeds a recorded market event
(`DepthUpdate`, `RecordedTrade` with `market_source="recorded"`, decoded on `grids()` by
`RecordedFrames`; `BookTop`, `TradePrint` with "recorded-tops"), `advance(now_ms)` moves
the clock, `submit` / `amend` / `cancel` take Bybit order requests with the time they
arrive, and `drain_reports()` returns the private reports (execution, order, position,
wallet) they caused, in order. `flow` says in which order one event is processed.
"""

from decimal import Decimal

from services.simulator.candles import KLINE_INTERVALS
from services.simulator.ladder import RecordedDepth
from services.simulator.market_events import MarketEvent
from services.simulator.venue import flow, market_data, queries, trading
from services.simulator.venue.facade_more import MoreEndpoints
from services.simulator.venue.recorded import Grid
from services.simulator.venue.state import ExchangeConfig, PrivateEvent, PublicLevel, VenueState
from shared.bybit import wire


class Venue(MoreEndpoints):
    """A Bybit-V5-compatible venue for category=linear, as pure state and functions."""

    def __init__(self, config: ExchangeConfig, now_ms: int) -> None:
        self.state = VenueState(config, now_ms)

    # ---- time and the market

    @property
    def now_ms(self) -> int:
        """The venue's time: the latest `now_ms` it was given."""
        return self.state.now

    def advance(self, now_ms: int) -> None:
        """Move the market to `now_ms`: prices, synthetic trades, fills, stops."""
        flow.advance(self.state, now_ms)

    def on_market(self, event: MarketEvent) -> None:
        """Apply one recorded market event (after advancing to its time)."""
        flow.on_market(self.state, event)

    def grids(self) -> dict[str, Grid]:
        """Every symbol's (tick size, qty step): what recorded frames are decoded on."""
        return {m.spec.symbol: (m.spec.tick_size, m.spec.qty_step) for m in self.state.market_list}

    def recorded_depth(self, symbol: str) -> int:
        """N of the `orderbook.N` stream the symbol's recorded ladder follows (0: none yet, a
        symbol not listed, or not a recorded market): shallower book frames are skipped."""
        market = self.state.markets.get(symbol)
        ladder = market.book.depth if market is not None else None
        return ladder.depth if isinstance(ladder, RecordedDepth) else 0

    def recorded_skips(self) -> dict[str, int]:
        """Recorded book updates the ladders skipped, by reason, over every symbol."""
        total: dict[str, int] = {}
        for market in self.state.market_list:
            ladder = market.book.depth
            if isinstance(ladder, RecordedDepth):
                for reason, count in ladder.skipped.items():
                    total[reason] = total.get(reason, 0) + count
        return total

    def recorded_counts(self) -> dict[str, int]:
        """What the recorded ladders did, over every symbol: trades taken off or already in
        the book, shallower tops applied, unchanged, levels they hid (ladder.COUNTS)."""
        total: dict[str, int] = {}
        for market in self.state.market_list:
            ladder = market.book.depth
            if isinstance(ladder, RecordedDepth):
                for name, count in ladder.counts.items():
                    total[name] = total.get(name, 0) + count
        return total

    # ---- trading (ids back; the outcome is in the reports)

    def create_order(
        self, account: str, req: wire.OrderCreateRequest, now_ms: int
    ) -> wire.OrderIds:
        """Place an order (POST /v5/order/create)."""
        return trading.create(self.state, account, req, now_ms)

    def amend_order(self, account: str, req: wire.OrderAmendRequest, now_ms: int) -> wire.OrderIds:
        """Change an open order's qty and/or price (POST /v5/order/amend)."""
        return trading.amend(self.state, account, req, now_ms)

    def cancel_order(
        self, account: str, req: wire.OrderCancelRequest, now_ms: int
    ) -> wire.OrderIds:
        """Cancel an open order (POST /v5/order/cancel)."""
        return trading.cancel(self.state, account, req, now_ms)

    submit = create_order
    amend = amend_order
    cancel = cancel_order

    def cancel_all(
        self, account: str, req: wire.CancelAllRequest, now_ms: int
    ) -> wire.CancelAllResult:
        """Cancel every open order of a symbol, base coin or settle coin (POST cancel-all)."""
        return trading.cancel_all(self.state, account, req, now_ms)

    def set_leverage(self, account: str, req: wire.SetLeverageRequest, now_ms: int) -> None:
        """Set a symbol's leverage (POST /v5/position/set-leverage)."""
        trading.set_leverage(self.state, account, req, now_ms)

    def trading_stop(self, account: str, req: wire.TradingStopRequest, now_ms: int) -> None:
        """Set or clear the position's venue TP / SL (POST /v5/position/trading-stop)."""
        trading.trading_stop(self.state, account, req, now_ms)

    def open_account(self, key: str, balance: Decimal | None = None) -> None:
        """Create the account of API key `key` (accounts are also created on first use)."""
        account = self.state.account(key)
        if balance is not None:
            account.wallet = balance

    def take_private_events(self) -> list[PrivateEvent]:
        """(account, topic, payload) since the last call, in the order they happened.

        topic is "order" (wire.OrderEvent), "execution" (wire.ExecutionEvent), "position"
        (wire.PositionEvent) or "wallet" (wire.Wallet).
        """
        out = list(self.state.private)
        self.state.private.clear()
        return out

    drain_reports = take_private_events

    def has_reports(self) -> bool:
        """Whether private events wait to be taken (`drain_reports` would return some)."""
        return bool(self.state.private)

    # ---- market data

    def has_symbol(self, symbol: str) -> bool:
        """Whether the venue lists `symbol`."""
        return symbol in self.state.markets

    def tick_size(self, symbol: str) -> Decimal:
        """The symbol's tick size."""
        return self.state.market(symbol).spec.tick_size

    def instruments(self) -> list[wire.Instrument]:
        """Every symbol's instruments-info entry."""
        return market_data.instruments(self.state)

    def tickers(self, symbol: str | None = None) -> list[wire.Ticker]:
        """The 24 h tickers of one symbol or all."""
        return market_data.tickers(self.state, symbol)

    def book_top(self, symbol: str, depth: int) -> tuple[list[PublicLevel], list[PublicLevel]]:
        """The public book, aggregated per price: bids and asks best first, `depth` a side."""
        return market_data.book_top(self.state, symbol, depth)

    def orderbook(self, symbol: str, limit: int) -> wire.OrderBookResult:
        """The /v5/market/orderbook snapshot (limit capped to 1 .. 1000)."""
        return market_data.orderbook(self.state, symbol, limit)

    def book_ids(self, symbol: str) -> tuple[int, int, int]:
        """(u, seq, cts) of the symbol's book: u grows by one per book change."""
        book = self.state.market(symbol).book
        return book.u, book.seq, book.cts

    def recent_trades(self, symbol: str, limit: int) -> list[wire.RecentTrade]:
        """The latest public trades of `symbol`, newest first."""
        return market_data.recent_trades(self.state, symbol, limit)

    def take_public_trades(self) -> list[wire.PublicTradeData]:
        """Every public trade since the last call, in match order."""
        return market_data.take_public_trades(self.state)

    def klines(
        self,
        symbol: str,
        interval: str,
        limit: int,
        now_ms: int,
        window: tuple[int | None, int | None] = (None, None),
    ) -> list[list[str]]:
        """Candles [start, open, high, low, close, volume, turnover] as strings, newest first;
        `window` (start, end ms; None: open) as the kline endpoint's `start` and `end`."""
        if interval in KLINE_INTERVALS:
            self.advance(now_ms)
        return market_data.klines(self.state, symbol, interval, limit, window)

    # ---- account queries

    def orders(
        self,
        account: str,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        open_only: int = 0,
        order_filter: str | None = None,
    ) -> list[wire.Order]:
        """/v5/order/realtime: open orders (open_only=0) or the 500 most recent closed (1, 2)."""
        found = queries.orders(self.state, account, symbol, order_id, order_link_id, open_only)
        return queries.filtered(found, order_filter)

    def order_history(
        self,
        account: str,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        order_filter: str | None = None,
    ) -> list[wire.Order]:
        """/v5/order/history: orders of the last 7 days (unfilled cancels: 24 h), newest first."""
        found = queries.order_history(self.state, account, symbol, order_id, order_link_id)
        return queries.filtered(found, order_filter)

    def executions(
        self,
        account: str,
        *,
        symbol: str | None = None,
        start_ms: int | None = None,
        order_id: str | None = None,
    ) -> list[wire.Execution]:
        """/v5/execution/list: the account's fills, newest first (or one order's)."""
        return queries.executions(self.state, account, symbol, start_ms, order_id)

    def positions(self, account: str, symbol: str | None = None) -> list[wire.PositionInfo]:
        """/v5/position/list: with a symbol, that position even when flat; else the open ones."""
        return queries.positions(self.state, account, symbol)

    def wallet(self, account: str) -> wire.Wallet:
        """/v5/account/wallet-balance (accountType UNIFIED, coin USDT)."""
        return queries.wallet(self.state, account)
