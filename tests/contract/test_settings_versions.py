"""A settings file of an older version loads as the current one, each change named; a newer
one, or a version that is no number, is refused; scripts/settings --migrate rewrites it."""

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts import settings as settings_command
from scripts.preflight import SECTIONS
from services.recorder.settings import RecorderSettings
from services.strategy.settings import StrategySettings
from shared.settings import (
    DEFAULT_SETTINGS_PATH,
    REPO_ROOT,
    SettingsError,
    load_section,
    migration_notice,
    read_settings,
)
from shared.settings_versions import CURRENT_VERSION

CURRENT = DEFAULT_SETTINGS_PATH.read_text()
VERSION_LINE = re.compile(r"(?m)^settings-version = \d+ .*\n\n")
RENAMED = "[strategy] stale-after-ms is now called max-quote-age-ms"


ADDED = "[recorder] metrics-port, recordings-dir, keep-days, flush-interval-s, compress-level added"
RECORDER_KEYS = re.compile(r"(?m)^(market-data-raw|recorder-events|record-raw) = .*\n")
RECORDER_SECTION = re.compile(r"(?ms)^\[recorder\]\n.*?(?=^\[)")


DASHBOARD_SECTION = re.compile(r"(?ms)^\[dashboard\]\n.*?(?=^\[)")


def _version_3(current: str) -> str:
    """`current` as version 3 wrote it: no dashboard."""
    text, stated = re.subn(r"(?m)^settings-version = 4 ", "settings-version = 3 ", current)
    assert stated == 1
    text, sections = DASHBOARD_SECTION.subn("", text)
    assert sections == 1
    return text


def _version_2(current: str) -> str:
    """`current` as version 2 wrote it: no recorder, no raw tap."""
    text, stated = re.subn(
        r"(?m)^settings-version = 3 ", "settings-version = 2 ", _version_3(current)
    )
    assert stated == 1
    text, keys = RECORDER_KEYS.subn("", text)
    text, sections = RECORDER_SECTION.subn("", text)
    assert (keys, sections) == (3, 1)
    return text


def _version_1(current: str) -> str:
    """`current` as version 1 wrote it: no version line, the strategy's stale-after-ms."""
    text, stated = VERSION_LINE.subn("", _version_2(current))
    assert stated == 1
    return re.sub(r"(?m)^max-quote-age-ms = ", "stale-after-ms = ", text)


def test_a_version_3_file_gets_the_dashboard_with_the_template_values(tmp_path: Path) -> None:
    path = _write(tmp_path, _version_3(CURRENT))
    migrated = read_settings(path)
    assert migrated.document == read_settings(DEFAULT_SETTINGS_PATH).document
    assert any("[dashboard] metrics-port, host, port" in change for change in migrated.changes)


def _write(folder: Path, text: str, name: str = "settings.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_the_template_is_the_current_version_and_reads_without_a_notice() -> None:
    migrated = read_settings(DEFAULT_SETTINGS_PATH)
    assert (migrated.version, migrated.changes) == (CURRENT_VERSION, ())
    assert migration_notice(DEFAULT_SETTINGS_PATH) is None


def test_a_version_1_file_loads_as_current_with_each_change_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path, _version_1(CURRENT).replace("stale-after-ms = 100", "stale-after-ms = 250")
    )
    assert load_section("strategy", StrategySettings, path).max_quote_age_ms == 250
    notice = migration_notice(path)
    assert notice is not None
    assert notice.startswith(f"settings: {path} is version 1, read as version {CURRENT_VERSION}: ")
    assert RENAMED in notice
    assert f"scripts/settings --migrate {path}" in notice


def test_a_newer_version_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    path = _write(
        tmp_path, VERSION_LINE.sub(f"settings-version = {CURRENT_VERSION + 1}\n", CURRENT)
    )
    with pytest.raises(SettingsError, match=r"newer than this code knows .* update the code"):
        load_section("system", SECTIONS["system"], path)


@pytest.mark.parametrize("value", ['"2"', "2.0", "true", "0"])
def test_a_version_that_is_no_version_number_is_refused_naming_the_key(
    tmp_path: Path, value: str
) -> None:
    path = _write(tmp_path, VERSION_LINE.sub(f"settings-version = {value}\n", CURRENT))
    with pytest.raises(SettingsError, match=r"key settings-version: .* is not a settings version"):
        load_section("system", SECTIONS["system"], path)


def test_migrate_rewrites_the_file_keeping_comments_and_a_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _version_1(CURRENT)
    path = _write(tmp_path, old)
    assert settings_command.main(["--migrate", str(path)]) == 0
    assert RENAMED in capsys.readouterr().out
    assert (tmp_path / "settings.toml.v1.bak").read_text() == old
    migrated = read_settings(path)
    assert (migrated.version, migrated.changes) == (CURRENT_VERSION, ())
    assert migrated.document == read_settings(DEFAULT_SETTINGS_PATH).document
    assert "# quote or last trade older than this: no entry" in path.read_text()
    assert settings_command.main(["--migrate", str(path)]) == 0  # now nothing to do
    assert "nothing to do" in capsys.readouterr().out


