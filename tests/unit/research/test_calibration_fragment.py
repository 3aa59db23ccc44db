"""The calibration's settings fragment and the offline fit on the 10 s ETHUSDT fixture."""

import math
from pathlib import Path

import pytest

from research.calibration.fragment import (
    check_fragment,
    fit_comments,
    fragment_text,
    market_maker_keys,
    seed_keys,
)
from research.calibration.intensity import Calibration, calibrate_file
from services.strategy.mm.estimators import seeded_fit

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"


def _calibration(**changes: object) -> Calibration:
    values: dict[str, object] = {
        "a_per_s": 1.5,
        "k_per_tick": 0.4,
        "k_per_price": 40.0,
        "sigma_bps_per_sqrt_s": 0.3,
        "sigma_price_per_sqrt_s": 0.08,
        "refusal": None,
        "fit_points": 6,
        "r_squared": 0.97,
        "steps": 100,
        "trades": 300,
        "duration_s": 10.0,
        "tick": 0.01,
        "step_s": 0.1,
    }
    values.update(changes)
    return Calibration(**values)  # type: ignore[arg-type]


def test_a_fragment_holds_the_keys_and_reads_back_through_the_strategy_settings() -> None:
    text = fragment_text(
        {"vol-sensitivity-ratio": 0.3, "liq-sensitivity-ratio": 0.9},
        fit_comments(_calibration()),
    )
    assert "[strategy.market-maker]" in text
    assert "A = 1.5 per s" in text
    section = check_fragment(text)
    assert section.vol_sensitivity_ratio == 0.3
    assert section.liq_sensitivity_ratio == 0.9
    assert section.min_spread_bps == 0.6  # the rest keep their defaults


def test_a_key_the_market_maker_lacks_is_refused() -> None:
    assert "vol-sensitivity-ratio" in market_maker_keys()
    with pytest.raises(ValueError, match="a-per-s"):
        fragment_text({"a-per-s": 1.0})


def test_an_out_of_bounds_value_is_refused_on_reading() -> None:
    with pytest.raises(ValueError, match=r"strategy\.market-maker"):
        check_fragment(fragment_text({"vol-sensitivity-ratio": 2.0}))
    with pytest.raises(ValueError, match="one"):
        check_fragment("[executor]\nmax-open-orders = 3\n")


def test_an_unfitted_calibration_says_why_and_never_zero() -> None:
    lines = fit_comments(_calibration(a_per_s=None, k_per_tick=None, refusal="no steps"))
    assert lines[0] == "A, k: not fitted (no steps)"
    assert "0" not in lines[0]


def test_the_fixture_gives_a_finite_fit_or_a_reason() -> None:
    found = calibrate_file(REPLAY, 0.01)
    assert found.trades > 0
    assert found.steps > 0
    if found.refusal is None:
        assert found.a_per_s is not None
        assert found.k_per_tick is not None
        assert math.isfinite(found.a_per_s)
        assert found.a_per_s > 0
        assert found.k_per_tick > 0
    else:
        assert found.a_per_s is None
    assert found.sigma_bps_per_sqrt_s is None or math.isfinite(found.sigma_bps_per_sqrt_s)


def test_the_fitted_a_and_k_seed_the_market_maker_through_the_fragment() -> None:
    seed = seed_keys(_calibration())

    section = check_fragment(fragment_text(seed, fit_comments(_calibration())))

    assert (section.intensity_a_per_s, section.intensity_k_per_tick) == (1.5, 0.4)
    fit = seeded_fit(section, tick=0.01)
    assert fit is not None
    assert (fit.a_per_s, fit.k_per_tick) == (1.5, 0.4)
    assert fit.k_per_price == pytest.approx(40.0)


def test_a_refused_fit_seeds_nothing() -> None:
    refused = _calibration(a_per_s=None, k_per_tick=None, refusal="too few points")
    assert seed_keys(refused) == {}
    assert seeded_fit(check_fragment(fragment_text({})), tick=0.01) is None
