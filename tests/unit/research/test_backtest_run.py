"""The engine on real data (the ETHUSDT fixtures): the live MomentumScalper trades, the
result is byte-identical run to run, the ledger agrees with the venue's wallet."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from research.backtest.cli import main
from research.backtest.desk import ACCOUNT
from research.backtest.engine import BacktestError, Engine
from research.backtest.market import recording_lines
from research.backtest.result import BacktestResult
from research.backtest.settings import (
    BacktestSettings,
    Latency,
    load_settings,
    parse_overrides,
)
from services.strategy.api import Output
from services.strategy.settings import StrategySettings
from shared.schema import BusMessage, OrderSide, Trade
from shared.settings import DEFAULT_SETTINGS_PATH, SettingsError
from tests.unit.research import support
from tests.unit.research.support import MS, Scripted, latency

FIXTURES = Path(__file__).parents[2] / "fixtures"
REPLAY = FIXTURES / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
FIRST_200 = FIXTURES / "data" / "ETHUSDT-2024-08-08-first-200.frames.gz"
# The fixture moves 0.01 % in ten seconds: a lower threshold and short holds make it trade.
TRADING = {"momentum_threshold": 0.00002, "max_hold_s": 1.0, "cooldown_s": 0.5}


def _scalper(**knobs: object) -> BacktestSettings:
    strategy = StrategySettings(metrics_port=1, **TRADING)  # type: ignore[arg-type]
    return support.settings(strategy=strategy, **knobs)


def _run(s: BacktestSettings, path: Path = REPLAY) -> BacktestResult:
    return Engine(s, recording_lines([path])).run()


def test_the_live_scalper_trades_the_fixture_and_its_books_match_the_venue() -> None:
    result = _run(_scalper(entry_latency=latency(2), response_latency=latency(2)))
    summary = result.summary
    assert summary.frames == 2344
    assert summary.entries >= 2
    assert summary.fills >= 2
    assert summary.round_trips >= 1
    assert summary.ledger_matches_venue
    assert summary.fees > 0
    assert summary.pnl_net == summary.pnl_gross - summary.fees
    assert result.counters["engine"]["transition_Switching_Idle"] == 1
    assert result.equity
    assert result.equity[-1].ts_ns <= summary.last_ns
    assert {o.status for o in result.orders} <= {"Filled", "Canceled", "Accepted"}


def test_without_the_override_it_does_not_trade() -> None:
    result = _run(support.settings())
    assert result.summary.orders == 0
    assert result.counters["engine"]["transition_Switching_Idle"] == 1


def test_the_same_data_settings_and_seed_give_the_same_bytes() -> None:
    samples = Latency(samples_ns=tuple(k * 250_000 for k in range(1, 40)))
    s = _scalper(entry_latency=samples, response_latency=samples, seed=11)
    first, second = _run(s).to_json(), _run(s).to_json()
    assert first == second
    assert json.loads(first)["summary"]["fills"] > 0


def test_a_post_only_entry_that_would_cross_is_cancelled_by_the_venue() -> None:
    def cross(strategy: Scripted, message: BusMessage, now: int) -> list[Output]:
        if isinstance(message, Trade) and strategy.sent == 0:  # a bid far above the ask
            return [strategy.order(OrderSide.BUY, "0.05", now, price="2681.80")]
        return []

    strategy = Scripted(cross)
    engine = Engine(support.settings(), recording_lines([REPLAY]), strategy=strategy)
    result = engine.run()
    (order,) = result.orders
    assert order.status == "Canceled"  # OrderCanceled, as the live executor publishes it
    assert result.summary.fills == 0
    (at_venue,) = engine.venue.order_history(ACCOUNT)
    assert at_venue.reject_reason == "EC_PostOnlyWillTakeLiquidity"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.booleans(), st.integers(1, 30)), min_size=1, max_size=6
    )
)
def test_the_ledger_equals_the_venues_wallet_change(plan: list[tuple[int, bool, int]]) -> None:
    """Market orders of any size and side (adds, reductions, flips) at trade k of the data:
    realised PnL - fees booked from the executor's events == the venue's wallet change."""
    wanted = {k: (buy, lots) for k, buy, lots in plan}

    def trade_on_plan(strategy: Scripted, message: BusMessage, now: int) -> list[Output]:
        if not isinstance(message, Trade):
            return []
        strategy.counters["trades"] += 1
        step = wanted.get(strategy.counters["trades"] - 1)
        if step is None:
            return []
        side = OrderSide.BUY if step[0] else OrderSide.SELL
        return [strategy.order(side, str(Decimal(step[1]) / 100), now)]

    strategy = Scripted(trade_on_plan)
    s = support.settings(response_latency=latency(1))
    summary = Engine(s, recording_lines([FIRST_200]), strategy=strategy).run().summary
    assert summary.ledger_matches_venue, summary


def test_overrides_are_read_as_toml_values() -> None:
    assert parse_overrides(["max_hold_s=5", "strategy-id=abc", "vwap-trades=7"]) == {
        "max-hold-s": 5,
        "strategy-id": "abc",
        "vwap-trades": 7,
    }


def test_a_dotted_override_is_one_key_and_an_inline_table_a_whole_table() -> None:
    assert parse_overrides(
        ["market_maker.min_spread_bps=1", " market-maker . max-spread-bps =3.0", "kind=x"]
    ) == {"market-maker.min-spread-bps": 1, "market-maker.max-spread-bps": 3.0, "kind": "x"}
    assert parse_overrides(["market-maker={follow='scanner'}"]) == {
        "market-maker": {"follow": "scanner"}
    }
    for bad in ("market-maker.=1", ".x=1", "a..b=1"):
        with pytest.raises(SettingsError, match="expected key=value"):
            parse_overrides([bad])


MM_TABLE = "\n[strategy.market-maker]\nmin-spread-bps = 0.8\nmax-spread-bps = 3.0\n"


def _mm_settings(tmp_path: Path, table: str = MM_TABLE) -> Path:
    """deploy/settings.toml with a [strategy.market-maker] table of its own."""
    path = tmp_path / "settings.toml"
    path.write_text(DEFAULT_SETTINGS_PATH.read_text() + table)
    return path


def _mm(path: Path, overrides: list[str]) -> tuple[float, float, float]:
    mm = load_settings(path, "ETHUSDT", overrides).strategy.market_maker
    return mm.min_spread_bps, mm.max_spread_bps, mm.order_notional_usdt


def test_a_dotted_override_merges_into_the_files_table(tmp_path: Path) -> None:
    path = _mm_settings(tmp_path)

    assert _mm(path, []) == (0.8, 3.0, 100.0)
    assert _mm(path, ["market-maker.min-spread-bps=1.5"]) == (1.5, 3.0, 100.0)  # max kept
    assert _mm(path, ["market-maker.order-notional-usdt=200"]) == (0.8, 3.0, 200.0)
    # a table the file lacks (deploy/settings.toml has it commented out) starts empty
    assert _mm(DEFAULT_SETTINGS_PATH, ["market-maker.min-spread-bps=2.0"]) == (2.0, 2.5, 100.0)


def test_an_inline_table_override_still_replaces_the_files_table(tmp_path: Path) -> None:
    path = _mm_settings(tmp_path)

    assert _mm(path, ["market-maker={min-spread-bps=1.0}"]) == (1.0, 2.5, 100.0)  # max: default
    # in order: the table replaced, then one key of it set
    replaced = ["market-maker={min-spread-bps=1.0}", "market-maker.max-spread-bps=4.0"]
    assert _mm(path, replaced) == (1.0, 4.0, 100.0)


def test_the_document_is_not_changed_by_an_override() -> None:
    from research.backtest.settings import _section

    document = {"strategy": {"market-maker": {"min-spread-bps": 0.8}}}
    extra = parse_overrides(["market-maker.min-spread-bps=1.0"])

    assert _section(document, "strategy", StrategySettings, extra).market_maker.min_spread_bps == 1
    assert document == {"strategy": {"market-maker": {"min-spread-bps": 0.8}}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["kind.x=1"], "--set kind.x: kind is not a table of [strategy]"),
        (["kind=momentum", "kind.x=1"], "--set kind.x: kind is not a table (it is 'momentum')"),
        (["nope.x=1"], "--set nope.x: [strategy] has no key 'nope'"),
        (["market-maker=1", "market-maker.x=1"], "market-maker is not a table (it is 1)"),
        (["market-maker.min-spred-bps=1"], "unknown field `min-spred-bps` - at `$.market-maker`"),
        (["market-maker.min-spread-bps=5"], "min-spread-bps (5.0) must be < max-spread-bps"),
    ],
)
def test_a_bad_dotted_override_names_the_key_and_the_reason(
    overrides: list[str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(DEFAULT_SETTINGS_PATH, "ETHUSDT", overrides)

    assert message in str(caught.value)


def test_the_command_line_writes_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    args = [str(REPLAY), "--out", str(out), "--quiet", "--entry-latency-ms", "2"]
    args += ["--set", "momentum-threshold=0.00002", "--set", "max-hold-s=1"]
    assert main(args) == 0
    assert json.loads(out.read_bytes())["summary"]["fills"] > 0
    assert "PnL net" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere.frames.gz"], "no such recording file"),
        ([str(REPLAY), "--set", "no-such-key=1"], "unknown field"),
        ([str(REPLAY), "--symbol", "NOPEUSDT"], "does not list NOPEUSDT"),
        ([str(FIXTURES / "data" / "SOURCES.md"), "--symbol", "ETHUSDT"], "not a gzip file"),
        (["--recordings", "x"], "--recordings needs --day and --symbol"),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main([*args, "--quiet", "--out", str(tmp_path / "r.json")]) == 2
    assert message in capsys.readouterr().err


def test_no_frames_is_an_error() -> None:
    with pytest.raises(BacktestError):
        Engine(support.settings(), [(1 * MS, b"not a frame")])


def test_help_names_the_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--recordings", "--set", "--entry-latency-samples", "--queue-model", "--seed"):
        assert flag in text


def test_the_backtest_uses_no_bus() -> None:
    import ast

    for path in (Path(__file__).parents[3] / "research").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if n.startswith(("zmq", "shared.bus"))}, path
