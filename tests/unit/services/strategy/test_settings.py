"""The [strategy] section decodes from kebab-case keys and refuses bad values."""

import msgspec
import pytest

from services.strategy.settings import StrategySettings


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
