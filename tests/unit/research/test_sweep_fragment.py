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
    split_values,
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

    with pytest.raises(SettingsError, match=r"a \[strategy\] and a \[strategy.market-maker\]"):
        read_fragment(path)


# The market maker's keys: dotted in a sweep, [strategy.market-maker] in a fragment.
MM_BEST = {
    "kind": "market-maker",
    "market-maker.min-spread-bps": 1.5,
    "market-maker.vol-sensitivity-ratio": 0.1,
    "market-maker.taker-cap-calm-fills": 60,
}


def test_a_fragment_holds_both_tables_and_reads_back_dotted(tmp_path: Path) -> None:
    path = tmp_path / "best.toml"
    path.write_text(fragment_text(MM_BEST, ["study s"]))

    assert path.read_text() == (
        '# study s\n[strategy]\nkind = "market-maker"\n\n[strategy.market-maker]\n'
        "min-spread-bps = 1.5\ntaker-cap-calm-fills = 60\nvol-sensitivity-ratio = 0.1\n"
    )
    assert read_fragment(path) == MM_BEST


def test_a_table_without_keys_is_left_out(tmp_path: Path) -> None:
    only_mm = {"market-maker.min-spread-bps": 1.5}

    assert fragment_text(only_mm) == "[strategy.market-maker]\nmin-spread-bps = 1.5\n"
    assert fragment_text({"vwap-trades": 5}) == "[strategy]\nvwap-trades = 5\n"
    path = tmp_path / "best.toml"
    path.write_text(fragment_text(only_mm))
    assert read_fragment(path) == only_mm


def test_a_whole_market_maker_table_goes_into_the_table_a_dotted_key_winning() -> None:
    fixed = {"market-maker": {"follow": "scanner", "min-spread-bps": 1.0, "symbols": ["ETHUSDT"]}}
    values = {**fixed, "market-maker.min-spread-bps": 2.0, "max-hold-s": 1.0}

    assert split_values(values) == (
        {"max-hold-s": 1.0},
        {"follow": "scanner", "min-spread-bps": 2.0, "symbols": ["ETHUSDT"]},
    )
    assert 'symbols = ["ETHUSDT"]' in fragment_text(values)
    with pytest.raises(SettingsError, match=r"executor\.x: not a \[strategy\] key"):
        split_values({"executor.x": 1})


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("[strategy.market-maker.deeper]\nx = 1\n", "strategy.market-maker.deeper"),
        ("[strategy.other]\nx = 1\n", "strategy.other"),
        ("[strategy.market-maker]\nx = 1\n[executor]\nx = 1\n", "executor"),
        ("x = 1\n", "x"),
    ],
)
def test_a_fragment_with_another_table_refuses(tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "best.toml"
    path.write_text(text)

    with pytest.raises(SettingsError, match="a fragment holds") as caught:
        read_fragment(path)

    assert f"(found {found})" in str(caught.value)


def test_market_maker_keys_apply_to_deploy_settings_and_load_strictly(tmp_path: Path) -> None:
    fragment = tmp_path / "best.toml"
    fragment.write_text(fragment_text(MM_BEST))
    settings = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_PATH, settings)
    original = settings.read_text()
    assert "\n# [strategy.market-maker]\n" in original  # shipped commented out

    backup = apply(fragment, settings)

    loaded = load_section("strategy", StrategySettings, settings)
    mm = loaded.market_maker
    assert (loaded.kind, mm.min_spread_bps, mm.vol_sensitivity_ratio) == ("market-maker", 1.5, 0.1)
    assert (mm.taker_cap_calm_fills, mm.max_spread_bps) == (60, 2.5)  # the others: defaults
    assert backup.read_text() == original
    merged = settings.read_text()
    assert merged.count("\n[strategy.market-maker]\n") == 1
    assert "\n# [strategy.market-maker]\n" in merged  # the comment left as it was
    added = [line for line in merged.splitlines() if line not in original.splitlines()]
    assert added == [
        'kind = "market-maker"',
        "[strategy.market-maker]",
        "min-spread-bps = 1.5",
        "taker-cap-calm-fills = 60",
        "vol-sensitivity-ratio = 0.1",
    ]
    table = merged.index("[strategy.market-maker]\n")
    assert merged.index("[strategy]\n") < table < merged.index("[executor]\n")

    # again, into the section now there: its lines replaced, no second header
    fragment.write_text(fragment_text({"market-maker.min-spread-bps": 0.9}))
    apply(fragment, settings)

    again = settings.read_text()
    assert again.count("[strategy.market-maker]") == 2  # the header and the comment
    assert again == merged.replace("min-spread-bps = 1.5", "min-spread-bps = 0.9")
    assert load_section("strategy", StrategySettings, settings).market_maker.min_spread_bps == 0.9


def test_an_existing_market_maker_section_keeps_its_comments() -> None:
    text = (
        "[strategy]\nmetrics-port = 9\n\n[strategy.market-maker]  # the maker\n"
        'min-spread-bps = 0.8              # bps\nfollow = "scanner"\n\n[executor]\nx = 1\n'
    )

    merged = merge_into(text, {"market-maker.min-spread-bps": 1.0, "market-maker.xi-per-price": 2})

    assert merged == (
        "[strategy]\nmetrics-port = 9\n\n[strategy.market-maker]  # the maker\n"
        'min-spread-bps = 1.0              # bps\nfollow = "scanner"\nxi-per-price = 2\n'
        "\n[executor]\nx = 1\n"
    )


def test_a_market_maker_table_is_added_after_a_last_strategy_section() -> None:
    merged = merge_into("[strategy]\nmetrics-port = 9\n", {"market-maker.min-spread-bps": 1.0})

    assert (
        merged == "[strategy]\nmetrics-port = 9\n\n[strategy.market-maker]\nmin-spread-bps = 1.0\n"
    )


def test_a_strategy_section_that_sets_the_market_maker_inline_refuses() -> None:
    text = "[strategy]\nmetrics-port = 9\nmarket-maker = { min-spread-bps = 1.0 }\n"

    with pytest.raises(SettingsError, match=r"sets market-maker itself \(line 3\)"):
        merge_into(text, {"market-maker.min-spread-bps": 2.0})


def test_a_bad_market_maker_fragment_leaves_the_settings_file_alone(tmp_path: Path) -> None:
    fragment = tmp_path / "best.toml"
    fragment.write_text("[strategy.market-maker]\nmin-spread-bps = 5.0\n")  # > max 2.5
    settings = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_PATH, settings)

    with pytest.raises(SettingsError, match="min-spread-bps"):
        apply(fragment, settings)

    assert settings.read_text() == DEFAULT_SETTINGS_PATH.read_text()
    assert not (tmp_path / "settings.toml.bak").exists()
