"""What scripts/run says at the end: crashed services, and the positions left open.

A service crashed if, during this supervisord's life, it exited with a non-zero status
("exit status N; not expected" in supervisord's log) or gave up (FATAL), or it ended in
BACKOFF or FATAL. A kill by a signal from outside (chaos tests: kill -9) is a restart, not
a crash of the service.
"""

import asyncio
import re
from decimal import Decimal
from pathlib import Path

from shared.bybit.errors import BybitError
from shared.bybit.rest import BybitRest

_EXITED = re.compile(r"exited: (?P<name>\S+) \(exit status (?P<status>\d+); not expected\)")
_GAVE_UP = re.compile(r"gave up: (?P<name>\S+) entered FATAL state")


def crashes(run_dir: Path, final_states: dict[str, str]) -> list[str]:
    """One line per crash of this supervisord's services, from its log and final states."""
    lines: list[str] = []
    log = run_dir / "logs" / "supervisord.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    for line in text.splitlines():
        if "supervisord started with pid" in line:
            lines = []  # an earlier supervisord's: count from the latest start
        elif (exited := _EXITED.search(line)) and exited["status"] != "0":
            lines.append(f"{exited['name']} crashed (exit status {exited['status']})")
        elif gave_up := _GAVE_UP.search(line):
            lines.append(f"{gave_up['name']} gave up after too many quick restarts (FATAL)")
    lines += [
        f"{name} ended in {state}"
        for name, state in final_states.items()
        if state in ("BACKOFF", "FATAL")
    ]
    return lines


def positions_left(rest_url: str, api_key: str, api_secret: str, timeout_s: float) -> list[str]:
    """One line per open position at the venue and whether a venue stop-loss protects it."""
    return asyncio.run(_positions_left(rest_url, api_key, api_secret, timeout_s))


async def _positions_left(rest_url: str, key: str, secret: str, timeout_s: float) -> list[str]:
    rest = BybitRest(rest_url, api_key=key, api_secret=secret, timeout_s=timeout_s)
    try:
        positions = await rest.positions()
    except (BybitError, OSError, RuntimeError) as e:
        return [f"positions at the venue not known ({e}); check them on the venue"]
    finally:
        await rest.close()
    lines = []
    for p in positions:
        if not p.side or p.size == 0:
            continue
        stop = p.stop_loss if p.stop_loss and Decimal(p.stop_loss) != 0 else ""
        protection = f"venue stop-loss at {stop}" if stop else "NO venue stop-loss: unprotected"
        held = f"{p.symbol} {p.side} {p.size} @ {p.avg_price}"
        lines.append(f"position left open: {held}, {protection}")
    return lines or ["no position left open at the venue"]
