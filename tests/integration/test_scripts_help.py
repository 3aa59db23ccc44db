"""scripts/test --help is the script's own usage, and says where pytest's help is."""

import subprocess

import pytest

from shared.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def test_scripts_test_help_is_its_own_usage() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "test"), "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.startswith("usage: scripts/test [PYTEST ARGS...]")
    assert "only pytest, with those arguments" in result.stdout
    assert "scripts/test --pytest-help" in result.stdout


def test_scripts_trace_help_says_which_ids_it_takes() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "trace"), "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.startswith("usage: scripts/trace [-h] [--json] [--run-dir RUN_DIR] ID")
    assert "client order id, venue order id or trace id" in result.stdout


def test_scripts_import_bybit_help_says_the_times_are_the_venues() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "import-bybit"), "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.startswith("usage: scripts/import-bybit [-h]")
    assert "no local receive time" in result.stdout
    assert "--into DIR" in result.stdout
