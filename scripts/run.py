"""scripts/run: start every service under supervisord, show the status, stop cleanly.

Paper mode (the default in deploy/settings.toml) runs the local simulator as the venue and
makes a throw-away paper API key if none is in the environment. testnet and demo read
BYBIT_API_KEY / BYBIT_API_SECRET from the environment; live also needs `--live` here and
`mode = "live"` in the settings, and says what it will do before it does it.
Before anything starts, every section of the settings is checked (the key and the reason
on a refusal), and so are the ports and leftovers of an earlier run in the same run dir.
Each [strategy-<name>] section is one more strategy instance, the supervisord program
strategy-<name> (scripts/run_instances.py). Secrets reach only the services that need them
(shared/keys.py). In paper mode the simulator starts first and the others once it answers;
every paper run has a fresh journal.
On Ctrl-C, SIGTERM or the end of --duration: the services stop in reverse start order (the
executor cancels its working orders while the venue is still up), each within its
stopwaitsecs, then supervisord itself; the last lines say which positions are left open and
whether a venue stop protects them. If supervisord dies, its services stop themselves
(shared/runtime/parent.py) and scripts/run stops what is left. The exit code is 0 only if
every service exited cleanly and none crashed, gave up or ended in BACKOFF during the run.
"""

import argparse
import http.client
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from types import FrameType
from typing import Any

from scripts.control import SERVICES, Supervisor, answers, run_dir_from_settings
from scripts.preflight import (
    PreflightError,
    check_leftovers,
    check_ports,
    check_settings,
    ports_of,
)
from scripts.run_instances import (
    check_instances,
    instance_ports,
    is_instance_program,
    write_programs,
    write_scrape_targets,
)
from scripts.run_processes import find_run_processes, stop_run
from scripts.run_report import crashes, positions_left
from scripts.run_setup import check_mode, environment, fresh_paper_journal, key_files, venue_keys
from scripts.status import collect, render
from services.dashboard.settings import TOKEN_ENV, DashboardSettings, check_exposure
from shared.keys import remove_key_files, write_key_files
from shared.settings import (
    INSTANCE_PREFIX,
    REPO_ROOT,
    Mode,
    Secrets,
    SettingsError,
    migration_notice,
    settings_path,
)

CONF = REPO_ROOT / "deploy" / "supervisord.conf"
LIVE_COUNTDOWN_S = 10
VENUE_START_S = 60.0  # the paper venue answers within this after supervisord is up
DASHBOARD = "dashboard"
DASHBOARD_AFTER_S = 15.0  # the dashboard starts once the others run, or after this


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/run",
        description="Run the trading system under supervisord and show its status.",
        epilog=(
            "The mode comes from [system] mode in the settings file (TRADING_SETTINGS, default"
            " deploy/settings.toml); every section is checked before anything starts."
            " Logs: <run dir>/logs/. From another terminal: scripts/status; scripts/stop stops"
            " a run whose scripts/run is gone. Each [strategy-NAME] section is one more strategy"
            " instance, run as the program strategy-NAME (README: Operations)."
            " Exit codes: 0 every service stopped cleanly,"
            " 1 a service crashed or supervisord died, 2 refused (settings, ports, leftovers)."
        ),
    )
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    parser.add_argument(
        "--live", action="store_true", help="required (with mode = live) to trade real money"
    )
    parser.add_argument(
        "--refresh", type=float, default=2.0, metavar="SECONDS", help="status refresh period"
    )
    parser.add_argument("--quiet", action="store_true", help="no live status, only start/stop")
    args = parser.parse_args(argv)
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be positive")
    return args


def _announce(mode: Mode, run_dir: Path, keys: Secrets) -> None:
    venue = "the local simulator (paper)" if mode is Mode.PAPER else f"Bybit {mode.value}"
    print(f"run: mode={mode.value}, venue={venue}, run dir={run_dir}", file=sys.stderr)
    print(f"run: logs in {run_dir / 'logs'}; status: scripts/status", file=sys.stderr)
    if mode is Mode.LIVE:
        key = keys.bybit_api_key or ""
        print(
            f"run: LIVE TRADING with real money on api.bybit.com, key {key[:4]}...{key[-2:]},"
            f" limits from [executor] in {settings_path()}. Starting in {LIVE_COUNTDOWN_S} s;"
            " Ctrl-C to abort.",
            file=sys.stderr,
        )
        time.sleep(LIVE_COUNTDOWN_S)  # a human's chance to abort, not synchronisation