def test_migrate_refuses_a_file_it_cannot_rewrite_line_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _version_1(CURRENT).replace("stale-after-ms = 100", '"stale-after-ms" = 100')
    path = _write(tmp_path, old)
    assert settings_command.main(["--migrate", str(path)]) == 2
    assert "Change by hand: " + RENAMED in capsys.readouterr().err
    assert path.read_text() == old
    assert not list(tmp_path.glob("*.bak"))


def _value(kind: msgspec.inspect.Type) -> st.SearchStrategy[Any] | None:
    """Values within a scalar settings type (its bounds), or None for another type."""
    if isinstance(kind, msgspec.inspect.IntType):
        low = kind.ge if kind.ge is not None else (kind.gt + 1 if kind.gt is not None else -(2**31))
        high = kind.le if kind.le is not None else (kind.lt - 1 if kind.lt is not None else 2**31)
        return st.integers(low, high)
    if isinstance(kind, msgspec.inspect.FloatType):
        return st.floats(
            min_value=kind.ge if kind.ge is not None else kind.gt,
            max_value=kind.le if kind.le is not None else kind.lt,
            exclude_min=kind.gt is not None,
            exclude_max=kind.lt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if isinstance(kind, msgspec.inspect.StrType) and kind.pattern:
        return st.from_regex(kind.pattern, fullmatch=True)
    return None


def _section_values(section: type[msgspec.Struct]) -> st.SearchStrategy[dict[str, Any]]:
    info = msgspec.inspect.type_info(section)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = {f.encode_name: _value(f.type) for f in info.fields}
    return st.fixed_dictionaries({k: v for k, v in fields.items() if v is not None})


def _with_section(text: str, name: str, values: dict[str, Any]) -> str:
    body = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    return re.sub(rf"(?ms)^\[{name}\]\n.*?(?=^\[)", lambda _: f"[{name}]\n{body}\n", text)


def _loaded(path: Path) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, kind in SECTIONS.items():
        try:
            result[name] = load_section(name, kind, path)
        except SettingsError as e:
            result[name] = str(e).replace(str(path), "FILE")
    return result


@settings(max_examples=60, deadline=None)
@given(_section_values(StrategySettings))
def test_version_1_migrated_loads_as_the_current_template(values: dict[str, Any]) -> None:
    """For any strategy values within their types (some refused together: the refusal too)."""
    current = _with_section(CURRENT, "strategy", values)
    with tempfile.TemporaryDirectory() as folder:
        old_path = _write(Path(folder), _version_1(current), "old.toml")
        current_path = _write(Path(folder), current, "current.toml")
        assert _loaded(old_path) == _loaded(current_path)


def test_the_command_runs_from_the_shell_and_says_what_it_would_change(tmp_path: Path) -> None:
    path = _write(tmp_path, _version_1(CURRENT))
    command = [str(REPO_ROOT / "scripts" / "settings"), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert RENAMED in result.stdout
    assert path.read_text() == _version_1(CURRENT)  # without --migrate: only said


def test_a_version_2_file_gets_the_recorder_and_the_raw_tap_with_the_templates_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _version_2(CURRENT)
    path = _write(tmp_path, old)
    assert _loaded(path) == _loaded(DEFAULT_SETTINGS_PATH)
    assert load_section("recorder", RecorderSettings, path).metrics_port == 9106
    notice = migration_notice(path)
    assert notice is not None
    assert ADDED in notice
    assert "[bus.endpoints] market-data-raw, recorder-events added" in notice
    assert "[feed] record-raw added" in notice
    assert settings_command.main(["--migrate", str(path)]) == 0
    assert ADDED in capsys.readouterr().out
    assert read_settings(path).document == read_settings(DEFAULT_SETTINGS_PATH).document
    assert (tmp_path / "settings.toml.v2.bak").read_text() == old


def test_a_key_the_file_already_has_keeps_its_value(tmp_path: Path) -> None:
    old = _version_2(CURRENT).replace(
        "ping-interval-s = 20.0\n", "ping-interval-s = 20.0\nrecord-raw = false\n", 1
    )
    path = _write(tmp_path, old)
    assert read_settings(path).document["feed"]["record-raw"] is False  # type: ignore[index]
    assert settings_command.main(["--migrate", str(path)]) == 0
    assert read_settings(path).document["feed"]["record-raw"] is False  # type: ignore[index]
    assert path.read_text().count("record-raw") == 1
