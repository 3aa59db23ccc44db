"""A sweep on the 10 s fixture: worker processes fill one study; the CLI prints the table,
reports the best out of sample, and writes a fragment the settings loader accepts."""

import dataclasses
import json
import shutil
from pathlib import Path

import optuna
import pytest

from research.backtest.columnar import cache_path
from research.sweep import runner
from research.sweep.cli import main
from research.sweep.data import Recording
from research.sweep.fragment import apply, read_fragment
from research.sweep.objective import BacktestJob, objectives, score
from research.sweep.space import parse_params
from services.strategy.settings import StrategySettings
from shared.settings import DEFAULT_SETTINGS_PATH, REPO_ROOT, load_section
from tests.unit.research.second_symbol import derive

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"


def _sweep(tmp_path: Path, sampler: str, specs: list[str]) -> runner.Sweep:
    return runner.Sweep(
        job=BacktestJob(DEFAULT_SETTINGS_PATH, "ETHUSDT", ("max-hold-s=1",)),
        recording=Recording(files=(FIXTURE,)),
        params=parse_params(specs),
        study="t",
        storage=runner.journal_path(tmp_path, "t"),
        sampler=sampler,
    )


@pytest.mark.parametrize(("trials", "workers"), [(0, 2), (1, 2), (5, 2), (7, 3), (2, 8)])
def test_shares_split_the_trials_evenly(trials: int, workers: int) -> None:
    got = runner.shares(trials, workers)

    assert sum(got) == trials
    assert all(n > 0 for n in got)
    assert len(got) <= workers
    assert max(got, default=0) - min(got, default=0) <= 1


def test_two_workers_run_a_grid_once_each_point(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, "grid", ["momentum-threshold=0.00002,0.00005", "vwap-trades=5,20"])
    seen: list[int] = []

    runner.run(sweep, trials=4, workers=2, progress=seen.append)

    study = runner.load(sweep)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    points = sorted((t.params["momentum-threshold"], t.params["vwap-trades"]) for t in trials)
    assert points == [(2e-05, 5), (2e-05, 20), (5e-05, 5), (5e-05, 20)]
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert seen[-1] == 4
    assert runner.ranked(study)[0].value == study.best_value


def test_joining_a_study_with_another_objective_refuses(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, "random", ["max-hold-s=1:5"])
    runner.create_study(sweep)
    other = dataclasses.replace(sweep, objective="fees")

    with pytest.raises(runner.SweepError, match="it exists with objective 'pnl_net', not 'fees'"):
        runner.create_study(other)


def test_sqlite_with_several_workers_refuses(tmp_path: Path) -> None:
    sweep = dataclasses.replace(
        _sweep(tmp_path, "random", ["max-hold-s=1:5"]), storage=f"sqlite:///{tmp_path}/s.db"
    )

    with pytest.raises(runner.SweepError, match="SQLite does not lock rows"):
        runner.run(sweep, trials=4, workers=2)


def test_every_objective_is_a_number_of_the_summary() -> None:
    from research.sweep.objective import run_backtest

    summary = run_backtest(
        BacktestJob(DEFAULT_SETTINGS_PATH, "ETHUSDT"),
        Recording(files=(FIXTURE,)).lines(),
        {"momentum-threshold": 2e-05, "max-hold-s": 1.0},
    )

    assert {
        name: isinstance(score(summary, name), float) for name in objectives()
    } == dict.fromkeys(objectives(), True)
    with pytest.raises(ValueError, match="--objective maker_share: not a numeric summary field"):
        score(summary, "maker_share")


def test_a_sweep_through_the_columnar_cache_scores_as_one_from_the_lines(tmp_path: Path) -> None:
    data = tmp_path / FIXTURE.name
    shutil.copyfile(FIXTURE, data)
    specs = ["momentum-threshold=0.00002,0.00005", "vwap-trades=5,20"]
    scored = []
    for columnar in (False, True):
        study_dir = tmp_path / f"columnar-{columnar}"
        study_dir.mkdir()
        sweep = dataclasses.replace(
            _sweep(study_dir, "grid", specs),
            recording=Recording(files=(data,), columnar=columnar),
        )
        runner.run(sweep, trials=4, workers=1)
        trials = runner.load(sweep).get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        scored.append(sorted((tuple(sorted(t.params.items())), t.value) for t in trials))
    assert cache_path(data).exists()  # built once, before the trials
    assert len(scored[0]) == 4
    assert scored[0] == scored[1]


