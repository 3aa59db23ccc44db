"""Run the recorder alone: python -m services.recorder."""

import argparse
import sys

from services.recorder.service import RecorderService
from services.recorder.settings import RecorderSettings
from shared.runtime import run_main
from shared.runtime.bootstrap import prepare
from shared.settings import SettingsError, load_section

_EPILOG = """
files: <recordings-dir>/<YYYY-MM-DD>/<SYMBOL>.frames.gz (one line per venue frame:
'<receive ns> <frame JSON>') and executor.events.gz ('<receive ns> <message JSON>'), gzip,
one directory per UTC day of the receive time; a restart of the same day adds a part
(<SYMBOL>.2.frames.gz ...). Read them with shared.recordings (read_day, read_events).
settings: the [recorder] section of deploy/settings.toml (TRADING_SETTINGS for another file);
the feed sends its frames only with [feed] record-raw = true.
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.recorder",
        description=(
            "Record the feed's raw public frames and the executor's events (orders, fills,"
            " positions) into gzip files rotated per UTC day and symbol, deleting days older"
            " than [recorder] keep-days."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    try:
        settings = load_section("recorder", RecorderSettings)
        context = prepare("recorder", settings)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(RecorderService(settings, context))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
