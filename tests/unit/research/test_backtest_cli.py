"""scripts/backtest's command line: a run from the columnar cache gives the same bytes."""

import shutil
from pathlib import Path

import pytest

from research.backtest.cli import main
from research.report import files

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
TRADING = ["--set", "momentum-threshold=0.00002", "--set", "max-hold-s=1", "--quiet"]


def test_a_run_from_the_cache_writes_what_a_run_from_the_lines_writes(tmp_path: Path) -> None:
    recording = tmp_path / REPLAY.name
    shutil.copy(REPLAY, recording)
    assert main([str(recording), "--out", str(tmp_path / "lines.json"), *TRADING]) == 0
    for run in ("built", "read"):  # the first builds the cache beside the file
        assert (
            main([str(recording), "--cache", "--out", str(tmp_path / f"{run}.json"), *TRADING]) == 0
        )
        assert (tmp_path / "ETHUSDT-2024-08-08-10s.frames.cache.npz").is_file()
        assert (tmp_path / f"{run}.json").read_bytes() == (tmp_path / "lines.json").read_bytes()


def test_the_cache_takes_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "r.json")
    assert main([str(REPLAY), str(REPLAY), "--symbol", "ETHUSDT", "--cache", "--out", out]) == 2
    assert "--cache takes exactly one recording FILE" in capsys.readouterr().err


def test_without_out_the_report_goes_where_the_dashboard_lists_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "REPORTS_DIR", tmp_path / "reports")

    assert main([str(REPLAY), *TRADING]) == 0

    (json_report,) = (tmp_path / "reports").glob("backtest-ETHUSDT-*Z.json")
    assert json_report.with_suffix(".html").is_file()


def test_a_report_name_keeps_only_safe_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "REPORTS_DIR", tmp_path)
    path = files.default_report_path("sweep", "../my study", now_s=0)
    assert path == tmp_path / "sweep-.._my_study-19700101T000000Z.json"
