"""`Venue`'s batch, account-history and market-history calls (a base class; it delegates)."""

from collections.abc import Sequence

from services.simulator.venue import account_more, batch, market_more
from services.simulator.venue.batch import BatchOutcome
from services.simulator.venue.flow import advance
from services.simulator.venue.state import VenueError, VenueState
from shared.bybit import wire, wire_more


class MoreEndpoints:
    """Batch orders, fee rate, closed PnL, transaction log, mode switches, market history."""

    state: VenueState

    # ---- batch trading (per-item outcomes; ids back, the rest in the reports)

    def create_batch(
        self,
        account: str,
        category: str,
        items: Sequence[wire.OrderCreateRequest | VenueError],
        now_ms: int,
    ) -> BatchOutcome:
        """POST /v5/order/create-batch."""
        return batch.create_batch(self.state, account, category, items, now_ms)

    def amend_batch(
        self,
        account: str,
        category: str,
        items: Sequence[wire.OrderAmendRequest | VenueError],
        now_ms: int,
    ) -> BatchOutcome:
        """POST /v5/order/amend-batch."""
        return batch.amend_batch(self.state, account, category, items, now_ms)

    def cancel_batch(
        self,
        account: str,
        category: str,
        items: Sequence[wire.OrderCancelRequest | VenueError],
        now_ms: int,
    ) -> BatchOutcome:
        """POST /v5/order/cancel-batch."""
        return batch.cancel_batch(self.state, account, category, items, now_ms)

    # ---- account

    def fee_rates(self, symbol: str | None) -> list[wire_more.FeeRate]:
        """GET /v5/account/fee-rate."""
        return account_more.fee_rates(self.state, symbol)

    def closed_pnl(
        self, account: str, symbol: str | None, start: int | None, end: int | None
    ) -> list[wire_more.ClosedPnl]:
        """GET /v5/position/closed-pnl: one row per closing order, newest first."""
        return account_more.closed_pnl(self.state, account, symbol, start, end)

    def transaction_log(
        self,
        account: str,
        only: account_more.LogFilter = account_more.ANY,
        window: tuple[int | None, int | None] = (None, None),
    ) -> list[wire_more.Transaction]:
        """GET /v5/account/transaction-log: a TRADE row per fill, newest first."""
        return account_more.transaction_log(self.state, account, only, window)

    def switch_mode(self, account: str, req: wire_more.SwitchModeRequest, now_ms: int) -> None:
        """POST /v5/position/switch-mode (one-way only: hedge refused)."""
        account_more.switch_mode(self.state, account, req, now_ms)

    def set_margin_mode(self, mode: str) -> wire_more.MarginModeResult:
        """POST /v5/account/set-margin-mode (cross only: reasons say why another is refused)."""
        return account_more.set_margin_mode(mode)

    # ---- market history

    def funding_history(
        self, symbol: str, start: int | None, end: int | None, limit: int
    ) -> list[wire_more.FundingRate]:
        """GET /v5/market/funding/history (a constant rate, never charged)."""
        return market_more.funding_history(self.state, symbol, start, end, limit)

    def open_interest(
        self, symbol: str, interval: str, start: int | None, end: int | None, now_ms: int
    ) -> list[wire_more.OpenInterest]:
        """GET /v5/market/open-interest (synthetic), newest first."""
        advance(self.state, now_ms)
        return market_more.open_interest(self.state, symbol, interval, start, end)

    def mark_price_klines(
        self,
        symbol: str,
        interval: str,
        window: tuple[int | None, int | None],
        limit: int,
        now_ms: int,
    ) -> list[list[str]]:
        """GET /v5/market/mark-price-kline: [start, open, high, low, close], newest first."""
        advance(self.state, now_ms)
        return market_more.mark_price_klines(self.state, symbol, interval, window, limit)

    def risk_limits(self, symbol: str | None) -> list[wire_more.RiskLimit]:
        """GET /v5/market/risk-limit (one tier per symbol)."""
        return market_more.risk_limits(self.state, symbol)
