"""Settings: one TOML file (deploy/settings.toml), a section per service, decoded strictly.

An unknown key, a wrongly typed value or a value out of range refuses to start with a
SettingsError that names the file, the section, the key and the reason. Secrets never
come from the file: only from environment variables (see Secrets).
"""

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final, TypeVar

import msgspec

from shared.endpoints import check_endpoint, is_off_host
from shared.settings_versions import Migrated, VersionError, migrate

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_PATH: Final = REPO_ROOT / "deploy" / "settings.toml"
SETTINGS_ENV: Final = "TRADING_SETTINGS"  # path of another settings file
RUN_DIR_ENV: Final = "TRADING_RUN_DIR"  # overrides [system] run-dir

KNOWN_SECTIONS: Final = frozenset(
    {
        "system",
        "bus",
        "bybit",
        "scanner",
        "feed",
        "strategy",
        "executor",
        "simulator",
        "recorder",
        "dashboard",
    }
)
# A further strategy instance: section [strategy-<name>] (decoded as [strategy] is), run as
# the supervisord program strategy-<name>; [strategy] itself stays the first instance.
INSTANCE_PREFIX: Final = "strategy-"
INSTANCE_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_]{0,15}$")

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[int, msgspec.Meta(gt=0)]


class SettingsError(Exception):
    """The settings cannot be used; the message says which key and why."""


class Settings(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="kebab"
):
    """Base of every settings section: immutable, strict, keys in kebab-case."""


class Mode(StrEnum):
    PAPER = "paper"  # the local simulator; no keys needed
    TESTNET = "testnet"
    DEMO = "demo"
    LIVE = "live"  # real money: also needs --live on the command line


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class SystemSettings(Settings, frozen=True, kw_only=True):
    mode: Mode = Mode.PAPER
    run_dir: str = "run"  # relative to the checkout unless absolute
    log_level: LogLevel = LogLevel.INFO


class Endpoints(Settings, frozen=True, kw_only=True):
    """Bus addresses; "{run_dir}" is replaced by the run directory."""

    universe: str
    universe_snapshot: str
    market_data: str
    market_data_snapshot: str
    order_commands: str
    execution_events: str
    execution_snapshot: str
    strategy_events: str
    strategy_snapshot: str
    market_data_raw: str  # the feed's raw tap (VenueFrame), read by the recorder alone
    recorder_events: str  # the recorder's heartbeats, status and alerts

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            check_endpoint(getattr(self, name).replace("{run_dir}", "/run"))

    def resolved(self, run_dir: Path) -> "Endpoints":
        values = {
            f: getattr(self, f).replace("{run_dir}", str(run_dir)) for f in self.__struct_fields__
        }
        for value in values.values():
            check_endpoint(value)
        return Endpoints(**values)


class BusSettings(Settings, frozen=True, kw_only=True):
    endpoints: Endpoints
    market_data_hwm: Positive = 10_000
    events_hwm: Positive = 10_000
    command_hwm: Positive = 1_000
    heartbeat_interval_ms: Positive = 1_000
    max_missed_heartbeats: Positive = 3
    snapshot_timeout_ms: Positive = 2_000


class ServiceSettings(Settings, frozen=True, kw_only=True):
    """Keys every service section has; services extend it with their own."""

    metrics_port: Port
    log_level: LogLevel | None = None  # None: [system] log-level