def _announce_dashboard(dashboard: DashboardSettings) -> None:
    controls = (
        "controls on: DASHBOARD_TOKEN is set"
        if os.environ.get(TOKEN_ENV)
        else "read-only: set DASHBOARD_TOKEN for the controls"
    )
    print(f"run: dashboard at {dashboard.url()} ({controls})", file=sys.stderr)


class _Stop:
    """Set by Ctrl-C or SIGTERM."""

    requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def _wait_until_up(supervisor: Supervisor, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not supervisor.answers():
        if process.poll() is not None:
            raise SystemExit(f"error: supervisord exited with {process.returncode}; see logs")
        if time.monotonic() > deadline:
            raise SystemExit("error: supervisord did not answer on its socket within 30 s")
        time.sleep(0.1)  # polling a child's start-up


def _programs(sections: dict[str, Any]) -> tuple[str, ...]:
    """Every program in start order: the services, then each further strategy instance."""
    return (*SERVICES, *(name for name in sections if is_instance_program(name)))


def _start_services(
    supervisor: Supervisor, process: subprocess.Popen[bytes], sections: dict[str, Any]
) -> None:
    """In paper mode wait for the simulator to answer, then start the rest in order (no
    service logs connection errors while the venue is still starting); the further
    strategy instances last."""
    if sections["system"].mode is Mode.PAPER:
        url = sections["bybit"].paper_rest_url.rstrip("/") + "/v5/market/time"
        deadline = time.monotonic() + VENUE_START_S
        while not answers(url):
            if process.poll() is not None:
                raise SystemExit(f"error: supervisord exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"error: the simulator did not answer at {url} within {VENUE_START_S:.0f} s;"
                    " see its log (<run dir>/logs/simulator.log)"
                )
            time.sleep(0.1)  # polling the venue's start-up
    trading = [name for name in _programs(sections)[1:] if name != DASHBOARD]
    for name in trading:
        supervisor.rpc.startProcess(name, False)
    # The dashboard only watches: it starts once the others run (or after DASHBOARD_AFTER_S),
    # so that its start-up does not compete with theirs for the CPU.
    deadline = time.monotonic() + DASHBOARD_AFTER_S
    while time.monotonic() < deadline and process.poll() is None:
        states = {p.name: p.state for p in supervisor.processes()}
        if all(states.get(name) != "STARTING" for name in trading):
            break
        time.sleep(0.2)  # polling the programs' start-up
    supervisor.rpc.startProcess(DASHBOARD, False)


def _shutdown(
    supervisor: Supervisor, process: subprocess.Popen[bytes], report: "_FinalReport"
) -> int:
    """Stop every service in reverse start order, then supervisord; 0 if all were clean."""
    programs = report.programs
    print(f"run: stopping ({', '.join(reversed(programs))}) ...", file=sys.stderr)
    try:
        # One at a time, each waited for: supervisord's stop-all signals them all at once,
        # and the executor must cancel its orders while the venue is still up.
        for name in reversed(programs):
            _stop(supervisor, name)
            if name == "executor":
                report.read_positions()  # the venue is still up
        infos = {p.name: p for p in supervisor.processes()}
        supervisor.rpc.shutdown()
    except (OSError, http.client.HTTPException, xmlrpc.client.Error) as e:
        print(f"run: supervisord unreachable while stopping: {e}", file=sys.stderr)
        process.terminate()
        process.wait(60)
        return 1
    process.wait(60)
    clean = True
    for name in programs:
        info = infos.get(name)
        if info is None or (info.state == "STOPPED" and info.pid == 0 and info.exit_status == 0):
            detail = "stopped, exit 0" if info is not None else "not configured"
        else:
            detail = f"{info.state}, exit {info.exit_status}"
            clean = clean and info.state in ("STOPPED",) and info.exit_status == 0
        print(f"run:   {name:<12} {detail}", file=sys.stderr)
    problems = crashes(report.run_dir, {name: info.state for name, info in infos.items()})
    for line in problems:
        print(f"run: {line}", file=sys.stderr)
    report.say_positions()
    clean = clean and not problems
    print(f"run: {'stopped cleanly' if clean else 'stopped with errors'}", file=sys.stderr)
    return 0 if clean else 1


class _FinalReport:
    """The positions left at the venue, asked once the executor has stopped."""

    def __init__(self, run_dir: Path, sections: dict[str, Any], keys: Secrets) -> None:
        self.run_dir = run_dir
        self._bybit = sections["bybit"]
        self._mode: Mode = sections["system"].mode
        self._keys = keys
        self.lines: list[str] = []
        self.programs = _programs(sections)

    def read_positions(self) -> None:
        rest_url = self._bybit.urls(self._mode)[0]
        key, secret = self._keys.bybit_api_key or "", self._keys.bybit_api_secret or ""
        self.lines = positions_left(rest_url, key, secret, self._bybit.timeout_s)

    def say_positions(self) -> None:
        for line in self.lines:
            print(f"run: {line}", file=sys.stderr)


def _stop(supervisor: Supervisor, name: str) -> None:
    try:
        supervisor.rpc.stopProcess(name, True)
    except xmlrpc.client.Fault as e:
        if "NOT_RUNNING" not in e.faultString:
            raise


def _prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Any], Secrets]:
    """Everything checked before anything starts; SystemExit(2) with the reason if not."""
    try:
        system, run_dir = run_dir_from_settings()
        check_mode(system.mode, args.live)
        keys = venue_keys(system.mode, os.environ)
        sections = check_settings(settings_path(), run_dir, keys)
        check_exposure(sections["dashboard"], os.environ.get(TOKEN_ENV))
        instances = check_instances(settings_path(), sections)
        removed = check_leftovers(run_dir)
        check_ports(ports_of(sections) + instance_ports(instances), settings_path())
        notice = migration_notice(settings_path())
    except (SettingsError, PreflightError) as e:
        raise SystemExit(f"error: {e}") from None
    if notice:  # an older settings file, read as the current version: said once, here
        print(notice, file=sys.stderr)
    if removed:
        print(f"run: removed stale {', '.join(removed)} of a run that is gone", file=sys.stderr)
    return run_dir, sections, keys


