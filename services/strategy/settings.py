"""The strategy's section of deploy/settings.toml: which kind, and each kind's parameters.

`kind = "momentum"` (the default) runs the momentum scalper on the flat keys below;
`kind = "market-maker"` runs the market maker on `[strategy.market-maker]` (the stages'
`MarketMakerSettings` plus what the core needs to run them: symbols, requote tolerances,
fast-cancel thresholds, queue model). Every key has a default, so a file without the new
keys reads as before (no settings version step: nothing is renamed or changes meaning).
"""

from typing import Annotated, Literal

import msgspec

from services.strategy.mm.settings import MarketMakerSettings
from shared.settings import ServiceSettings

StrategyId = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z_]{1,16}$")]  # see order_ids
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]
Bps = Annotated[float, msgspec.Meta(gt=0, le=1_000)]
Pct = Annotated[float, msgspec.Meta(gt=0, lt=100)]
Usdt = Annotated[float, msgspec.Meta(gt=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Millis = Annotated[int, msgspec.Meta(gt=0, le=60_000)]


SymbolName = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{2,30}$")]
Ticks = Annotated[int, msgspec.Meta(ge=0, le=1_000)]


class MarketMakerSection(MarketMakerSettings, frozen=True, kw_only=True):
    """`[strategy.market-maker]`: the stages' parameters and the core's own."""

    symbols: tuple[SymbolName, ...] = ()  # quoted independently; () = the universe's symbol
    price_tolerance_ticks: Ticks = 0  # a target this close to the working price: no change
    keep_max_ticks: Ticks = 1  # queue-aware keep only this close to the target
    fast_cancel_mid_ticks: Annotated[int, msgspec.Meta(ge=1, le=1_000)] = 2  # mid toward it
    fast_cancel_mid_bps: Bps = 2.0  # the same in bps of the mid the quote was set at
    fast_cancel_on_trade_at_price: bool = True  # a trade at our price pulls it too
    queue_model: Literal["risk-averse", "probabilistic"] = "risk-averse"
    queue_power: Annotated[float, msgspec.Meta(gt=0, le=10)] = 2.0  # probabilistic f(x)=x^N
    queue_horizon_s: Seconds = 5.0  # the queue value's horizon
    flow_tau_s: Seconds = 30.0  # traded qty per second, decayed over this
    intensity_refit_s: Seconds = 30.0  # A and k fitted again no more often than this
    order_ttl_ms: Millis = 2_000  # a quote command not sent within this is denied
    taker_ttl_ms: Millis = 1_000  # the same for a reduce-only taker order
    deny_backoff_ms: Millis = 1_000  # a new quote denied, rejected or PostOnly-cancelled:
    # no new quote on its symbol this long


class StrategySettings(ServiceSettings, frozen=True, kw_only=True):
    """One strategy instance: its kind, then the momentum scalper's signal, filters, sizing,
    routing and exits, and the market maker's section."""

    kind: Literal["momentum", "market-maker"] = "momentum"
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
    market_maker: MarketMakerSection = msgspec.field(default_factory=MarketMakerSection)

    def __post_init__(self) -> None:
        if self.order_quiet_s <= self.post_only_timeout_s:
            raise ValueError(
                f"order-quiet-s ({self.order_quiet_s}) must be > post-only-timeout-s"
                f" ({self.post_only_timeout_s}): a resting entry is quiet until its timeout"
            )
