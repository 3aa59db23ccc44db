"""Run the executor alone: python -m services.executor."""

import argparse
import sys

from services.executor.service import ExecutorService
from services.executor.settings import ExecutorSettings
from shared.runtime import run_main
from shared.runtime.bootstrap import prepare
from shared.settings import SettingsError, load_section


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.executor",
        description=(
            "Turn order commands (PULL) into venue orders after the risk checks, journal each"
            " intent before sending it, and publish order, fill, position and state events"
            " (exec.*). Settings: [executor] in deploy/settings.toml; API keys from its key"
            " file under scripts/run (TRADING_KEYS_DIR), else from BYBIT_API_KEY /"
            " BYBIT_API_SECRET in the environment; the venue follows [system] mode."
        ),
    )
    parser.parse_args(argv)
    try:
        settings = load_section("executor", ExecutorSettings)
        context = prepare("executor", settings)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(ExecutorService(settings, context))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
