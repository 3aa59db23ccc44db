"""Run the scanner: python -m services.scanner [--once] [--interval-s S]."""

import argparse
import asyncio
import sys
from typing import Any

import msgspec

from services.scanner.making import MakingSelection
from services.scanner.ranking import Screening, choose
from services.scanner.service import (
    STATE_FILE,
    ScannerService,
    fetch_scan,
    load_state,
    making_rules_of,
    rules_of,
)
from services.scanner.settings import ScannerSettings
from shared.bybit.errors import BybitError
from shared.bybit.rest import BybitRest
from shared.runtime import run_main
from shared.runtime.bootstrap import ServiceContext, prepare
from shared.settings import SettingsError, load_section

_EPILOG = """
settings: the [scanner] section of deploy/settings.toml (TRADING_SETTINGS for another file);
the venue follows [system] mode (paper: the local simulator at [bybit] paper-rest-url).
state: the current symbol and epoch are kept in <run dir>/scanner-state.json.
"""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.scanner",
        description="Choose the USDT perpetual to trade and publish it (UniverseChanged).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="scan once, print the ranking (and the market-making selection when mm-top-n > 0)"
        " as a table and exit; publishes and stores nothing",
    )
    parser.add_argument(
        "--interval-s", type=float, metavar="S", help="seconds between scans (overrides settings)"
    )
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> ScannerSettings:
    settings = load_section("scanner", ScannerSettings)
    if args.interval_s is None:
        return settings
    data: dict[str, Any] = msgspec.to_builtins(settings)
    data["interval-s"] = args.interval_s
    try:
        return msgspec.convert(data, ScannerSettings)
    except msgspec.ValidationError as e:
        raise SettingsError(f"--interval-s {args.interval_s}: {e}") from None


def format_table(screening: Screening) -> str:
    """Return the ranking as a fixed-width table, best first, then the excluded symbols."""
    lines = [
        f"{'rank':>4}  {'symbol':<16} {'score':>11} {'turnover_24h':>16} {'chg_24h_%':>9}"
        f" {'boost':>5} {'last_price':>14}"
    ]
    for position, r in enumerate(screening.ranking, start=1):
        lines.append(
            f"{position:>4}  {r.symbol:<16} {r.score:>11.4g} {r.turnover_24h:>16,.0f}"
            f" {r.price_24h_pcnt * 100:>9.2f} {r.boost:>5.2f} {r.last_price:>14}"
        )
    lines.extend(f"  excluded {s}: {why}" for s, why in sorted(screening.excluded.items()))
    return "\n".join(lines)


def format_selection(selection: MakingSelection, shown: int) -> str:
    """Return the market-making ranking (the first `shown`) and the selection as a table."""
    lines = [
        f"{'rank':>4}  {'symbol':<16} {'mm_score':>11} {'turnover_24h':>16} {'spread_bps':>10}"
        f" {'tick_bps':>8} {'touch_usdt':>12}"
    ]
    for position, c in enumerate(selection.ranking[:shown], start=1):
        lines.append(
            f"{position:>4}  {c.symbol:<16} {c.score:>11.4g} {c.turnover_24h_usdt:>16,.0f}"
            f" {c.spread_bps:>10.3f} {c.tick_bps:>8.3f} {c.touch_depth_usdt:>12,.0f}"
        )
    lines.append(f"market-making selection: {', '.join(selection.symbols) or 'none'}")
    return "\n".join(lines)


async def _scan_once(settings: ScannerSettings, context: ServiceContext) -> int:
    rules = rules_of(settings)
    rest = BybitRest(context.venue.rest_url, timeout_s=context.bybit.timeout_s)
    try:
        scan = await fetch_scan(rest, rules, making_rules_of(settings))
        screening = scan.screening
        state = load_state(context.run_dir / STATE_FILE)
    except (BybitError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        await rest.close()
    current = state.symbol if state else None
    decision = choose(current, screening.ranking, rules, screening.excluded)
    print(format_table(screening))
    print(
        f"current={current} epoch={state.epoch if state else 0} -> symbol={decision.symbol}"
        f" switch={decision.switched} reason={decision.reason}"
    )
    if scan.selection is not None:  # [scanner] mm-top-n > 0
        print(format_selection(scan.selection, max(settings.top_n, settings.mm_top_n)))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        settings = _settings(args)
        context = prepare("scanner", settings)
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.once:
        try:
            return asyncio.run(_scan_once(settings, context))
        finally:
            context.node.close()
    return run_main(ScannerService(settings, context))


if __name__ == "__main__":
    sys.exit(main())
