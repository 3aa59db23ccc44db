"""The Grafana dashboard and the Prometheus config use only what the services export."""

import ast
import json
import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any, Final

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from services.scanner.service import ScannerMetrics
from services.strategy.mm_metrics import MakerMetrics
from shared.bus import BusStats, PeerLiveness
from shared.runtime.clock import FakeClock
from shared.runtime.metrics import (
    BusCollector,
    CounterCollector,
    GaugeCollector,
    LatencyCollector,
    LatencyWindow,
)

ROOT: Final = Path(__file__).resolve().parents[2]
DASHBOARDS: Final = sorted((ROOT / "deploy" / "grafana").glob("*.json"))
PROMETHEUS: Final = ROOT / "deploy" / "prometheus.yml"
SERVICES: Final = ("scanner", "recorder", "feed", "strategy", "executor", "simulator", "dashboard")
PROMETHEUS_BUILTINS: Final = frozenset({"up"})  # made by Prometheus, not by a service

# PromQL words that look like metric names: functions are followed by "(", so these are
# aggregation modifiers and keywords only.
_KEYWORDS: Final = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "inf", "nan"}
)
_LABELS: Final = re.compile(r"\{[^}]*\}")
_GROUPING: Final = re.compile(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)")
_RANGE: Final = re.compile(r"\[[^\]]*\]")
_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Return the metric names an expression reads (not its functions, labels or keywords)."""
    bare = _RANGE.sub(" ", _GROUPING.sub(" ", _LABELS.sub(" ", expr)))
    names: set[str] = set()
    for match in _NAME.finditer(bare):
        following = bare[match.end() :].lstrip()
        if following.startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def _collector_calls() -> list[tuple[str, str]]:
    """(class, first argument) of every Counter/Latency/GaugeCollector in services/."""
    calls = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("CounterCollector", "LatencyCollector", "GaugeCollector")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                calls.append((node.func.id, str(node.args[0].value)))
    return calls


def _sample_collectors() -> list[Collector]:
    stats = BusStats(sent=1, received=1)
    stats.dropped["hwm"] += 1
    stats.gaps["feed"] += 1
    stats.lost["feed"] += 1
    stats.restarts["feed"] += 1
    liveness = PeerLiveness(interval_ns=1_000_000_000)
    liveness.heard("feed", 0)
    window = LatencyWindow()
    window.add("order_to_ack", 1_000)
    collectors: list[Collector] = [BusCollector(stats, liveness, FakeClock())]
    for kind, name in _collector_calls():
        if kind == "CounterCollector":
            collectors.append(CounterCollector(name, "sample", lambda: Counter(sample=1)))
        elif kind == "GaugeCollector":
            collectors.append(GaugeCollector(name, "sample", "label", lambda: {"sample": 1.0}))
        else:
            collectors.append(LatencyCollector(name, window))
    return collectors


def exported_names() -> set[str]:
    """Every series name the services' collectors produce, as Prometheus stores it."""
    registry = CollectorRegistry()
    for collector in _sample_collectors():
        registry.register(collector)
    ScannerMetrics(registry)
    registry.register(MakerMetrics("sample", (1.0, 2.0)))  # the market maker's (unfed)
    names: set[str] = set()
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("_sum", "_count"),
    }
    for family in registry.collect():
        names.update(sample.name for sample in family.samples)
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def _dashboard(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _expressions(path: Path) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _dashboard(path)["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_dashboards_are_found() -> None:
    assert [p.name for p in DASHBOARDS] == ["market-maker.json", "trading-system.json"]


def test_exported_names_are_found_from_the_services_collectors() -> None:
    names = exported_names()

    assert {"bus_sent_messages_total", "bus_peer_alive", "executor_events_total"} <= names
    assert {"executor_latency_us_bucket", "executor_latency_recent_us"} <= names
    assert {"feed_events_total", "strategy_loop_total", "scanner_scan_failures_total"} <= names
    assert {"mm_stage_latency_seconds_bucket", "mm_guard_triggers_total"} <= names
    assert {"mm_fill_net_bps_sum", "mm_inventory_usdt"} <= names


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            'sum by (job, reason) (rate(bus_dropped_messages_total{reason="hwm"}[5m]))',
            {"bus_dropped_messages_total"},
        ),
        (
            "histogram_quantile(0.99, sum by (le, stage) (rate(x_us_bucket[5m]))) * 60",
            {"x_us_bucket"},
        ),
    ],
)
def test_metric_names_skip_functions_labels_and_keywords(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_every_metric_in_the_dashboard_is_exported(path: Path) -> None:
    exported = exported_names() | PROMETHEUS_BUILTINS
    expressions = _expressions(path)

    unknown = {
        (title, name)
        for title, expr in expressions
        for name in metric_names(expr)
        if name not in exported
    }

    assert len(expressions) > 20
    assert unknown == set()


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_dashboard_reads_prometheus_through_the_datasource_variable(path: Path) -> None:
    dashboard = _dashboard(path)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    query_panels = [p for p in dashboard["panels"] if p.get("targets")]

    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert {p["datasource"]["uid"] for p in query_panels} == {"${DS_PROMETHEUS}"}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_prometheus_scrapes_every_service_on_its_metrics_port() -> None:
    settings = tomllib.loads((ROOT / "deploy" / "settings.toml").read_text())
    text = PROMETHEUS.read_text()

    jobs = dict(
        re.findall(
            r"job_name:\s*(\w+)\s*\n\s*static_configs:\s*\n\s*-\s*targets:\s*\[\"([^\"]+)\"", text
        )
    )

    assert jobs == {name: f"127.0.0.1:{settings[name]['metrics-port']}" for name in SERVICES}


def test_the_market_maker_dashboard_has_its_three_rows() -> None:
    dashboard = _dashboard(ROOT / "deploy" / "grafana" / "market-maker.json")
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]

    assert rows == ["Performance", "Risk", "Edge"]
    assert dashboard["uid"] == "market-maker"
