"""The executor's section of deploy/settings.toml: risk limits and venue-call knobs."""

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from services.executor.order_budget import StrategyRateLimits, StrategyRateSettings
from services.executor.risk import RiskLimits
from shared.runtime.breaker import Breakers, BreakerSettings
from shared.settings import ServiceSettings

SymbolName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,40}$")]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=3_600)]


class ExecutorSettings(ServiceSettings, frozen=True, kw_only=True):
    """Last-line risk limits, and how patiently the venue is asked."""

    allowed_symbols: tuple[SymbolName, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    max_order_notional_usdt: PositiveFloat = 1_000.0
    max_position_notional_usdt: PositiveFloat = 5_000.0
    max_open_orders: Annotated[int, msgspec.Meta(ge=1)] = 10
    max_orders_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 60
    price_band_bps: PositiveFloat = 100.0  # max distance of a limit price from the last trade
    daily_loss_limit_usdt: PositiveFloat = 500.0  # equity down this much today: halt
    rest_timeout_s: Seconds = 5.0  # per REST call; an order create past it is in doubt
    in_doubt_queries: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3  # per resolution round
    in_doubt_query_interval_s: Seconds = 0.3  # between two queries by orderLinkId
    in_doubt_resends: Annotated[int, msgspec.Meta(ge=0, le=5)] = 1  # same orderLinkId
    price_max_age_s: Seconds = 5.0  # older: new exposure denied (price_stale); tickers read at half
    shutdown_timeout_s: Seconds = 4.0  # cancel working orders and confirm within this
    ping_interval_s: Seconds = 20.0  # private websocket
    journal_synchronous: Literal["FULL", "NORMAL"] = "NORMAL"  # README: "Journal durability"
    flatten_on_shutdown: bool = False  # on SIGTERM, also close every position
    position_check_interval_s: Seconds = 5.0  # positions, stops, equity against the venue
    stream_down_poll_s: Seconds = 1.0  # REST polling period while the private stream is down
    venue_stop_loss_pct: Annotated[float, msgspec.Meta(gt=0, lt=100)] = 2.0  # from the entry
    dead_man_after_s: Seconds = 3.0  # strategy silent this long: cancel its working orders
    max_requests_in_flight: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8  # creates unanswered
    strategy_orders_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 600  # each strategy's own
    strategy_orders_per_minute_by_id: dict[str, Annotated[int, msgspec.Meta(ge=1)]] = msgspec.field(
        default_factory=dict
    )
    breaker_consecutive_failures: Annotated[int, msgspec.Meta(ge=1)] = 5
    breaker_error_rate: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.5  # failures / calls
    breaker_window_s: Seconds = 30.0  # the error rate's window
    breaker_min_calls: Annotated[int, msgspec.Meta(ge=1)] = 10  # fewer say nothing of the rate
    breaker_cool_down_s: Seconds = 10.0  # open this long, then one probe

    def risk_limits(self) -> RiskLimits:
        return RiskLimits(
            max_order_notional_usdt=_dec(self.max_order_notional_usdt),
            max_position_notional_usdt=_dec(self.max_position_notional_usdt),
            max_open_orders=self.max_open_orders,
            max_orders_per_minute=self.max_orders_per_minute,
            price_band_bps=_dec(self.price_band_bps),
            allowed_symbols=frozenset(self.allowed_symbols),
            daily_loss_limit_usdt=_dec(self.daily_loss_limit_usdt),
        )

    def strategy_rates(self) -> StrategyRateLimits:
        return StrategyRateLimits(
            StrategyRateSettings(
                default_per_min=self.strategy_orders_per_minute,
                per_strategy_per_min=dict(self.strategy_orders_per_minute_by_id),
            )
        )

    def breakers(self) -> Breakers:
        return Breakers(
            settings=BreakerSettings(
                consecutive_failures=self.breaker_consecutive_failures,
                error_rate=self.breaker_error_rate,
                window_s=self.breaker_window_s,
                min_calls=self.breaker_min_calls,
                cool_down_s=self.breaker_cool_down_s,
            )
        )


def _dec(value: float) -> Decimal:
    return Decimal(str(value))
