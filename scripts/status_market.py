"""scripts/status's lines on the paper market: which profile runs, and its statistics beside
the real data's (what the simulator serves in /admin/stats `market`). Pure."""

from collections.abc import Mapping
from typing import Any, Final

# statistic, label, format: the ones the realistic profile is calibrated on, and the depth
_SHOWN: Final = (
    (
        ("spread_ticks_mean", "spread ticks", ".2f"),
        ("trades_per_s", "trades/s", ".1f"),
        ("depth_usdt_1bps", "USDT/side within 1 bps", ",.0f"),
    ),
    (("return_sd_10s_bps", "return sd bps 10 s", ".2f"), ("return_sd_60s_bps", "60 s", ".1f")),
)


def _value(stats: Mapping[str, Any], key: str, fmt: str) -> str:
    value = stats.get(key)
    return format(value, fmt) if isinstance(value, int | float) else "-"


def market_lines(market: Any) -> list[str]:
    """`market <profile> ...` then, for a synthetic market, `<statistic> <profile> (real <x>)`."""
    if not isinstance(market, Mapping) or "unknown" in market:
        reason = market.get("unknown") if isinstance(market, Mapping) else market
        return [f"market unknown ({reason})"]
    profile = market.get("profile", "-")
    if "statistics" not in market:
        return [f"market {profile} {market.get('replay_file', '')}".rstrip()]
    stats, real = market["statistics"], market.get("real", {})
    rows = [
        "  ".join(
            f"{label} {_value(stats, key, fmt)} (real {_value(real, key, fmt)})"
            for key, label, fmt in row
        )
        for row in _SHOWN
    ]
    return [
        f"market {profile}: {market.get('summary', '')}"
        f" (volatility x{market.get('volatility_scale', '-')})",
        *(f"  ETHUSDT {row}" for row in rows),
    ]
