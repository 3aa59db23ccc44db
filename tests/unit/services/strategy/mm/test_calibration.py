"""Offline calibration on the replay fixture: A, k and sigma with units, or why not."""

import gzip
import math
from pathlib import Path

import pytest

from research.calibration.__main__ import main
from research.calibration.intensity import calibrate, calibrate_file
from shared.recordings import read_file

FIXTURE = Path(__file__).parents[5] / "tests/fixtures/replay/ETHUSDT-2024-08-08-10s.frames.gz"


def test_the_fixture_gives_positive_finite_a_k_and_sigma() -> None:
    result = calibrate_file(FIXTURE, tick=0.01, step_s=0.1, levels=70)
    assert result.refusal is None
    assert result.trades == 308
    assert result.steps == 99  # 10 s of 0.1 s steps, the first opened by the first mid
    for value in (result.a_per_s, result.k_per_tick, result.sigma_bps_per_sqrt_s):
        assert value is not None
        assert math.isfinite(value)
        assert value > 0
    assert result.k_per_price == pytest.approx((result.k_per_tick or 0) / 0.01)
    assert result.sigma_price_per_sqrt_s == pytest.approx(
        (result.sigma_bps_per_sqrt_s or 0) * 1e-4 * 2681.3, rel=1e-3
    )


def test_one_second_is_too_little_to_fit_and_says_why() -> None:
    lines = [(t, raw) for t, raw in read_file(FIXTURE)][:150]  # about a second
    result = calibrate(lines, tick=0.01, step_s=0.1, levels=70)
    assert (result.a_per_s, result.k_per_tick, result.k_per_price) == (None, None, None)
    assert result.refusal is not None
    assert "need 3" in result.refusal
    assert result.sigma_bps_per_sqrt_s is None  # fewer than 10 returns: unknown, not 0


def test_no_frames_fit_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "X.frames.gz"
    with gzip.open(empty, "wb") as f:
        f.write(b'1 {"op":"pong"}\n')
    result = calibrate_file(empty, tick=0.01)
    assert (result.steps, result.trades, result.refusal) == (0, 0, "no steps recorded")


def test_cli_prints_the_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FIXTURE), "--tick", "0.01"]) == 0
    out = capsys.readouterr().out
    assert '"a_per_s"' in out
    assert '"k_per_price"' in out
