"""The strategy's section of deploy/settings.toml: the momentum scalper's parameters."""

from typing import Annotated

import msgspec

from shared.settings import ServiceSettings

StrategyId = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z_]{1,16}$")]  # see order_ids
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]
Bps = Annotated[float, msgspec.Meta(gt=0, le=1_000)]
Pct = Annotated[float, msgspec.Meta(gt=0, lt=100)]
Usdt = Annotated[float, msgspec.Meta(gt=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Millis = Annotated[int, msgspec.Meta(gt=0, le=60_000)]


class StrategySettings(ServiceSettings, frozen=True, kw_only=True):
    """One momentum scalper instance: signal, filters, sizing, routing and exits."""

    strategy_id: StrategyId = "mom1"
    vwap_trades: Annotated[int, msgspec.Meta(ge=2, le=10_000)] = 20  # window of last trades
    momentum_threshold: Fraction = 0.001  # |last - vwap| / vwap to enter (0.001 = 0.1 %)
    max_spread_bps: Bps = 10.0  # no entry on a wider spread
    min_top_notional_usdt: Usdt = 1_000.0  # best bid and best ask each at least this deep
    max_quote_age_ms: Millis = 100  # quote or last trade older than this: no entry
    cooldown_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 5.0  # after an exit
    max_entries_per_hour: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 30
    order_notional_usdt: Usdt = 100.0  # entry size: this / mid, floored to the qty step
    market_max_spread_bps: Bps = 2.0  # at or below this (and a liquid book): Market IOC
    liquidity_multiple: Annotated[float, msgspec.Meta(ge=1)] = 5.0  # top qty >= this x ours
    post_only_timeout_s: Seconds = 2.0  # an unfilled PostOnly entry is cancelled after this
    stop_loss_pct: Pct = 0.2  # from the average entry price
    take_profit_pct: Pct = 0.3
    max_hold_s: Seconds = 60.0
    command_ttl_ms: Millis = 1_000  # expires_at_ns = created + this
    exit_retry_s: Seconds = 1.0  # a failed exit is retried no faster than this
    order_quiet_s: Seconds = 15.0  # a working order unheard of this long: executor snapshot
    feed_patience_s: Seconds = 10.0  # no FeedReady this long: feed and scanner snapshots

    def __post_init__(self) -> None:
        if self.order_quiet_s <= self.post_only_timeout_s:
            raise ValueError(
                f"order-quiet-s ({self.order_quiet_s}) must be > post-only-timeout-s"
                f" ({self.post_only_timeout_s}): a resting entry is quiet until its timeout"
            )
