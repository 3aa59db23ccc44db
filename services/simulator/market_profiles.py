"""The paper market's profiles, and a seeded in-process run of one for its statistics.

- `lively` (the default): every symbol at ten times its volatility, trades at the
  universe's base rate. A momentum strategy with a 0.1 % threshold trades within minutes:
  the market for demonstrations and for watching the system work.
- `realistic`: volatility, trade rate and book depth calibrated to about six minutes of
  real ETHUSDT (tests/fixtures/market/SOURCES.md): paper trading as the venue would be,
  where such a strategy may wait a long time for an entry.

Calibration is relative (bps, ticks, trades per second, USDT near the touch): the knobs
scale every symbol of the universe alike, ETHUSDT being the one compared with the real
data. `profile_tape` runs the venue's market generator (no network, no clock) for a
number of seconds and samples its ETHUSDT book and trades as `market_stats` wants them.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

from services.simulator.exchange import Exchange, ExchangeConfig
from services.simulator.market_stats import Tape, book_depth

ProfileName = Literal["lively", "realistic"]
CALIBRATION_FILE: Final = Path(__file__).with_name("market_calibration.json")
# Profiles are measured over half an hour: both keep the generator's volatility bursts (x5..x10
# for 10..60 s, about every 10 minutes), and six minutes are too few to average them.
PROFILE_RUN_S: Final = 1800.0
_START_MS: Final = 1_723_161_256_000  # the real data's start; the venue needs some time
_BOOK_SAMPLE_LEVELS: Final = 400  # ETHUSDT: 10 bps are 340 ticks
_DEPTH_SAMPLE_MS: Final = 1000  # the deep book is sampled once a second (it is slow to read)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketProfile:
    name: ProfileName
    volatility_scale: float  # x each symbol's annualised volatility
    trade_rate_scale: float  # x each symbol's synthetic trades per second
    refill_ms: int  # liquidity taken from the synthetic book comes back after this long
    book_depth_scale: float  # x the size of every synthetic book level
    summary: str


PROFILES: Final[dict[str, MarketProfile]] = {
    "lively": MarketProfile(
        name="lively",
        volatility_scale=10.0,
        trade_rate_scale=1.0,
        refill_ms=1500,
        book_depth_scale=1.0,
        summary="ten times real volatility: a momentum strategy trades within minutes",
    ),
    "realistic": MarketProfile(
        name="realistic",
        volatility_scale=0.40,
        trade_rate_scale=1.35,
        refill_ms=0,
        book_depth_scale=0.1,
        summary="calibrated to real ETHUSDT: spread, trades/s, return spread, depth near the touch",
    ),
}


# How far the realistic profile's statistics may be from the real data's, as a fraction of
# the real value. The 60 s return spread is shown, not calibrated (five windows), and so is
# the depth within 10 bps (one scale of every level cannot match the real book's shape).
TOLERANCES: Final[dict[str, float]] = {
    "spread_ticks_median": 0.1,
    "spread_ticks_mean": 0.15,
    "trades_per_s": 0.15,
    "return_sd_1s_bps": 0.3,
    "return_sd_10s_bps": 0.15,
}
DEPTH_TOLERANCES: Final[dict[str, float]] = {"depth_usdt_1bps": 1.0, "depth_usdt_5bps": 1.0}


def exchange_config(
    profile: MarketProfile,
    *,
    seed: int,
    symbols: tuple[str, ...] | None = None,
    volatility_scale: float | None = None,
) -> ExchangeConfig:
    """The venue's config with `profile`'s market knobs (the rest the venue's defaults);
    `volatility_scale` overrides the profile's."""
    return ExchangeConfig(
        seed=seed,
        symbols=symbols,
        volatility_scale=profile.volatility_scale if volatility_scale is None else volatility_scale,
        trade_rate_scale=profile.trade_rate_scale,
        refill_ms=profile.refill_ms,
        book_depth_scale=profile.book_depth_scale,
    )


def profile_tape(
    profile: MarketProfile,
    *,
    seconds: float,
    seed: int,
    symbol: str = "ETHUSDT",
    sample_ms: int = 100,
) -> Tape:
    """Run `profile`'s market for `seconds` (seeded) and sample `symbol`'s book and trades
    every `sample_ms`, the venue stepping as it does when it runs."""
    config = replace(exchange_config(profile, seed=seed, symbols=(symbol,)), history_minutes=120)
    exchange = Exchange(config, now_ms=_START_MS)
    tape = Tape(tick=float(exchange.tick_size(symbol)))
    end_ms = _START_MS + round(seconds * 1000)
    for now_ms in range(_START_MS + sample_ms, end_ms + 1, sample_ms):
        exchange.advance(now_ms)
        bids, asks = exchange.book_top(symbol, 1)
        if bids and asks:
            tape.tops.append((now_ms, float(bids[0][0]), float(asks[0][0])))
        if now_ms % _DEPTH_SAMPLE_MS < sample_ms:
            bids, asks = exchange.book_top(symbol, _BOOK_SAMPLE_LEVELS)
            depth = book_depth(
                [(float(p), float(q)) for p, q in bids], [(float(p), float(q)) for p, q in asks]
            )
            if depth is not None:
                tape.depths.append((now_ms, depth))
        tape.trades.extend(
            (t.T, float(t.p), float(t.v)) for t in exchange.take_public_trades() if t.s == symbol
        )
    return tape


def calibration(path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    """The stored statistics: the real data's and each profile's (scripts/market-stats)."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def market_view(
    profile_name: str, volatility_scale: float | None, replay_file: str, stored: dict[str, Any]
) -> dict[str, Any]:
    """What market a venue serves (its /admin/stats `market`): the profile, and the profile's
    statistics beside the real data's as `stored` (the calibration) has them."""
    if replay_file:
        return {"profile": "replay", "replay_file": replay_file}
    profile = PROFILES[profile_name]
    return {
        "profile": profile.name,
        "summary": profile.summary,
        "volatility_scale": profile.volatility_scale
        if volatility_scale is None
        else volatility_scale,
        "real_source": stored["source"],
        "real": stored["real"],
        "statistics": stored["profiles"][profile.name],
    }
