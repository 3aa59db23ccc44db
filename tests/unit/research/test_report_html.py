"""The backtest's HTML report on a real run (the ETHUSDT fixture, the live scalper): it
parses, holds its plots and tables, needs no network, is byte-identical run to run; the
command line writes it next to the JSON; lines are cut to a bounded size."""

import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from research.backtest.cli import main
from research.backtest.engine import Engine
from research.backtest.market import recording_lines
from research.backtest.result import BacktestResult
from research.backtest.settings import BacktestSettings, Latency
from research.report.html import (
    MAX_POINTS,
    cell_text,
    downsample_min_max,
    render,
    settings_table,
)
from research.report.metrics import compute, result_with_metrics_json
from research.report.text import metrics_text
from services.strategy.settings import StrategySettings
from tests.unit.research import support

REPLAY = Path(__file__).parents[2] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
TRADING = {"momentum_threshold": 0.00002, "max_hold_s": 1.0, "cooldown_s": 0.5}


def _settings() -> BacktestSettings:
    samples = Latency(samples_ns=tuple(k * 250_000 for k in range(1, 40)))
    strategy = StrategySettings(metrics_port=1, **TRADING)  # type: ignore[arg-type]
    return support.settings(
        strategy=strategy, entry_latency=samples, response_latency=samples, seed=5
    )


def _run() -> BacktestResult:
    return Engine(_settings(), recording_lines([REPLAY])).run()


class Page(HTMLParser):
    """Counts tags, collects the text and every attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def run() -> tuple[BacktestResult, str]:
    result = _run()
    return result, render(result, compute(result))


def test_the_report_holds_its_plots_and_tables(run: tuple[BacktestResult, str]) -> None:
    result, page = run
    parsed = _parse(page)
    assert result.summary.fills > 0
    assert parsed.tags["svg"] == 5
    assert parsed.tags["table"] == 3  # metrics, per symbol, settings
    assert parsed.tags["polyline"] >= 6  # equity, gross, net, drawdown, position, mid
    assert parsed.tags["polygon"] == 1  # the mid's band
    markers = [v for k, v in parsed.attrs if k == "d" and v and v.startswith("M0,")]
    assert len(markers) == result.summary.fills + 4  # each fill, and the legend's four
    text = " ".join(parsed.text)
    for words in ("equity", "PnL", "drawdown", "position", "our fills", "ETHUSDT"):
        assert words in text
    for metric in ("sharpe_annualised", "max_drawdown_peak_utc", "adverse_5s_mean_bps"):
        assert metric in text
    assert "n/a" in text  # the scalper sends no limit order: its fill ratio is unknown


def test_the_report_needs_no_network(run: tuple[BacktestResult, str]) -> None:
    _, page = run
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert not [k for k, _ in parsed.attrs if k in ("src", "href")]
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_two_runs_give_the_same_bytes(run: tuple[BacktestResult, str]) -> None:
    first, page = run
    second = _run()
    assert result_with_metrics_json(first, compute(first)) == result_with_metrics_json(
        second, compute(second)
    )
    assert render(second, compute(second)) == page


def test_the_json_holds_the_metrics(run: tuple[BacktestResult, str]) -> None:
    result, _ = run
    document = json.loads(result_with_metrics_json(result, compute(result)))
    assert document["metrics"]["fills"] == document["summary"]["fills"]
    assert document["metrics"]["per_symbol"][0]["symbol"] == "ETHUSDT"
    assert document["fills"][0]["symbol"] == "ETHUSDT"
    assert document["marks"]


def test_text_is_escaped() -> None:
    table = settings_table({"symbol": "<script>alert(1)</script>", "x": {"a": "&"}})
    parsed = _parse(table)
    assert "script" not in parsed.tags
    assert "&lt;script&gt;" in table
    assert "&amp;" in table


def test_the_terminal_shows_unknowns_as_na(run: tuple[BacktestResult, str]) -> None:
    result, _ = run
    text = metrics_text(compute(result))
    assert "limit qty filled n/a" in text
    assert "Sharpe" in text
    assert "adverse" in text


def test_the_command_line_writes_json_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    args = [str(REPLAY), "--out", str(out), "--quiet", "--entry-latency-ms", "2"]
    args += ["--set", "momentum-threshold=0.00002", "--set", "max-hold-s=1"]
    assert main(args) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert "metrics" in json.loads(out.read_bytes())
    shown = capsys.readouterr().out
    assert "win rate" in shown
    assert "slippage" in shown
    elsewhere = tmp_path / "report.html"
    assert main([*args, "--html", str(elsewhere)]) == 0
    assert elsewhere.read_text() == (tmp_path / "r.html").read_text()


points = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=5_000)


@given(points, st.integers(4, 300))
def test_a_cut_line_is_bounded_and_keeps_its_extremes(values: list[float], limit: int) -> None:
    line = [(i, v) for i, v in enumerate(values)]
    cut = downsample_min_max(line, limit)
    assert len(cut) <= limit
    assert [t for t, _ in cut] == sorted({t for t, _ in cut})  # in time order, no repeats
    assert set(cut) <= set(line)
    if values:
        assert min(v for _, v in cut) == min(values)
        assert max(v for _, v in cut) == max(values)


def test_the_default_cut_is_two_thousand_points() -> None:
    line = [(i, float(i % 7)) for i in range(100_000)]
    assert len(downsample_min_max(line)) <= MAX_POINTS


def test_the_html_may_not_overwrite_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    assert main([str(REPLAY), "--out", str(out), "--quiet"]) == 2
    assert "same file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "n/a"),
        (Decimal("0.090000"), "0.09"),
        (Decimal("100"), "100"),
        (Decimal("0"), "0"),
        (Decimal("-0.33339452999999999"), "-0.33339453"),
        (83.694712, "83.6947"),
        (-2755.0752, "-2755.08"),
        (0.000109, "0.000109"),
        (1234567.8, "1,234,568"),
        (7, "7"),
    ],
)
def test_cells_are_short_and_unknown_is_na(value: object, shown: str) -> None:
    assert cell_text(value) == shown


def test_a_run_without_trades_still_makes_a_report() -> None:
    result = Engine(support.settings(), recording_lines([REPLAY])).run()
    metrics = compute(result)
    assert metrics.fills == 0
    assert metrics.win_rate_pct is None
    assert metrics.slippage_mean_bps is None
    assert metrics.max_drawdown_usdt == 0  # known: the equity never fell
    parsed = _parse(render(result, metrics))
    assert parsed.tags["svg"] == 5
    assert "n/a" in " ".join(parsed.text)
    assert "n/a" in metrics_text(metrics)