class BybitSettings(Settings, frozen=True, kw_only=True):
    """Where the venue is, per mode. Paper points at the local simulator."""

    recv_window_ms: Positive = 5000
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    paper_rest_url: str = "http://127.0.0.1:8900"
    paper_ws_public_url: str = "ws://127.0.0.1:8900/v5/public/linear"
    paper_ws_private_url: str = "ws://127.0.0.1:8900/v5/private"
    testnet_rest_url: str = "https://api-testnet.bybit.com"
    testnet_ws_public_url: str = "wss://stream-testnet.bybit.com/v5/public/linear"
    testnet_ws_private_url: str = "wss://stream-testnet.bybit.com/v5/private"
    demo_rest_url: str = "https://api-demo.bybit.com"
    demo_ws_public_url: str = "wss://stream.bybit.com/v5/public/linear"  # demo has no public ws
    demo_ws_private_url: str = "wss://stream-demo.bybit.com/v5/private"
    live_rest_url: str = "https://api.bybit.com"
    live_ws_public_url: str = "wss://stream.bybit.com/v5/public/linear"
    live_ws_private_url: str = "wss://stream.bybit.com/v5/private"

    def urls(self, mode: "Mode") -> tuple[str, str, str]:
        """Return (REST, public websocket, private websocket) URLs of the venue for `mode`."""
        prefix = mode.value
        return (
            getattr(self, f"{prefix}_rest_url"),
            getattr(self, f"{prefix}_ws_public_url"),
            getattr(self, f"{prefix}_ws_private_url"),
        )


@dataclass(frozen=True)
class Secrets:
    """Credentials from the environment only; never printed."""

    bybit_api_key: str | None = field(default=None, repr=False)
    bybit_api_secret: str | None = field(default=None, repr=False)
    bus_hmac_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> "Secrets":
        """Raises SettingsError (naming the variable, never its value) for a key with
        whitespace or control characters: it would end up inside the request headers."""
        env = os.environ if environ is None else environ
        for name in ("BYBIT_API_KEY", "BYBIT_API_SECRET"):
            value = env.get(name) or ""
            if any(c.isspace() or not c.isprintable() for c in value):
                raise SettingsError(
                    f"{name}: contains whitespace or a control character (a stray newline or"
                    " CR from a file?); set it to the key alone"
                )
        bus_key = env.get("BUS_HMAC_KEY") or None
        return cls(
            bybit_api_key=env.get("BYBIT_API_KEY") or None,
            bybit_api_secret=env.get("BYBIT_API_SECRET") or None,
            bus_hmac_key=bus_key.encode() if bus_key else None,
        )


S = TypeVar("S", bound=Settings)


def settings_path() -> Path:
    return Path(os.environ.get(SETTINGS_ENV, DEFAULT_SETTINGS_PATH))


def load_section(name: str, section_type: type[S], path: Path | None = None) -> S:
    """Return section `name` of the settings file decoded as `section_type`.

    Raises SettingsError naming the file, the key and the reason.
    """
    path = path or settings_path()
    document = read_settings(path).document
    if name not in document:
        raise SettingsError(f"{path}: section [{name}] is missing")
    try:
        return msgspec.convert(document[name], section_type)
    except msgspec.ValidationError as e:
        raise SettingsError(f"{path}: {_explain(name, str(e))}") from None


def read_settings(path: Path) -> Migrated:
    """The settings file, parsed and migrated to the current version (in memory only).

    Every reader goes through here. Raises SettingsError naming the file: unreadable, not
    TOML, a version this code cannot read, a migration to make by hand, an unknown section.
    """
    try:
        migrated = migrate(_parse(path))
    except VersionError as e:
        raise SettingsError(f"{path}: {e}") from None
    unknown = sorted(
        name
        for name in set(migrated.document) - KNOWN_SECTIONS
        if not _instance_section(path, name)
    )
    if unknown:
        raise SettingsError(
            f"{path}: unknown section [{unknown[0]}] (known: {', '.join(sorted(KNOWN_SECTIONS))})"
        )
    return migrated


def _instance_section(path: Path, name: str) -> bool:
    """True for [strategy-<name>] with a valid name; a bad name is refused, saying why."""
    if not name.startswith(INSTANCE_PREFIX):
        return False
    if not INSTANCE_NAME.match(name.removeprefix(INSTANCE_PREFIX)):
        raise SettingsError(
            f"{path}: section [{name}]: a strategy instance's name (after 'strategy-') must be"
            " 1-16 of a-z, 0-9 and _, starting with a letter or digit"
        )
    return True


def strategy_instances(path: Path | None = None) -> tuple[str, ...]:
    """The names of the further strategy instances ([strategy-<name>] sections), sorted."""
    path = path or settings_path()
    document = read_settings(path).document
    return tuple(
        sorted(
            name.removeprefix(INSTANCE_PREFIX)
            for name in document
            if name.startswith(INSTANCE_PREFIX)
        )
    )


