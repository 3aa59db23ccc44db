"""scripts/run: start every service under supervisord, show the status, stop cleanly.

Paper mode (the default in deploy/settings.toml) runs the local simulator as the venue and
makes a throw-away paper API key if none is in the environment. testnet and demo read
BYBIT_API_KEY / BYBIT_API_SECRET from the environment; live also needs `--live` here and
`mode = "live"` in the settings, and says what it will do before it does it.
On Ctrl-C, SIGTERM or the end of --duration: supervisord stops the services in reverse
start order (the executor cancels its working orders while the venue is still up), each
within its stopwaitsecs, then supervisord itself; the exit code is 0 only if every service
exited cleanly.
"""

import argparse
import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from types import FrameType

from scripts.control import SERVICES, Supervisor, run_dir_from_settings
from scripts.status import collect, render
from shared.settings import REPO_ROOT, Mode, SettingsError, settings_path

CONF = REPO_ROOT / "deploy" / "supervisord.conf"
LIVE_COUNTDOWN_S = 10


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/run",
        description="Run the trading system under supervisord and show its status.",
        epilog=(
            "The mode comes from [system] mode in the settings file (TRADING_SETTINGS, default"
            " deploy/settings.toml). Logs: <run dir>/logs/. Status from another terminal:"
            " scripts/status."
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


def _environment(mode: Mode, run_dir: Path, live_flag: bool) -> dict[str, str]:
    """The environment supervisord and the services get; exits with a message if not ready."""
    env = dict(os.environ)
    env.update(
        TRADING_RUN_DIR=str(run_dir),
        TRADING_SETTINGS=str(settings_path().resolve()),
        SIMULATOR_AUTOSTART="true" if mode is Mode.PAPER else "false",
        PYTHONPATH=str(REPO_ROOT),
    )
    if mode is Mode.PAPER:
        if not (env.get("BYBIT_API_KEY") and env.get("BYBIT_API_SECRET")):
            env["BYBIT_API_KEY"] = "paper" + secrets.token_hex(6)  # the simulator's account
            env["BYBIT_API_SECRET"] = secrets.token_hex(18)
        return env
    if not (env.get("BYBIT_API_KEY") and env.get("BYBIT_API_SECRET")):
        raise SystemExit(
            f"error: mode {mode.value} needs BYBIT_API_KEY and BYBIT_API_SECRET in the environment"
        )
    if mode is Mode.LIVE and not live_flag:
        raise SystemExit(
            "error: the settings say mode = live (real money); add --live to confirm, or set"
            ' mode = "paper" in the settings'
        )
    if live_flag and mode is not Mode.LIVE:
        raise SystemExit(f"error: --live given but the settings say mode = {mode.value}")
    return env


def _announce(mode: Mode, run_dir: Path, env: dict[str, str]) -> None:
    venue = "the local simulator (paper)" if mode is Mode.PAPER else f"Bybit {mode.value}"
    print(f"run: mode={mode.value}, venue={venue}, run dir={run_dir}", file=sys.stderr)
    print(f"run: logs in {run_dir / 'logs'}; status: scripts/status", file=sys.stderr)
    if mode is Mode.LIVE:
        key = env["BYBIT_API_KEY"]
        print(
            f"run: LIVE TRADING with real money on api.bybit.com, key {key[:4]}...{key[-2:]},"
            f" limits from [executor] in {settings_path()}. Starting in {LIVE_COUNTDOWN_S} s;"
            " Ctrl-C to abort.",
            file=sys.stderr,
        )
        time.sleep(LIVE_COUNTDOWN_S)  # a human's chance to abort, not synchronisation


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


def _shutdown(supervisor: Supervisor, process: subprocess.Popen[bytes]) -> int:
    """Stop every service in reverse start order, then supervisord; 0 if all were clean."""
    print("run: stopping (strategy, executor, feed, scanner, simulator) ...", file=sys.stderr)
    try:
        # One at a time, each waited for: supervisord's stop-all signals them all at once,
        # and the executor must cancel its orders while the venue is still up.
        for name in reversed(SERVICES):
            _stop(supervisor, name)
        infos = {p.name: p for p in supervisor.processes()}
        supervisor.rpc.shutdown()
    except (OSError, http.client.HTTPException, xmlrpc.client.Error) as e:
        print(f"run: supervisord unreachable while stopping: {e}", file=sys.stderr)
        process.terminate()
        process.wait(60)
        return 1
    process.wait(60)
    clean = True
    for name in SERVICES:
        info = infos.get(name)
        if info is None or (info.state == "STOPPED" and info.pid == 0 and info.exit_status == 0):
            detail = "stopped, exit 0" if info is not None else "not configured"
        else:
            detail = f"{info.state}, exit {info.exit_status}"
            clean = clean and info.state in ("STOPPED",) and info.exit_status == 0
        print(f"run:   {name:<10} {detail}", file=sys.stderr)
    print(f"run: {'stopped cleanly' if clean else 'stopped with errors'}", file=sys.stderr)
    return 0 if clean else 1


def _stop(supervisor: Supervisor, name: str) -> None:
    try:
        supervisor.rpc.stopProcess(name, True)
    except xmlrpc.client.Fault as e:
        if "NOT_RUNNING" not in e.faultString:
            raise


def main(argv: list[str]) -> int:
    args = _parse(argv)
    try:
        system, run_dir = run_dir_from_settings()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    supervisor = Supervisor(run_dir)
    if supervisor.answers():
        print(f"error: already running ({supervisor.socket}); scripts/status", file=sys.stderr)
        return 2
    env = _environment(system.mode, run_dir, args.live)
    _announce(system.mode, run_dir, env)
    (run_dir / "logs").mkdir(mode=0o700, exist_ok=True)
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    process = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(CONF)],
        env=env,
        cwd=REPO_ROOT,
        start_new_session=True,  # Ctrl-C reaches scripts/run only; it stops the rest in order
    )
    try:
        _wait_until_up(supervisor, process)
        _watch(args, run_dir, stop, process)
    except BaseException:
        if process.poll() is None:  # never leave the services running behind our back
            _shutdown(supervisor, process)
        raise
    if process.poll() is not None:
        print(f"error: supervisord exited with {process.returncode}", file=sys.stderr)
        return 1
    return _shutdown(supervisor, process)


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
