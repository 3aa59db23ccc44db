"""The study: storage, sampler, and worker processes that each run trials into it.

One machine: `workers` OS processes (forked, so each has its own interpreter and GIL and
inherits the recording already in memory) each call `study.optimize` on the same storage,
a journal file by default (optuna's `JournalFileBackend`: appends under a file lock, safe
across processes). Several hosts: the same command with `--storage postgresql://...` and
the same `--study` on each host; optuna's RDB storage makes them one study. A study
remembers what it optimises (objective, direction, swept keys, data, in-sample window) and
a worker that joins with something else is refused. docs/decisions/0007-sweeps.md.
"""

import itertools
import multiprocessing
import multiprocessing.connection
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import optuna
import sqlalchemy.exc
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from research.backtest.engine import BacktestError
from research.sweep.data import Recording
from research.sweep.objective import (
    DEFAULT_OBJECTIVE,
    BacktestJob,
    prepare,
    run_trial,
    score_result,
)
from research.sweep.space import Choices, Param, Range, Value, grid_space
from research.sweep.walk_forward import Window
from shared.recordings import RecordingError
from shared.settings import SettingsError

Direction = Literal["maximize", "minimize"]
SAMPLERS: Final = ("grid", "tpe", "random")
FINISHED: Final = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
TRIAL_ERRORS: Final = (SettingsError, BacktestError, RecordingError, ValueError)
RDB_ATTEMPTS: Final = 5  # opening a database storage, see open_storage
POLL_S: Final = 0.5  # how often the progress is read from the storage while workers run
RECORDED: Final = ("pnl_net", "pnl_gross", "fees", "fills", "round_trips")  # per trial


class SweepError(Exception):
    """A sweep that cannot run as asked; the message says which setting and why."""


@dataclass(frozen=True, slots=True)
class Sweep:
    """Everything a worker needs to run trials of one study."""

    job: BacktestJob
    recording: Recording
    params: tuple[Param, ...]
    study: str
    storage: str  # a database URL (postgresql://..., sqlite:///...) or a journal file path
    sampler: str = "tpe"
    seed: int = 1
    objective: str = DEFAULT_OBJECTIVE
    direction: Direction = "maximize"
    train: Window | None = None  # the in-sample part (walk-forward); None: all of it

    def identity(self) -> dict[str, Any]:
        """What every worker of the study must agree on."""
        return {
            "objective": self.objective,
            "keys": sorted(p.key for p in self.params),
            "data": self.recording.describe(),
            "train_end_ns": None if self.train is None else self.train.end_ns,
            "fixed": list(self.job.fixed),
        }


def open_storage(spec: str) -> BaseStorage:
    """A database URL (RDB storage) or a file path (journal storage)."""
    if "://" not in spec:
        return JournalStorage(JournalFileBackend(spec))
    for attempt in range(1, RDB_ATTEMPTS + 1):
        try:
            return RDBStorage(spec, engine_kwargs={"pool_pre_ping": True})
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            # Hosts starting together on an empty database both create optuna's tables and
            # types; the loser's CREATE fails on what the winner committed. Once that is
            # committed, opening again finds the tables and creates nothing.
            if attempt == RDB_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def close_storage(storage: BaseStorage) -> None:
    """Drop pooled connections (before forking: a child must not share the parent's)."""
    if isinstance(storage, RDBStorage):
        storage.engine.dispose()


def make_sampler(sweep: Sweep, worker: int) -> optuna.samplers.BaseSampler:
    """The sampler of one worker (seeded with the sweep's seed + the worker's index)."""
    seed = sweep.seed + worker
    if sweep.sampler == "grid":
        return optuna.samplers.GridSampler(grid_space(sweep.params), seed=seed)
    if sweep.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sweep.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SweepError(f"--sampler {sweep.sampler}: unknown (known: {', '.join(SAMPLERS)})")


def create_study(sweep: Sweep) -> None:
    """Create the study, or join it if it exists and optimises the same thing."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(sweep.storage)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=sweep.study,
            direction=sweep.direction,
            load_if_exists=True,
        )
        _check_identity(study, sweep)
    finally:
        close_storage(storage)


def _check_identity(study: optuna.Study, sweep: Sweep) -> None:
    if study.direction.name.lower() != sweep.direction:
        raise SweepError(
            f"--study {sweep.study}: it exists with direction {study.direction.name.lower()},"
            f" not {sweep.direction}"
        )
    want = sweep.identity()
    have = study.user_attrs.get("identity")
    if have is None:
        study.set_user_attr("identity", want)
        if sweep.sampler == "grid":
            _enqueue_grid(study, sweep)
        return
    for key, value in want.items():
        if have.get(key) != value:
            raise SweepError(
                f"--study {sweep.study}: it exists with {key} {have.get(key)!r}, not {value!r}"
                " (use another --study name)"
            )


def _enqueue_grid(study: optuna.Study, sweep: Sweep) -> None:
    """Queue every grid point once in a new study: a worker claims a queued trial atomically
    in the storage, so workers (and hosts) never run a point twice, which GridSampler alone
    does when two workers ask at the same moment."""
    space = grid_space(sweep.params)
    keys = sorted(space)
    for point in itertools.product(*(space[k] for k in keys)):
        study.enqueue_trial(dict(zip(keys, point, strict=True)))


def suggest(trial: optuna.Trial, param: Param) -> Value:
    """The trial's value for one param."""
    if isinstance(param, Choices):
        chosen = trial.suggest_categorical(param.key, list(param.values))
        assert chosen is not None
        return chosen
    assert isinstance(param, Range)
    if param.kind is int:
        step = 1 if param.step is None else int(param.step)
        return trial.suggest_int(param.key, int(param.low), int(param.high), step=step)
    step_f = None if param.step is None else float(param.step)
    return trial.suggest_float(param.key, float(param.low), float(param.high), step=step_f)