def test_the_columnar_cache_takes_one_file() -> None:
    with pytest.raises(ValueError, match="exactly one recording FILE"):
        Recording(files=(FIXTURE, FIXTURE), columnar=True)


def test_the_cli_walks_forward_and_writes_a_loadable_fragment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = tmp_path / "best.toml"
    data = tmp_path / FIXTURE.name  # one FILE: read through its cache, built beside it
    shutil.copyfile(FIXTURE, data)

    code = main(
        [
            str(data),
            "--sampler", "random",
            "--trials", "4",
            "--workers", "2",
            "--param", "momentum-threshold=0.00001:0.0001",
            "--param", "vwap-trades=5,20",
            "--set", "max-hold-s=1",
            "--train-fraction", "0.7",
            "--best-out", str(best),
            "--report", str(tmp_path / "sweep.json"),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].split() == [
        "rank", "trial", "pnl_net", "momentum-threshold", "vwap-trades", "fills", "round_trips"
    ]  # fmt: skip
    assert "4 trials (4 complete, 0 failed, 0 with pnl_net unknown), sampler random" in out
    assert "walk-fwd  out of sample (the last 30% by receive time): pnl_net = " in out
    assert cache_path(data).exists()
    values = read_fragment(best)
    assert set(values) == {"momentum-threshold", "vwap-trades", "max-hold-s"}
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert (report["kind"], report["objective"], report["trials_total"]) == ("sweep", "pnl_net", 4)
    assert [t["rank"] for t in report["trials"]] == [1, 2, 3, 4]
    assert report["trials"][0]["params"] == {
        k: values[k] for k in ("momentum-threshold", "vwap-trades")
    }
    assert report["best"][0].startswith("best      trial ")
    assert "# objective pnl_net (maximize) = " in best.read_text()
    settings = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_PATH, settings)
    apply(best, settings)
    loaded = load_section("strategy", StrategySettings, settings)
    assert loaded.vwap_trades == values["vwap-trades"]
    assert loaded.momentum_threshold == values["momentum-threshold"]


def test_the_cli_refuses_a_bad_param_with_its_key(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(FIXTURE), "--param", "vwap-trades=1:5"])

    assert code == 2
    assert "error: --param vwap-trades: 1 refused: Expected `int` >= 2" in capsys.readouterr().err


def test_a_report_metric_can_be_the_objective_and_an_unknown_one_is_none() -> None:
    from research.sweep.objective import metric_objectives, run_trial, score_result

    lines = Recording(files=(FIXTURE,)).lines()
    trading = run_trial(
        BacktestJob(DEFAULT_SETTINGS_PATH, "ETHUSDT"),
        lines,
        {"momentum-threshold": 2e-05, "max-hold-s": 1.0},
    )
    idle = run_trial(
        BacktestJob(DEFAULT_SETTINGS_PATH, "ETHUSDT"),
        Recording(files=(FIXTURE,)).lines(),
        {"momentum-threshold": 0.5},  # never enters: no fills
    )

    assert "sharpe_annualised" in metric_objectives()
    assert "net_bps_per_notional" in metric_objectives()
    assert isinstance(score_result(trading, "net_bps_per_notional"), float)
    assert score_result(trading, "pnl_net") == float(trading.summary.pnl_net)
    assert score_result(idle, "net_bps_per_notional") is None  # no fills: unknown, not 0
    with pytest.raises(ValueError, match="--objective nope: not a number of the result"):
        score_result(idle, "nope")


