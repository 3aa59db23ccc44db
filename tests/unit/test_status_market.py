"""scripts/status's market lines: the profile that runs, its statistics beside the real data's."""

from scripts.status_market import market_lines
from services.simulator.market_profiles import PROFILES, calibration, market_view


def test_a_synthetic_market_shows_its_profile_and_each_statistic_beside_the_real_one() -> None:
    stored = calibration()
    lines = market_lines(market_view("realistic", None, "", stored))
    assert lines[0].startswith("market realistic: calibrated to real ETHUSDT")
    assert f"(volatility x{PROFILES['realistic'].volatility_scale:g})" in lines[0]
    real_trades = format(stored["real"]["trades_per_s"], ".1f")
    ours = format(stored["profiles"]["realistic"]["trades_per_s"], ".1f")
    assert f"trades/s {ours} (real {real_trades})" in lines[1]
    assert "return sd bps 10 s" in lines[2]
    assert "None" not in "\n".join(lines)


def test_an_unanswering_venue_and_a_replay_are_named() -> None:
    assert market_lines({"unknown": "simulator: refused"}) == [
        "market unknown (simulator: refused)"
    ]
    assert market_lines(market_view("lively", None, "rec.frames", calibration())) == [
        "market replay rec.frames"
    ]
    assert market_lines({"profile": "the venue's own (testnet)"}) == [
        "market the venue's own (testnet)"
    ]
