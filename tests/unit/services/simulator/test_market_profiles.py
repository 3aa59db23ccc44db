"""The paper market's profiles against the stored calibration (real ETHUSDT's statistics)."""

import dataclasses

import msgspec
import pytest

from services.simulator.market_profiles import (
    DEPTH_TOLERANCES,
    PROFILE_RUN_S,
    PROFILES,
    TOLERANCES,
    calibration,
    exchange_config,
    market_view,
    profile_tape,
)
from services.simulator.market_stats import statistics_of
from services.simulator.settings import SimulatorSettings

STORED = calibration()


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, float]]:
    """Each profile's statistics as scripts/market-stats measures them (seeded, 30 min)."""
    return {
        name: dataclasses.asdict(
            statistics_of(profile_tape(profile, seconds=PROFILE_RUN_S, seed=STORED["seed"]))
        )
        for name, profile in PROFILES.items()
    }


def _off(value: float, target: float) -> float:
    return abs(value - target) / target


def test_the_stored_calibration_is_what_the_generator_makes_now(
    measured: dict[str, dict[str, float]],
) -> None:
    # A change of the market's parameters must come with a new market_calibration.json:
    # scripts/market-stats <real frames> --write-calibration.
    assert STORED["seconds"] == PROFILE_RUN_S
    for name in PROFILES:
        for key, value in STORED["profiles"][name].items():
            assert measured[name][key] == pytest.approx(value, rel=1e-6, nan_ok=True), (name, key)


@pytest.mark.parametrize("key", sorted(TOLERANCES))
def test_the_realistic_profile_matches_the_real_data(key: str) -> None:
    realistic, real = STORED["profiles"]["realistic"][key], STORED["real"][key]
    assert _off(realistic, real) <= TOLERANCES[key], (key, realistic, real)


@pytest.mark.parametrize("key", sorted(DEPTH_TOLERANCES))
def test_the_realistic_book_depth_matches_the_real_data(key: str) -> None:
    realistic, real = STORED["profiles"]["realistic"][key], STORED["real"][key]
    assert _off(realistic, real) <= DEPTH_TOLERANCES[key], (key, realistic, real)


def test_the_lively_profile_is_ten_times_as_volatile_as_the_realistic_one() -> None:
    lively, realistic = STORED["profiles"]["lively"], STORED["profiles"]["realistic"]
    assert lively["return_sd_10s_bps"] > 10 * realistic["return_sd_10s_bps"]
    assert PROFILES["lively"].volatility_scale == 10.0


def test_the_settings_choose_a_profile_and_may_override_its_volatility() -> None:
    assert SimulatorSettings(metrics_port=1).profile == "lively"
    chosen = msgspec.convert({"metrics-port": 1, "profile": "realistic"}, SimulatorSettings)
    assert chosen.profile == "realistic"
    assert chosen.volatility_scale is None
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"metrics-port": 1, "profile": "wild"}, SimulatorSettings)
    realistic = PROFILES["realistic"]
    config = exchange_config(realistic, seed=3)
    assert config.volatility_scale == realistic.volatility_scale
    assert config.trade_rate_scale == realistic.trade_rate_scale
    assert exchange_config(realistic, seed=3, volatility_scale=0.0).volatility_scale == 0.0


def test_the_venue_serves_its_profile_with_its_statistics_beside_the_real_ones() -> None:
    view = market_view("realistic", None, "", STORED)
    assert view["profile"] == "realistic"
    assert view["volatility_scale"] == PROFILES["realistic"].volatility_scale
    assert view["statistics"] == STORED["profiles"]["realistic"]
    assert view["real"] == STORED["real"]
    assert market_view("lively", 2.5, "", STORED)["volatility_scale"] == 2.5
    assert market_view("lively", None, "rec.frames", STORED)["profile"] == "replay"
