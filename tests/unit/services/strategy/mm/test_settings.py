"""The market maker's settings decode from kebab-case keys and refuse bad values."""

import msgspec
import pytest

from services.strategy.mm.settings import MarketMakerSettings


def test_defaults_decode_from_kebab_keys() -> None:
    settings = msgspec.convert(
        {"min-spread-bps": 0.8, "taker-cap-normal-fills": 40}, MarketMakerSettings
    )
    assert (settings.min_spread_bps, settings.max_spread_bps) == (0.8, 2.5)
    assert settings.taker_cap_normal_fills == 40


@pytest.mark.parametrize(
    "bad",
    [
        {"min-spread-bps": 0},
        {"vol-sensitivity-ratio": 1.5},
        {"unknown-key": 1},
        {"min-spread-bps": 3.0},  # above max-spread-bps
        {"latency-low-ms": 300.0},  # above latency-high-ms
        {"taker-cap-volatile-fills": 60},  # above the normal cap
        {"order-notional-usdt": 2_000.0},  # one order over the symbol's inventory limit
    ],
)
def test_bad_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(bad, MarketMakerSettings)


def test_an_inverted_pair_names_both_keys() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"min-spread-bps .* max-spread-bps"):
        msgspec.convert({"min-spread-bps": 3.0}, MarketMakerSettings)
