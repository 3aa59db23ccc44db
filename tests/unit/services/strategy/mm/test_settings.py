"""The market maker's settings decode from kebab-case keys and refuse bad values."""

from decimal import Decimal

import msgspec
import pytest

from services.strategy.mm.market import SymbolMarket
from services.strategy.mm.settings import MarketMakerSettings
from shared.schema import Symbol


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


def test_the_intensity_seed_takes_both_a_and_k_or_neither() -> None:
    with pytest.raises(ValueError, match="intensity-a-per-s and intensity-k-per-tick"):
        MarketMakerSettings(intensity_a_per_s=1.3)
    both = MarketMakerSettings(intensity_a_per_s=1.3, intensity_k_per_tick=0.06)
    assert (both.intensity_a_per_s, both.intensity_k_per_tick) == (1.3, 0.06)


def test_a_seeded_symbol_quotes_with_its_a_and_k_until_its_own_first_fit() -> None:
    seeded = MarketMakerSettings(intensity_a_per_s=1.3, intensity_k_per_tick=0.06)
    market = SymbolMarket(Symbol("ETHUSDT"), (Decimal("0.01"), Decimal("0.01")), seeded)
    assert market.fit is not None
    assert (market.fit.a_per_s, market.fit.k_per_tick) == (1.3, 0.06)
    assert market.fit.k_per_price == pytest.approx(6.0)
    plain = SymbolMarket(
        Symbol("ETHUSDT"), (Decimal("0.01"), Decimal("0.01")), MarketMakerSettings()
    )
    assert plain.fit is None
