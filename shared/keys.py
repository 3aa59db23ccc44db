"""Keys only where they are needed: one key file per service, outside the repo and the env.

scripts/run starts supervisord with an environment that holds no secret (supervisord
passes its whole environment to every child). Instead it writes, per service, the keys that
service needs into a private directory on tmpfs (/dev/shm; mode 0700, files 0600) and
passes only that directory's path, TRADING_KEYS_DIR. A service reads its own file at start
(read_keys) and keeps the values in memory, never in os.environ:

  executor              BYBIT_API_KEY, BYBIT_API_SECRET, BUS_HMAC_KEY
  scanner, feed, strategy  BUS_HMAC_KEY
  simulator (paper)     SIMULATOR_API_KEY, SIMULATOR_API_SECRET (its paper account)
  dashboard             BUS_HMAC_KEY, DASHBOARD_TOKEN (its controls; none: read-only)

The directory is removed when the run stops (scripts/run, scripts/stop). See
docs/decisions/0001-keys-per-service.md for the options weighed.
"""

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

KEYS_DIR_ENV: Final = "TRADING_KEYS_DIR"
VENUE_KEYS: Final = ("BYBIT_API_KEY", "BYBIT_API_SECRET")
BUS_KEY: Final = "BUS_HMAC_KEY"
SIMULATOR_KEYS: Final = ("SIMULATOR_API_KEY", "SIMULATOR_API_SECRET")
DASHBOARD_KEY: Final = "DASHBOARD_TOKEN"  # the operator's token for the dashboard's controls
ALL_SECRETS: Final = (*VENUE_KEYS, BUS_KEY, *SIMULATOR_KEYS, DASHBOARD_KEY)
POINTER_FILE: Final = "keys-dir"  # in the run dir: where this run's key files are
_PREFIX: Final = "trading-keys-"


def needed_keys(service: str) -> tuple[str, ...]:
    """The secret variables `service` may hold."""
    if service == "executor":
        return (*VENUE_KEYS, BUS_KEY)
    if service == "simulator":
        return SIMULATOR_KEYS
    if service == "dashboard":
        return (BUS_KEY, DASHBOARD_KEY)
    return (BUS_KEY,)


def read_keys(service: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of `service`'s key file ({} without TRADING_KEYS_DIR or a file)."""
    env = os.environ if environ is None else environ
    directory = env.get(KEYS_DIR_ENV)
    if not directory:
        return {}
    path = Path(directory) / f"{service}.keys"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name in ALL_SECRETS:
            values[name] = value
    return values


def service_environment(service: str) -> dict[str, str]:
    """os.environ with `service`'s key file on top (a copy: os.environ is left as it is)."""
    return {**os.environ, **read_keys(service)}


def write_key_files(run_dir: Path, keys: Mapping[str, Mapping[str, str]]) -> Path:
    """Write one 0600 file per service (`keys`: service -> variables) into a new private
    directory on tmpfs; note its path in <run dir>/keys-dir and return it."""
    remove_key_files(run_dir)  # an earlier run's, if it was killed
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    directory = Path(
        tempfile.mkdtemp(prefix=_PREFIX, dir=base or os.environ.get("XDG_RUNTIME_DIR"))
    )
    for service, values in keys.items():
        fd = os.open(directory / f"{service}.keys", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{name}={value}\n" for name, value in values.items() if value)
    (run_dir / POINTER_FILE).write_text(str(directory))
    return directory


def remove_key_files(run_dir: Path) -> None:
    """Remove the key directory named in <run dir>/keys-dir, and that note."""
    pointer = run_dir / POINTER_FILE
    try:
        directory = Path(pointer.read_text().strip())
    except FileNotFoundError:
        return
    if directory.name.startswith(_PREFIX) and directory.is_dir():
        shutil.rmtree(directory)
    pointer.unlink(missing_ok=True)
