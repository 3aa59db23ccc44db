"""scripts/run's set-up: the mode's keys, the environment supervisord gets, the key files,
and a fresh journal for a fresh paper account."""

import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from shared.keys import ALL_SECRETS, BUS_KEY, DASHBOARD_KEY, KEYS_DIR_ENV, needed_keys
from shared.settings import REPO_ROOT, Mode, Secrets, SettingsError, settings_path

JOURNAL = "executor-journal.sqlite"


def check_mode(mode: Mode, live_flag: bool) -> None:
    """Refuse --live without mode = live, and mode = live without --live."""
    if live_flag and mode is not Mode.LIVE:
        raise SystemExit(
            f"error: --live given but the settings ({settings_path()}) say mode = {mode.value};"
            ' --live is only for mode = "live" (real money): drop --live, or change the mode'
        )
    if mode is Mode.LIVE and not live_flag:
        raise SystemExit(
            "error: the settings say mode = live (real money); add --live to confirm, or set"
            ' mode = "paper" in the settings'
        )


def venue_keys(mode: Mode, environ: Mapping[str, str]) -> Secrets:
    """The keys of the executor: from the environment, or (paper) a throw-away account."""
    env = dict(environ)
    if mode is Mode.PAPER and not (env.get("BYBIT_API_KEY") and env.get("BYBIT_API_SECRET")):
        env["BYBIT_API_KEY"] = "paper" + secrets.token_hex(6)  # the simulator's account
        env["BYBIT_API_SECRET"] = secrets.token_hex(18)
    try:
        keys = Secrets.from_environment(env)
    except SettingsError as e:
        raise SystemExit(f"error: {e}") from None
    if not (keys.bybit_api_key and keys.bybit_api_secret):
        raise SystemExit(
            f"error: mode {mode.value} needs BYBIT_API_KEY and BYBIT_API_SECRET in the environment"
        )
    return keys


def key_files(
    mode: Mode,
    keys: Secrets,
    instances: tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """service -> the secret variables it gets (shared.keys.needed_keys), nothing more;
    `instances` are the further strategy instances' programs (strategy-<name>); the
    dashboard's token comes from `environ` (default: this process's environment)."""
    bus = keys.bus_hmac_key.decode() if keys.bus_hmac_key else ""
    env = os.environ if environ is None else environ
    values = {
        "BYBIT_API_KEY": keys.bybit_api_key or "",
        "BYBIT_API_SECRET": keys.bybit_api_secret or "",
        BUS_KEY: bus,
        DASHBOARD_KEY: env.get(DASHBOARD_KEY, ""),
    }
    if mode is Mode.PAPER:  # the paper venue's account is the executor's
        values["SIMULATOR_API_KEY"] = values["BYBIT_API_KEY"]
        values["SIMULATOR_API_SECRET"] = values["BYBIT_API_SECRET"]
    services = (
        "simulator",
        "scanner",
        "recorder",
        "feed",
        "executor",
        "strategy",
        "dashboard",
        *instances,
    )
    return {
        name: {k: values[k] for k in needed_keys(name) if values.get(k)}
        for name in services
        if name != "simulator" or mode is Mode.PAPER
    }


def environment(mode: Mode, run_dir: Path, keys_dir: Path) -> dict[str, str]:
    """What supervisord (and so every service) gets: this environment with no secret in it."""
    env = {k: v for k, v in os.environ.items() if k not in ALL_SECRETS}
    env.update(
        TRADING_RUN_DIR=str(run_dir),
        TRADING_SETTINGS=str(settings_path().resolve()),
        SIMULATOR_AUTOSTART="true" if mode is Mode.PAPER else "false",
        SERVICES_AUTOSTART="false",  # scripts/run starts them once the venue answers
        PYTHONPATH=str(REPO_ROOT),
    )
    env[KEYS_DIR_ENV] = str(keys_dir)
    return env


def fresh_paper_journal(run_dir: Path) -> Path | None:
    """Move an earlier run's journal aside: each paper run's simulator is a new account (it
    keeps nothing), so an old journal's orders and fills are not this account's."""
    journal = run_dir / JOURNAL
    if not journal.exists():
        return None
    archive = run_dir / "journals"
    archive.mkdir(mode=0o700, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = archive / f"executor-journal-{stamp}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        part = run_dir / (JOURNAL + suffix)
        if part.exists():
            part.rename(target.with_name(target.name + suffix))
    return target
