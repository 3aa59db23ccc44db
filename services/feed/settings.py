"""The feed's section of deploy/settings.toml."""

from typing import Annotated, Literal

import msgspec

from shared.settings import ServiceSettings

PositiveMs = Annotated[int, msgspec.Meta(gt=0)]
SymbolName = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{2,30}$")]


class FeedSettings(ServiceSettings, frozen=True, kw_only=True):
    depth: Literal[1, 50] = 1  # orderbook.<depth>: 1 (top of book) or 50 (levels too)
    published_levels: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5  # BookLevels when depth 50
    max_venue_lag_ms: PositiveMs = 1_000  # a frame whose venue ts lags its arrival more is stale
    stale_after_ms: PositiveMs = (
        5_000  # no book update for this long: stale (depth 1 resends every 3 s)
    )
    subscribe_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    ping_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    record_raw: bool = True  # each raw frame to the recorder ([bus.endpoints] market-data-raw)
    # Served together, each its own book: () = what `follow` says.
    symbols: tuple[SymbolName, ...] = ()
    # With symbols = (): "scanner" = the scanner's one symbol (UniverseChanged), switched on
    # its choice; "market-making" = every symbol of its market-making selection
    # (MarketMakingUniverse), each its own book, added and removed as the selection changes.
    follow: Literal["scanner", "market-making"] = "scanner"

    def __post_init__(self) -> None:
        if twice := sorted({s for s in self.symbols if self.symbols.count(s) > 1}):
            raise ValueError(f"symbols listed twice: {', '.join(twice)}")
        if self.symbols and self.follow != "scanner":
            raise ValueError(
                f'follow = "{self.follow}" needs symbols = [] (a listed set follows nothing)'
            )
