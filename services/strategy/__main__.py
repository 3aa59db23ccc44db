"""Run the strategy alone: python -m services.strategy [--instance NAME]."""

import argparse
import sys

from services.strategy.service import StrategyService
from services.strategy.settings import StrategySettings
from shared.runtime import run_main
from shared.runtime.bootstrap import prepare
from shared.settings import (
    INSTANCE_PREFIX,
    SettingsError,
    instance_endpoints,
    load_section,
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.strategy",
        description=(
            "One strategy instance (the momentum scalper by default): follow the scanner's"
            " symbol, the feed's quotes and trades, and the executor's events; send order"
            " commands to the executor. Settings: [strategy] in deploy/settings.toml, or"
            " [strategy-NAME] with --instance NAME. It holds no API keys."
        ),
    )
    parser.add_argument(
        "--instance",
        metavar="NAME",
        help="run the further instance of section [strategy-NAME] (its own bus endpoints)",
    )
    args = parser.parse_args(argv)
    section = "strategy" if args.instance is None else f"{INSTANCE_PREFIX}{args.instance}"
    try:
        settings = load_section(section, StrategySettings)
        context = prepare(section, settings)
        if args.instance is not None:
            context.endpoints = instance_endpoints(context.endpoints, args.instance)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(StrategyService(settings, context))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
