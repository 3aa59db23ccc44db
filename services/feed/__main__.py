"""Run the feed alone: python -m services.feed."""

import argparse
import sys

from services.feed.service import FeedService
from services.feed.settings import FeedSettings
from shared.runtime import run_main
from shared.runtime.bootstrap import prepare
from shared.settings import SettingsError, load_section


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.feed",
        description=(
            "Serve the venue's order book and trades of the scanner's symbol, or of every "
            "symbol of [feed] symbols, on the bus (md.quote/book/trade/status/ready/rules."
            "<SYMBOL>.). Settings: [feed] in "
            "deploy/settings.toml; the venue follows [system] mode (paper: the local simulator)."
        ),
    )
    parser.add_argument("--depth", type=int, choices=(1, 50), help="order book depth to subscribe")
    args = parser.parse_args(argv)
    try:
        settings = load_section("feed", FeedSettings)
        if args.depth is not None:
            settings = FeedSettings(**{**_fields(settings), "depth": args.depth})
        context = prepare("feed", settings)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(FeedService(settings, context))


def _fields(settings: FeedSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