class TrialObjective:
    """optuna's objective: one backtest on the in-sample part, scored."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, trial: optuna.Trial) -> float:
        s = self.sweep
        values = {p.key: suggest(trial, p) for p in s.params}
        trial.set_user_attr("worker", self.worker)
        try:
            result = run_trial(s.job, s.recording.source(s.train), values)
        except TRIAL_ERRORS as e:
            trial.set_user_attr("error", str(e))
            raise
        for name in RECORDED:
            trial.set_user_attr(name, str(getattr(result.summary, name)))
        value = score_result(result, s.objective)
        if value is None:  # unknown on this run (no fills ...): not ranked, never 0
            trial.set_user_attr("error", f"{s.objective} unknown on this run")
            raise optuna.TrialPruned(f"{s.objective} unknown on this run")
        return value


def run_worker(sweep: Sweep, trials: int, worker: int) -> None:
    """Run `trials` trials of the study in this process."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(sweep.storage)
    try:
        study = optuna.load_study(
            study_name=sweep.study, storage=storage, sampler=make_sampler(sweep, worker)
        )
        study.optimize(TrialObjective(sweep), n_trials=trials, catch=TRIAL_ERRORS)
    finally:
        close_storage(storage)


def shares(trials: int, workers: int) -> list[int]:
    """`trials` split over `workers` as evenly as can be (no worker with none)."""
    if trials < 0 or workers < 1:
        raise SweepError(f"--trials {trials} --workers {workers}: need trials >= 0, workers >= 1")
    used = max(1, min(workers, trials))
    return [trials // used + (1 if k < trials % used else 0) for k in range(used) if trials]


def finished_count(sweep: Sweep) -> int:
    """Trials of the study that have finished (completed, failed or pruned)."""
    storage = open_storage(sweep.storage)
    try:
        study = optuna.load_study(study_name=sweep.study, storage=storage)
        return len(study.get_trials(deepcopy=False, states=FINISHED))
    finally:
        close_storage(storage)


def run(
    sweep: Sweep,
    trials: int,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Create or join the study, then run `trials` trials over `workers` forked processes;
    `progress` is told how many of this run's trials have finished, as they do."""
    split = shares(trials, workers)
    if sweep.storage.startswith("sqlite") and len(split) > 1:
        raise SweepError(
            f"--storage {sweep.storage}: SQLite does not lock rows, so two worker processes"
            " can take the same queued trial; use a journal FILE (one machine), a"
            " postgresql:// URL (several hosts), or --workers 1"
        )
    # before the study and the workers: a refusal, the columnar cache built (shared by the
    # forked workers), or the lines read (if small)
    prepare(sweep.job, sweep.recording.source())
    create_study(sweep)
    before = finished_count(sweep)
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=run_worker, args=(sweep, n, k), name=f"sweep-worker-{k}")
        for k, n in enumerate(split)
    ]
    for p in processes:
        p.start()
    try:
        _wait(processes, sweep, before, progress)
    finally:
        for p in processes:
            if p.is_alive():
                p.terminate()
            p.join()
    failed = [p.name for p in processes if p.exitcode != 0]
    if failed:
        raise SweepError(f"worker(s) {', '.join(failed)} failed (see the messages above)")


def _wait(
    processes: Sequence[multiprocessing.process.BaseProcess],
    sweep: Sweep,
    before: int,
    progress: Callable[[int], None] | None,
) -> None:
    storage = open_storage(sweep.storage)  # one reader: a journal is then read incrementally
    try:
        study = optuna.load_study(study_name=sweep.study, storage=storage)
        alive = list(processes)
        while alive:
            multiprocessing.connection.wait([p.sentinel for p in alive], timeout=POLL_S)
            alive = [p for p in alive if p.is_alive()]
            if progress is not None:
                progress(len(study.get_trials(deepcopy=False, states=FINISHED)) - before)
    finally:
        close_storage(storage)


def load(sweep: Sweep) -> optuna.Study:
    """The study (read-only use: the table, the best)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=sweep.study, storage=open_storage(sweep.storage))


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """Completed trials, best first (ties: the earlier trial first)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return sorted(done, key=lambda t: (sign * float(t.value or 0.0), t.number))


def journal_path(directory: Path, study: str) -> str:
    """The default one-machine storage: a journal file named after the study."""
    return str(directory / f"{study}.journal")
