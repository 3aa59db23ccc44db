"""The [strategy] section decodes from kebab-case keys and refuses bad values."""

import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from services.strategy.settings import MarketMakerSection, StrategySettings


def test_defaults_decode_from_kebab_keys() -> None:
    settings = msgspec.convert(
        {"metrics-port": 9103, "vwap-trades": 30, "max-quote-age-ms": 50}, StrategySettings
    )
    assert (settings.strategy_id, settings.vwap_trades, settings.max_quote_age_ms) == (
        "mom1",
        30,
        50,
    )
    assert settings.momentum_threshold == 0.001


@pytest.mark.parametrize(
    "bad",
    [
        {"strategy-id": "mom-1"},  # "-" is the order id separator
        {"vwap-trades": 1},
        {"momentum-threshold": 0},
        {"stop-loss-pct": -1},
        {"unknown-key": 1},
        {"order-quiet-s": 2.0, "post-only-timeout-s": 2.0},  # quiet while it rests
    ],
)
def test_bad_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"metrics-port": 9103, **bad}, StrategySettings)


def test_a_quiet_time_not_above_the_post_only_timeout_names_both_keys() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"order-quiet-s .* post-only-timeout-s"):
        msgspec.convert({"metrics-port": 9103, "order-quiet-s": 1.0}, StrategySettings)


def test_the_kind_and_the_market_maker_section_decode_from_kebab_keys() -> None:
    settings = msgspec.convert(
        {
            "metrics-port": 9103,
            "kind": "market-maker",
            "market-maker": {"symbols": ["ETHUSDT", "BTCUSDT"], "min-spread-bps": 0.2},
        },
        StrategySettings,
    )
    assert settings.kind == "market-maker"
    assert settings.market_maker.symbols == ("ETHUSDT", "BTCUSDT")
    assert settings.market_maker.min_spread_bps == 0.2
    assert msgspec.convert({"metrics-port": 9103}, StrategySettings).kind == "momentum"


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "grid"},
        {"market-maker": {"unknown-key": 1}},
        {"market-maker": {"symbols": ["eth-usdt"]}},
        {"market-maker": {"min-spread-bps": 3.0}},  # above max-spread-bps
        {"market-maker": {"fast-cancel-mid-ticks": 0}},
    ],
)
def test_bad_market_maker_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"metrics-port": 9103, **bad}, StrategySettings)


def test_the_templates_commented_market_maker_block_holds_the_defaults() -> None:
    """All but `symbols` (an example: its default is the universe's symbol)."""
    lines = (Path(__file__).parents[4] / "deploy" / "settings.toml").read_text().splitlines()
    start = lines.index("# [strategy.market-maker]")
    block = []
    for line in lines[start + 1 :]:
        if not re.match(r"^# [a-z-]+ = ", line):
            break
        block.append(line.removeprefix("# "))
    values = tomllib.loads("\n".join(block))
    assert len(values) >= 10
    expected = MarketMakerSection(symbols=("ETHUSDT",))
    assert msgspec.convert(values, MarketMakerSection) == expected
