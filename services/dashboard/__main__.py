"""Run the dashboard alone: python -m services.dashboard."""

import argparse
import sys

from services.dashboard.service import DashboardService
from services.dashboard.settings import TOKEN_ENV, DashboardSettings, check_exposure
from shared.keys import service_environment
from shared.runtime import run_main
from shared.runtime.bootstrap import prepare
from shared.settings import SettingsError, load_section

_EPILOG = f"""
The page: http://127.0.0.1:<[dashboard] port>/ (docs/dashboard.md). Read-only on the bus;
the controls (halt, resume, cancel all, flatten) need {TOKEN_ENV} in the environment
(scripts/run hands it to the dashboard alone, in its key file). Listening beyond loopback
needs TLS (tls-cert-file, tls-key-file) and {TOKEN_ENV}.
settings: the [dashboard] section of deploy/settings.toml (TRADING_SETTINGS for another file).
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.dashboard",
        description=(
            "Serve the operator's page: health, money, orders, market, latency and reports,"
            " live over a websocket, with token-guarded controls."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    try:
        settings = load_section("dashboard", DashboardSettings)
        token = service_environment("dashboard").get(TOKEN_ENV) or None
        check_exposure(settings, token)
        context = prepare("dashboard", settings)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(DashboardService(settings, context, token))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
