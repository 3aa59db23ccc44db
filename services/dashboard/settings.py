"""The dashboard's section of deploy/settings.toml, and when it may listen beyond loopback."""

import ipaddress
import ssl
from pathlib import Path
from typing import Annotated

import msgspec

from shared.settings import REPO_ROOT, Port, ServiceSettings, SettingsError

TOKEN_ENV = "DASHBOARD_TOKEN"  # the operator's token: the controls need it; never in a URL or log
_LOOPBACK_NAMES = frozenset({"localhost"})


class DashboardSettings(ServiceSettings, frozen=True, kw_only=True):
    """Where the page is served, where the reports are, how often the sources are read."""

    host: Annotated[str, msgspec.Meta(min_length=1)] = "127.0.0.1"
    port: Port = 8780
    reports_dir: Annotated[str, msgspec.Meta(min_length=1)] = "reports"  # checkout-relative
    tls_cert_file: str = ""  # both TLS files, or neither; beyond loopback both are required
    tls_key_file: str = ""
    supervisor_poll_s: Annotated[float, msgspec.Meta(ge=0.2, le=60)] = 2.0
    scrape_interval_s: Annotated[float, msgspec.Meta(ge=0.2, le=60)] = 2.0
    quotes_per_s: Annotated[float, msgspec.Meta(gt=0, le=4)] = 4.0  # per symbol, to the page
    push_interval_ms: Annotated[int, msgspec.Meta(ge=10, le=1000)] = 50  # deltas coalesced
    control_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 15.0

    def __post_init__(self) -> None:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError(
                "tls-cert-file and tls-key-file go together: set both (TLS) or neither"
                " - at `$.tls-cert-file`"
            )
        if not is_loopback(self.host) and not self.tls_cert_file:
            raise ValueError(
                f"{self.host!r} is not a loopback address: listening beyond this host needs"
                " TLS (tls-cert-file and tls-key-file) and DASHBOARD_TOKEN; use 127.0.0.1"
                " - at `$.host`"
            )

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file)

    def tls_context(self) -> ssl.SSLContext | None:
        """The server's TLS context from the two files (None: plain HTTP on loopback)."""
        if not self.tls:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        return context

    def url(self) -> str:
        """The page's address (what scripts/run prints)."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"

    def reports_root(self) -> Path:
        """`reports-dir`: under the checkout unless absolute."""
        configured = Path(self.reports_dir)
        return configured if configured.is_absolute() else REPO_ROOT / configured


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; any other name or address is not."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: DashboardSettings, token: str | None) -> None:
    """Refuse a token with whitespace or control characters (it could not travel in a
    header or a key file), and listening beyond loopback without the token (TLS is checked
    on decoding).

    Raises SettingsError naming the key or variable and the reason, never the token.
    """
    if token and any(c.isspace() or not c.isprintable() for c in token):
        raise SettingsError(
            f"{TOKEN_ENV}: contains whitespace or a control character (a stray newline from a"
            " file?); set it to the token alone"
        )
    if is_loopback(settings.host):
        return
    if not token:
        raise SettingsError(
            f"key [dashboard] host: {settings.host!r} is not a loopback address: listening"
            f" beyond this host needs {TOKEN_ENV} in the environment (and TLS); without it"
            " use 127.0.0.1"
        )
    files = (("tls-cert-file", settings.tls_cert_file), ("tls-key-file", settings.tls_key_file))
    for key, path in files:
        if not Path(path).is_file():
            raise SettingsError(f"key [dashboard] {key}: {path!r} is not a readable file")