def instance_endpoints(endpoints: Endpoints, instance: str) -> Endpoints:
    """`endpoints` with instance `instance`'s own strategy-events and strategy-snapshot:
    each ipc path gets "-<instance>" before its suffix (strategy.pub -> strategy-mm1.pub);
    every other endpoint is shared. Raises SettingsError for a tcp endpoint (no path)."""
    values = {f: getattr(endpoints, f) for f in endpoints.__struct_fields__}
    for field_name in ("strategy_events", "strategy_snapshot"):
        endpoint: str = values[field_name]
        if not endpoint.startswith("ipc://"):
            raise SettingsError(
                f"key [bus.endpoints] {field_name.replace('_', '-')}: {endpoint!r} is not an"
                f" ipc endpoint; strategy instance [{INSTANCE_PREFIX}{instance}] derives its own"
                " from an ipc path only (use ipc endpoints to run several instances)"
            )
        head, slash, base = endpoint.rpartition("/")
        stem, dot, suffix = base.partition(".")
        values[field_name] = f"{head}{slash}{stem}-{instance}{dot}{suffix}"
    return Endpoints(**values)


def migration_notice(path: Path) -> str | None:
    """One line naming what was migrated in memory, or None for a file of the current version."""
    migrated = read_settings(path)
    if migrated.version == migrated.current:
        return None
    changes = "; ".join(migrated.changes) or "nothing in this file changes"
    return (
        f"settings: {path} is version {migrated.version}, read as version {migrated.current}:"
        f" {changes} (scripts/settings --migrate {path} rewrites it)"
    )


def _parse(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found (set {SETTINGS_ENV})") from None
    except IsADirectoryError:
        raise SettingsError(
            f"{path}: is a directory; set {SETTINGS_ENV} to the settings file itself"
            " (e.g. deploy/settings.toml)"
        ) from None
    except OSError as e:
        raise SettingsError(f"{path}: cannot read the settings file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise SettingsError(f"{path}: not a text file ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML: {e}") from None


_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]+)`")


def _explain(section: str, error: str) -> str:
    """Turn msgspec's "<reason> - at `$.a.b`" into "key [section] a.b: <reason>"."""
    match = _AT.match(error)
    reason, where = (match["reason"], match["where"] or "") if match else (error, "")
    key = where.lstrip(".")
    if unknown := _UNKNOWN.match(reason):
        full = f"{key}.{unknown['key']}" if key else unknown["key"]
        return f"key [{section}] {full}: unknown key (a typo, or a key this version does not have)"
    return f"key [{section}] {key or '(section)'}: {reason}"


def resolve_run_dir(system: SystemSettings) -> Path:
    """Return the run directory ($TRADING_RUN_DIR, else [system] run-dir) as an absolute path."""
    configured = Path(os.environ.get(RUN_DIR_ENV) or system.run_dir)
    return configured if configured.is_absolute() else REPO_ROOT / configured


def ensure_run_dir(run_dir: Path) -> Path:
    """Create the run directory with mode 0700 (ipc sockets and logs live there).

    An existing directory of ours is tightened to 0700; one owned by someone else is refused.
    """
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = run_dir.stat()
    if info.st_uid != os.getuid():
        raise SettingsError(f"run directory {run_dir} belongs to uid {info.st_uid}, not to us")
    if stat.S_IMODE(info.st_mode) != 0o700:
        run_dir.chmod(0o700)
    return run_dir


def check_bus_security(endpoints: Endpoints, secrets: Secrets) -> None:
    """Refuse tcp endpoints off this host unless frames are signed (BUS_HMAC_KEY)."""
    if secrets.bus_hmac_key is not None:
        return
    for name in endpoints.__struct_fields__:
        if is_off_host(getattr(endpoints, name)):
            raise SettingsError(
                f"key [bus.endpoints] {name.replace('_', '-')}: an endpoint off this host "
                "needs signed frames: set BUS_HMAC_KEY in the environment"
            )
