"""Dependency direction: checked on the source, so a wrong import fails CI."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB_ONLY_EXTRA = {"msgspec"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _sources(*parts: str) -> list[Path]:
    return sorted(ROOT.joinpath(*parts).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", _sources("shared") + _sources("services"), ids=str)
def test_only_the_bus_imports_zmq(path: Path) -> None:
    if ROOT / "shared" / "bus" in path.parents:
        return
    assert "zmq" not in {_top(n) for n in _imports(path)}


@pytest.mark.parametrize("path", _sources("shared", "schema"), ids=lambda p: p.name)
def test_schema_imports_only_msgspec_stdlib_and_itself(path: Path) -> None:
    import sys

    for name in _imports(path):
        top = _top(name)
        allowed = top in sys.stdlib_module_names or top in STDLIB_ONLY_EXTRA
        assert allowed or name.startswith("shared.schema"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _sources("services"), ids=str)
def test_services_never_import_each_other(path: Path) -> None:
    own = path.relative_to(ROOT / "services").parts[0]
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "services" and len(parts) > 1:
            assert parts[1] == own, f"{path} imports {name}"


@pytest.mark.parametrize("path", _sources("shared"), ids=str)
def test_shared_never_imports_services(path: Path) -> None:
    assert "services" not in {_top(n) for n in _imports(path)}


@pytest.mark.parametrize("path", _sources("services", "strategy"), ids=str)
def test_the_strategy_never_imports_the_bybit_package(path: Path) -> None:
    """Its instrument rules come from the bus (InstrumentRulesChanged), its data from the
    feed: only the feed, the scanner and the executor talk to the venue."""
    bybit = [n for n in _imports(path) if n == "shared.bybit" or n.startswith("shared.bybit.")]
    assert bybit == [], f"{path} imports {bybit}"
