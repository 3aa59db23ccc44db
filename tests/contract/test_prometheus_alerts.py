"""The alert rules are complete, loaded by Prometheus, and read only what the services export."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from prometheus_client import CollectorRegistry

from shared.runtime.breaker import Breakers
from shared.runtime.metrics import GaugeCollector
from tests.contract.test_grafana_dashboard import exported_names, metric_names

ROOT: Final = Path(__file__).resolve().parents[2]
ALERTS: Final = ROOT / "deploy" / "prometheus-alerts.yml"
PROMETHEUS: Final = ROOT / "deploy" / "prometheus.yml"
CIRCUIT_STATE: Final = "executor_circuit_state"
SEVERITIES: Final = frozenset({"warning", "critical"})
_DURATION: Final = re.compile(r"\d+[smhd]")
_MATCHER: Final = re.compile(r'(\w+)\s*=~?\s*"([^"]*)"')
_SCRIPT: Final = re.compile(r"scripts/([\w-]+)")
_NUMBER: Final = re.compile(r"(?<![\w.])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")


def _metrics_in(expr: str) -> set[str]:
    # metric_names reads "1e-9" as 1 and a metric "e": numbers go first.
    return metric_names(_NUMBER.sub(" ", expr))


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _rule_ids() -> list[str]:
    return [rule["alert"] for rule in _rules()]


def _circuit_state_gauge() -> set[str]:
    """The gauge register_metrics will export once the breakers are wired in (issue 14)."""
    registry = CollectorRegistry()
    registry.register(
        GaugeCollector(CIRCUIT_STATE, "Breaker state", "group", Breakers().gauge_values)
    )
    return {sample.name for family in registry.collect() for sample in family.samples}


def _source_text() -> str:
    paths = sorted((ROOT / "services").rglob("*.py")) + sorted((ROOT / "shared").rglob("*.py"))
    return "\n".join(path.read_text() for path in paths)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            "sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9) > 0.2",
            {"a_total", "b_total"},
        ),
        ('max(x_us{quantile="0.99"}) > 500000', {"x_us"}),
    ],
)
def test_metrics_in_skip_numbers(expr: str, expected: set[str]) -> None:
    assert _metrics_in(expr) == expected


def test_rules_are_found() -> None:
    assert len(_rules()) >= 6
    assert len(set(_rule_ids())) == len(_rules())


@pytest.mark.parametrize("rule", _rules(), ids=_rule_ids())
def test_every_rule_has_the_fields_an_operator_needs(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
    assert isinstance(rule["expr"], str)
    assert rule["expr"].strip()
    assert _DURATION.fullmatch(str(rule["for"]))
    assert rule["labels"]["severity"] in SEVERITIES
    for key in ("summary", "runbook"):
        text = rule["annotations"][key]
        assert isinstance(text, str)
        assert text.strip()
        assert "\n" not in text


@pytest.mark.parametrize("rule", _rules(), ids=_rule_ids())
def test_every_metric_in_a_rule_is_exported(rule: dict[str, Any]) -> None:
    exported = exported_names() | _circuit_state_gauge()

    unknown = _metrics_in(rule["expr"]) - exported

    assert _metrics_in(rule["expr"])
    assert unknown == set()


@pytest.mark.parametrize("rule", _rules(), ids=_rule_ids())
def test_every_label_value_in_a_rule_occurs_in_the_code(rule: dict[str, Any]) -> None:
    # Counter kinds are made at run time, so a typo in kind="..." would match nothing, quietly.
    # Alerts are counted as alert_<code>: the code is what the source spells out.
    source = _source_text()
    values = {
        alternative.removeprefix("alert_")
        for _, value in _MATCHER.findall(rule["expr"])
        for alternative in value.split("|")
    }

    missing = {v for v in values if not re.search(rf"\b{re.escape(v)}\b", source)}

    assert missing == set()


@pytest.mark.parametrize("rule", _rules(), ids=_rule_ids())
def test_every_runbook_names_scripts_that_exist(rule: dict[str, Any]) -> None:
    scripts = _SCRIPT.findall(rule["annotations"]["runbook"])

    assert scripts
    assert [s for s in scripts if not (ROOT / "scripts" / s).is_file()] == []


@pytest.mark.parametrize("rule", _rules(), ids=_rule_ids())
def test_every_expression_has_balanced_brackets(rule: dict[str, Any]) -> None:
    # A cheap stand-in for promtool, which is not installed here.
    expr, pairs = rule["expr"], {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in expr:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack
            assert stack.pop() == pairs[char]
    assert stack == []


def test_circuit_state_gauge_has_an_alert_when_open() -> None:
    exprs = [rule["expr"] for rule in _rules() if CIRCUIT_STATE in _metrics_in(rule["expr"])]

    assert any(re.search(rf"{CIRCUIT_STATE}\)?\s*==\s*2", expr) for expr in exprs)


def test_circuit_state_gauge_is_registered_by_the_executor() -> None:
    assert CIRCUIT_STATE in exported_names()


def test_prometheus_loads_the_alert_rules() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())

    assert ALERTS.name in config["rule_files"]
    assert (PROMETHEUS.parent / ALERTS.name).is_file()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None

    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
