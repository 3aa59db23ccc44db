"""Run the strategy alone: python -m services.strategy."""

import argparse
import sys

from services.strategy.service import StrategyService
from services.strategy.settings import StrategySettings
from shared.runtime import run_main
from shared.runtime.bootstrap import prepare
from shared.settings import SettingsError, load_section


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.strategy",
        description=(
            "The momentum scalper: follow the scanner's symbol, the feed's quotes and trades,"
            " and the executor's events; send order commands to the executor. Settings:"
            " [strategy] in deploy/settings.toml. It holds no API keys."
        ),
    )
    parser.parse_args(argv)
    try:
        settings = load_section("strategy", StrategySettings)
        context = prepare("strategy", settings)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(StrategyService(settings, context))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