def test_the_cli_sweeps_a_market_maker_over_two_symbols(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eth = tmp_path / FIXTURE.name
    shutil.copyfile(FIXTURE, eth)
    sol = derive(tmp_path / "SOLUSDT-2024-08-08.frames.gz", "SOLUSDT")
    maker = 'market-maker={follow="market-making", order-notional-usdt=500.0}'

    code = main(
        [
            str(eth), str(sol),
            "--grid", "--workers", "1", "--quiet",
            "--set", "kind=market-maker", "--set", maker,
            "--param", "max-hold-s=1,2",
            "--report", str(tmp_path / "sweep.json"),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 trials (2 complete, 0 failed" in out
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert all(int(t["figures"]["fills"]) > 0 for t in report["trials"])
    assert f"{eth}, {sol}" in report["best"][-2]  # the data line names both recordings


def test_the_cli_refuses_the_scalper_over_two_symbols(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sol = derive(tmp_path / "SOLUSDT-2024-08-08.frames.gz", "SOLUSDT")

    code = main([str(FIXTURE), str(sol), "--grid", "--quiet", "--param", "max-hold-s=1,2"])

    assert code == 2
    assert "error: the momentum scalper trades one symbol" in capsys.readouterr().err


def test_a_study_remembers_its_dotted_keys(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, "random", ["market-maker.min-spread-bps=0.5:2"])
    runner.create_study(sweep)
    other = dataclasses.replace(sweep, params=parse_params(["market-maker.max-spread-bps=3:5"]))

    assert sweep.identity()["keys"] == ["market-maker.min-spread-bps"]
    runner.create_study(sweep)  # the same keys: joins
    with pytest.raises(
        runner.SweepError,
        match=r"it exists with keys \['market-maker.min-spread-bps'\],"
        r" not \['market-maker.max-spread-bps'\]",
    ):
        runner.create_study(other)


def test_swept_market_maker_values_reach_the_trial_as_dotted_overrides() -> None:
    from research.sweep.objective import overrides, run_trial

    job = BacktestJob(DEFAULT_SETTINGS_PATH, "ETHUSDT", ("kind=market-maker",))
    values = {"market-maker.min-spread-bps": 1.5, "market-maker.vol-sensitivity-ratio": 0.1}

    assert overrides(values) == [
        "market-maker.min-spread-bps=1.5",
        "market-maker.vol-sensitivity-ratio=0.1",
    ]
    result = run_trial(job, Recording(files=(FIXTURE,)).lines(), values)
    strategy = result.settings["strategy"]  # the run's settings, echoed in its result
    mm = strategy["market-maker"]
    assert strategy["kind"] == "market-maker"
    assert (mm["min-spread-bps"], mm["vol-sensitivity-ratio"], mm["max-spread-bps"]) == (
        1.5,
        0.1,
        2.5,
    )


def test_the_cli_sweeps_the_market_makers_keys_and_applies_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = tmp_path / "best.toml"
    data = tmp_path / FIXTURE.name  # one FILE: read through its cache, built beside it
    shutil.copyfile(FIXTURE, data)
    key = "market-maker.min-spread-bps"

    code = main(
        [
            str(data),
            "--set", "kind=market-maker",
            "--grid", "--workers", "1", "--quiet",
            "--param", f"{key}=0.5,1.0,2.0",
            "--best-out", str(best),
            "--report", str(tmp_path / "sweep.json"),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].split() == ["rank", "trial", "pnl_net", key, "fills", "round_trips"]
    assert "3 trials (3 complete, 0 failed, 0 with pnl_net unknown), sampler grid" in out
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert report["keys"] == [key]
    assert sorted(t["params"][key] for t in report["trials"]) == [0.5, 1.0, 2.0]
    figures = {(t["value"], t["figures"]["fills"]) for t in report["trials"]}
    assert len(figures) > 1  # the swept key changes what the market maker does
    values = read_fragment(best)
    assert values == {"kind": "market-maker", key: report["trials"][0]["params"][key]}
    text = best.read_text()
    assert '\n[strategy]\nkind = "market-maker"\n\n[strategy.market-maker]\n' in text
    settings = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_PATH, settings)
    assert main(["--apply", str(best), str(settings)]) == 0
    loaded = load_section("strategy", StrategySettings, settings)
    assert (loaded.kind, loaded.market_maker.min_spread_bps) == ("market-maker", values[key])


def test_the_cli_refuses_an_unknown_market_maker_key(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(FIXTURE), "--param", "market-maker.min-spred-bps=1:2"])

    assert code == 2
    err = capsys.readouterr().err
    assert "error: --param market-maker.min-spred-bps: not a sweepable" in err
    assert "market-maker.min-spread-bps" in err  # the known keys listed


def test_the_help_lists_the_market_makers_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])

    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--param market-maker.min-spread-bps=0.5:3:0.5" in text
    assert "market-maker.vol-sensitivity-ratio," in text  # in the list of sweepable keys