def main(argv: list[str]) -> int:
    args = _parse(argv)
    try:
        run_dir, sections, keys = _prepare(args)
    except SystemExit as e:
        print(e.code, file=sys.stderr)
        return 2
    mode: Mode = sections["system"].mode
    _announce(mode, run_dir, keys)
    _announce_dashboard(sections["dashboard"])
    (run_dir / "logs").mkdir(mode=0o700, exist_ok=True)
    if mode is Mode.PAPER and (archived := fresh_paper_journal(run_dir)):
        print(f"run: a new paper account: the earlier journal is now {archived}", file=sys.stderr)
    instances = _programs(sections)[len(SERVICES) :]
    try:
        write_programs(run_dir, [name.removeprefix(INSTANCE_PREFIX) for name in instances])
        write_scrape_targets(run_dir, {name: sections[name].metrics_port for name in instances})
    except (OSError, SettingsError) as e:
        print(f"error: cannot write the strategy instances' programs: {e}", file=sys.stderr)
        return 2
    files = key_files(mode, keys, instances)
    env = environment(mode, run_dir, write_key_files(run_dir, files))
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor = Supervisor(run_dir)
    report = _FinalReport(run_dir, sections, keys)
    process = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(CONF)],
        env=env,
        cwd=REPO_ROOT,
        start_new_session=True,  # Ctrl-C reaches scripts/run only; it stops the rest in order
    )
    try:
        _wait_until_up(supervisor, process)
        _start_services(supervisor, process, sections)
        _watch(args, run_dir, stop, process)
    except BaseException:
        if process.poll() is None:  # never leave the services running behind our back
            _shutdown(supervisor, process, report)
        remove_key_files(run_dir)
        raise
    if process.poll() is not None:
        return _supervisord_died(run_dir, process)
    try:
        return _shutdown(supervisor, process, report)
    finally:
        remove_key_files(run_dir)


def _supervisord_died(run_dir: Path, process: subprocess.Popen[bytes]) -> int:
    """supervisord is gone: its services stop themselves; stop whatever is left, in order."""
    print(
        f"error: supervisord exited with {process.returncode}; its services stop on their own"
        " (the executor cancels its orders); stopping what is left",
        file=sys.stderr,
    )
    left = find_run_processes(run_dir)
    stop_run(run_dir, lambda line: print(f"run: {line}", file=sys.stderr))
    names = ", ".join(sorted({p.name for p in left})) or "none"
    print(f"run: left behind by supervisord and stopped: {names}", file=sys.stderr)
    print("run: stopped with errors (supervisord died)", file=sys.stderr)
    return 1


def _watch(
    args: argparse.Namespace, run_dir: Path, stop: _Stop, process: subprocess.Popen[bytes]
) -> None:
    """Show the status until a stop is asked for, the duration is over, or supervisord died."""
    started = time.monotonic()
    while not stop.requested and process.poll() is None:
        if args.duration is not None and time.monotonic() - started >= args.duration:
            return
        if not args.quiet:
            screen = render(collect(run_dir, timeout_s=min(1.2, args.refresh)))
            print("\033[2J\033[H" + screen, flush=True)
        time.sleep(args.refresh)  # the status refresh period


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
