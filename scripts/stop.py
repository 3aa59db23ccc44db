"""scripts/stop: stop the system of a run directory, with or without its scripts/run.

It finds the run's processes in /proc (supervisord and the services, by TRADING_RUN_DIR
in their environment), and stops them in reverse start order: through supervisord if it
answers (strategy, executor, feed, recorder, scanner, simulator, each waited for), else with SIGTERM
to supervisord, then to each service left behind, each waited for (SIGKILL after its
time). The run's key files are removed. A running scripts/run notices and reports.
Exit codes: 0 stopped (or nothing was running), 1 something needed SIGKILL, 2 bad settings.
"""

import argparse
import sys

from scripts.run_processes import describe, find_run_processes, stop_run
from shared.settings import SettingsError, SystemSettings, load_section, resolve_run_dir


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/stop",
        description=(
            "Stop every process of a run (supervisord and its services) in reverse start"
            " order: the executor cancels its orders while the venue is still up. Works when"
            " scripts/run or supervisord was killed."
        ),
        epilog=(
            "The run directory comes from TRADING_RUN_DIR, else [system] run-dir of the"
            " settings (TRADING_SETTINGS, default deploy/settings.toml): use the same ones as"
            " the scripts/run to stop. exit codes: 0 stopped or nothing running, 1 a process"
            " needed SIGKILL, 2 bad settings."
        ),
    )
    parser.parse_args(argv)
    try:
        run_dir = resolve_run_dir(load_section("system", SystemSettings))  # not created
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    processes = find_run_processes(run_dir)
    if not processes:
        stop_run(run_dir, _say)  # removes leftover key files, if any
        print(f"stop: nothing is running in {run_dir}", file=sys.stderr)
        return 0
    print(f"stop: running in {run_dir}: {describe(processes)}", file=sys.stderr)
    clean = stop_run(run_dir, _say)
    left = find_run_processes(run_dir)
    if left:
        print(f"stop: still running: {describe(left)}", file=sys.stderr)
        return 1
    print(f"stop: {'stopped' if clean else 'stopped, some only with SIGKILL'}", file=sys.stderr)
    return 0 if clean else 1


def _say(line: str) -> None:
    print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
