"""The [scanner] section of deploy/settings.toml."""

from typing import Annotated

import msgspec

from shared.settings import ServiceSettings

SymbolName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,40}$")]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]


class ScannerSettings(ServiceSettings, frozen=True, kw_only=True):
    """How often to scan, which symbols may be traded, and how reluctantly to switch."""

    interval_s: Seconds = 60.0  # between two successful scans
    min_turnover_24h_usdt: Annotated[float, msgspec.Meta(ge=0)] = 1_000_000.0
    min_price: Annotated[float, msgspec.Meta(ge=0)] = 0.0  # last price, USDT
    max_spread_bps: Annotated[float, msgspec.Meta(gt=0)] | None = None  # None: no spread filter
    blacklist: tuple[SymbolName, ...] = ()  # never traded
    whitelist: tuple[SymbolName, ...] = ()  # preferred: score x whitelist_boost
    whitelist_boost: Annotated[float, msgspec.Meta(gt=0, le=100)] = 1.3
    hysteresis: Annotated[float, msgspec.Meta(ge=1, le=100)] = 1.2
    top_n: Annotated[int, msgspec.Meta(ge=1, le=500)] = 10  # ranking entries published
    # The market-making selection (making.py), published as MarketMakingUniverse:
    mm_top_n: Annotated[int, msgspec.Meta(ge=0, le=50)] = 0  # symbols selected; 0 = off
    mm_min_turnover_24h_usdt: Annotated[float, msgspec.Meta(ge=0, le=1e12)] = 5_000_000.0
    mm_min_touch_depth_usdt: Annotated[float, msgspec.Meta(ge=0, le=1e9)] = 2_000.0  # a side
    mm_max_spread_bps: Annotated[float, msgspec.Meta(gt=0, le=1_000)] = 5.0  # (ask - bid) / mid
    mm_max_tick_bps: Annotated[float, msgspec.Meta(gt=0, le=1_000)] = 1.0  # tick size / mid
    mm_hysteresis: Annotated[float, msgspec.Meta(ge=1, le=100)] = 1.2  # the selected: score x this
    retry_backoff_initial_s: Seconds = 1.0  # after a failed scan; doubles up to the max
    retry_backoff_max_s: Seconds = 60.0

    def __post_init__(self) -> None:
        if self.retry_backoff_max_s < self.retry_backoff_initial_s:
            raise ValueError(
                f"retry-backoff-max-s ({self.retry_backoff_max_s}) must be >= "
                f"retry-backoff-initial-s ({self.retry_backoff_initial_s})"
            )
        if overlap := sorted(set(self.blacklist) & set(self.whitelist)):
            raise ValueError(f"symbols both blacklisted and whitelisted: {', '.join(overlap)}")
