"""The best settings as a fragment: it reads back, merges into the live settings file, and
the strict loader accepts the merged file."""

import shutil
from pathlib import Path

import pytest

from research.sweep.fragment import (
    apply,
    check_merged,
    fragment_text,
    merge_into,
    read_fragment,
)
from services.strategy.settings import StrategySettings
from shared.settings import DEFAULT_SETTINGS_PATH, SettingsError, load_section

BEST = {"momentum-threshold": 2e-05, "vwap-trades": 15, "max-hold-s": 1.0}


def test_a_fragment_is_a_commented_strategy_table(tmp_path: Path) -> None:
    path = tmp_path / "best.toml"
    path.write_text(fragment_text(BEST, ["study s: pnl_net = 1.5", "data: x.frames.gz"]))

    text = path.read_text()
    assert text.startswith("# study s: pnl_net = 1.5\n# data: x.frames.gz\n[strategy]\n")
    assert "max-hold-s = 1.0\nmomentum-threshold = 2e-05\nvwap-trades = 15\n" in text
    assert read_fragment(path) == BEST


def test_the_fragment_merged_into_deploy_settings_loads_strictly(tmp_path: Path) -> None:
    fragment = tmp_path / "best.toml"
    fragment.write_text(fragment_text(BEST))
    settings = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_PATH, settings)
    original = settings.read_text()

    backup = apply(fragment, settings)

    loaded = load_section("strategy", StrategySettings, settings)
    assert (loaded.momentum_threshold, loaded.vwap_trades, loaded.max_hold_s) == (2e-05, 15, 1.0)
    assert backup.read_text() == original
    merged = settings.read_text()
    assert "vwap-trades = 15                  # VWAP over the last N trades" in merged
    assert merged.count("vwap-trades") == 1
    changed = [
        (a, b) for a, b in zip(original.splitlines(), merged.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 3  # only the three keys' lines, comments kept


def test_a_key_the_section_lacks_is_added_to_it() -> None:
    text = "[system]\nmode = 'paper'\n\n[strategy]\nmetrics-port = 9\n\n[executor]\nx = 1\n"

    merged = merge_into(text, {"cooldown-s": 0.5})

    assert merged == (
        "[system]\nmode = 'paper'\n\n[strategy]\nmetrics-port = 9\ncooldown-s = 0.5\n"
        "\n[executor]\nx = 1\n"
    )


def test_a_fragment_key_the_loader_does_not_know_refuses_with_the_key(tmp_path: Path) -> None:
    merged = merge_into(DEFAULT_SETTINGS_PATH.read_text(), {"momentum-treshold": 0.1})

    with pytest.raises(SettingsError, match=r"key \[strategy\] momentum-treshold: unknown key"):
        check_merged(merged, DEFAULT_SETTINGS_PATH)


def test_a_bad_fragment_leaves_the_settings_file_alone(tmp_path: Path) -> None:
    fragment = tmp_path / "best.toml"
    fragment.write_text("[strategy]\nvwap-trades = 1\n")
    settings = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_PATH, settings)

    with pytest.raises(SettingsError, match="vwap-trades"):
        apply(fragment, settings)

    assert settings.read_text() == DEFAULT_SETTINGS_PATH.read_text()
    assert not (tmp_path / "settings.toml.bak").exists()


def test_a_fragment_with_another_section_refuses(tmp_path: Path) -> None:
    path = tmp_path / "best.toml"
    path.write_text("[strategy]\nvwap-trades = 5\n[executor]\nx = 1\n")

    with pytest.raises(SettingsError, match=r"one \[strategy\] table only"):
        read_fragment(path)
