"""Last trade prices for risk, kept young off the command path.

The feed's trades set them (service._follow_market). A symbol with no trade for half of
`price_max_age_s` is read from the venue's tickers here, in the background: the command
path never calls the venue for a price, it denies new exposure (`price_stale`) when the
price is older than its limit.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable

from services.executor.ports import Parts
from services.executor.report_checks import ReportChecks
from services.executor.venue_calls import VenueCalls
from shared.bus import Receiver
from shared.bybit.errors import BybitError
from shared.schema import Trade

log = logging.getLogger(__name__)
TICK_S = 0.25
MARKET_READ_INTERVAL_S = 0.1  # how often the feed's trades are read


class PriceRefresh:
    def __init__(
        self,
        parts: Parts,
        calls: VenueCalls,
        checks: ReportChecks,
        symbols: Callable[[], Iterable[str]],
        max_age_s: float,
    ) -> None:
        self._parts = parts
        self._calls = calls
        self._checks = checks
        self._symbols = symbols
        self._refresh_after_ns = int(max_age_s * 1e9 / 2)

    async def follow_market(self, market: Receiver) -> None:
        """The feed's trades, read in batches: no wake-up per trade, so the moment a trade
        triggers an order the executor is free to take the command."""
        registry = self._parts.registry
        while True:
            await asyncio.sleep(MARKET_READ_INTERVAL_S)  # pacing, not waiting for anything
            for delivery in market.drain():
                if isinstance(delivery.message, Trade):
                    trade = delivery.message
                    registry.set_price(trade.symbol, trade.price, trade.ts_recv_ns)

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(TICK_S)  # pacing, not waiting for anything

    async def refresh(self) -> None:
        """Read the tickers of every symbol whose last price is getting old."""
        registry, rest = self._parts.registry, self._parts.rest
        for symbol in sorted(self._symbols()):
            now = self._parts.clock.now_ns()
            if registry.price(symbol, now, self._refresh_after_ns) is not None:
                continue
            try:
                tickers = await rest.tickers(symbol)
            except BybitError as e:
                self._parts.counters["price_refresh_failures"] += 1
                log.warning("ticker read failed symbol=%s error=%s", symbol, e)
                continue
            for ticker in tickers:
                if ticker.symbol == symbol and self._checks.ticker_ok(ticker):
                    registry.set_price(symbol, ticker.last_price, self._parts.clock.now_ns())
                    self._parts.counters["price_refreshes"] += 1
