"""Run the simulator alone: python -m services.simulator --host 127.0.0.1 --port PORT."""

import argparse
import json
import logging
import os
import secrets
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec

from services.simulator.exchange import Exchange
from services.simulator.market_profiles import PROFILES, exchange_config
from services.simulator.service import SimulatorService
from services.simulator.settings import Faults, SimulatorSettings
from shared.keys import service_environment
from shared.runtime import LiveClock, configure_logging, run_main
from shared.settings import (
    Secrets,
    SettingsError,
    SystemSettings,
    ensure_run_dir,
    load_section,
    resolve_run_dir,
)

log = logging.getLogger("services.simulator")

_EPILOG = (
    """
faults (each also settable at run time, e.g.
  curl -X POST http://HOST:PORT/admin/faults -d '{"ws-drop-rate": 0.1}'):
"""
    + "\n".join(f"  {name.replace('_', '-')}" for name in Faults.__struct_fields__)
    + """

credentials: the account is SIMULATOR_API_KEY / SIMULATOR_API_SECRET (scripts/run passes them
in the simulator's key file, see shared/keys.py), else BYBIT_API_KEY / BYBIT_API_SECRET from
the environment (when run alone); without them a fresh pair is made and written to
<run dir>/simulator-credentials.json (mode 0600).
"""
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulator",
        description="A local Bybit-V5-compatible venue (category=linear) on loopback.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (default from settings: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (0 picks a free one; default from settings)")
    parser.add_argument("--seed", type=int, help="seed of the synthetic market")
    parser.add_argument("--symbols", help="comma-separated subset of the default symbols")
    parser.add_argument("--step-ms", type=int, help="market clock tick in ms (10..1000)")
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="the market is a recording of public frames: REST, trading and the public stream",
    )
    parser.add_argument(
        "--replay-speed", type=float, metavar="X", help="x the recorded pace (default 1.0)"
    )
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="do not enforce Bybit's rate limits (benchmarks)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="inject a fault from the start, e.g. --fault ws-drop-rate=0.05 (repeatable)",
    )
    return parser.parse_args(argv)


def _apply(settings: SimulatorSettings, args: argparse.Namespace) -> SimulatorSettings:
    data: dict[str, Any] = msgspec.to_builtins(settings)
    options = (
        ("host", args.host),
        ("port", args.port),
        ("seed", args.seed),
        ("step-ms", args.step_ms),
        ("replay-speed", args.replay_speed),
    )
    for key, value in options:
        if value is not None:
            data[key] = value
    if args.symbols:
        data["symbols"] = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    if args.no_rate_limits:
        data["enforce-rate-limits"] = False
    if args.replay:
        data["replay-file"] = args.replay
    for item in args.fault:
        name, _, value = item.partition("=")
        data["faults"][name.strip()] = json.loads(value) if value else True
    return msgspec.convert(data, SimulatorSettings)


def _credentials(run_dir: Path) -> dict[str, str]:
    env = service_environment("simulator")  # scripts/run passes them in a key file
    key, secret = env.get("SIMULATOR_API_KEY"), env.get("SIMULATOR_API_SECRET")
    if not (key and secret):  # run alone (tests, benchmarks): the executor's variables
        own = Secrets.from_environment(env)
        key, secret = own.bybit_api_key, own.bybit_api_secret
    if key and secret:
        return {key: secret}
    key, secret = "paper" + secrets.token_hex(6), secrets.token_hex(18)
    path = run_dir / "simulator-credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"BYBIT_API_KEY": key, "BYBIT_API_SECRET": secret}, out)
    log.warning(
        "no SIMULATOR_API_KEY/SIMULATOR_API_SECRET: made a paper account key=%s file=%s", key, path
    )
    return {key: secret}


def main(argv: list[str]) -> int:
    args = _parse(argv)
    try:
        system = load_section("system", SystemSettings)
        settings = _apply(load_section("simulator", SimulatorSettings), args)
        run_dir = ensure_run_dir(resolve_run_dir(system))
    except (SettingsError, msgspec.ValidationError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    configure_logging("simulator", settings.log_level or system.log_level)
    clock = LiveClock()
    market = exchange_config(
        PROFILES[settings.profile],
        seed=settings.seed,
        symbols=tuple(settings.symbols) or None,
        volatility_scale=settings.volatility_scale,
    )
    config = replace(
        market,
        maker_fee=settings.maker_fee_rate,
        taker_fee=settings.taker_fee_rate,
        starting_balance=settings.starting_balance_usdt,
        history_kept=settings.history_kept,
        market_source="recorded" if settings.replay_file else "synthetic",
        queue_model=settings.queue_model,
        queue_power=settings.queue_power,
    )
    try:
        exchange = Exchange(config, now_ms=clock.now_ns() // 1_000_000)
        credentials = _credentials(run_dir)
        service = SimulatorService(settings, exchange, credentials, clock, settings.metrics_port)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return run_main(service)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
