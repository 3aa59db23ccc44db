"""[dashboard] settings: loopback by default; beyond it only with TLS and the token."""

from pathlib import Path

import pytest

from services.dashboard.settings import DashboardSettings, check_exposure, is_loopback
from services.dashboard.wiring import metrics_ports
from shared.settings import DEFAULT_SETTINGS_PATH, SettingsError, load_section, read_settings

GOOD = DEFAULT_SETTINGS_PATH.read_text()


def _with(tmp_path: Path, *lines: str) -> Path:
    text = GOOD.replace('host = "127.0.0.1"     #', "\n".join(lines) + "\n#", 1)
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def test_the_deployed_settings_serve_on_loopback() -> None:
    settings = load_section("dashboard", DashboardSettings)
    assert (settings.host, settings.port, settings.metrics_port) == ("127.0.0.1", 8780, 9107)
    assert settings.url() == "http://127.0.0.1:8780/"
    assert not settings.tls
    check_exposure(settings, None)  # loopback: no token needed


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.com", "::"])
def test_other_hosts_are_not(host: str) -> None:
    assert not is_loopback(host)


def test_a_host_beyond_loopback_without_tls_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = _with(tmp_path, 'host = "0.0.0.0"')
    with pytest.raises(SettingsError, match=r"key \[dashboard\] host: .*needs TLS"):
        load_section("dashboard", DashboardSettings, path)


def test_one_tls_file_alone_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(GOOD.replace('tls-cert-file = ""', 'tls-cert-file = "/x.pem"', 1))
    with pytest.raises(SettingsError, match=r"key \[dashboard\] tls-cert-file: .*go together"):
        load_section("dashboard", DashboardSettings, path)


def test_beyond_loopback_with_tls_still_needs_the_token(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    settings = DashboardSettings(
        metrics_port=9107, host="0.0.0.0", tls_cert_file=str(cert), tls_key_file=str(key)
    )
    with pytest.raises(SettingsError, match=r"key \[dashboard\] host: .*DASHBOARD_TOKEN"):
        check_exposure(settings, None)
    check_exposure(settings, "a-token")  # TLS files and the token: allowed
    missing = DashboardSettings(
        metrics_port=9107, host="0.0.0.0", tls_cert_file="/nope.pem", tls_key_file=str(key)
    )
    with pytest.raises(SettingsError, match=r"key \[dashboard\] tls-cert-file: .*not a readable"):
        check_exposure(missing, "a-token")


def test_reports_dir_is_under_the_checkout_unless_absolute() -> None:
    assert DashboardSettings(metrics_port=1, reports_dir="/data/r").reports_root() == Path(
        "/data/r"
    )
    relative = DashboardSettings(metrics_port=1).reports_root()
    assert relative == DEFAULT_SETTINGS_PATH.parent.parent / "reports"


def test_every_metrics_port_of_the_settings_is_scraped_the_simulator_only_in_paper() -> None:
    document = read_settings(DEFAULT_SETTINGS_PATH).document
    paper = metrics_ports(document)
    testnet = metrics_ports({**document, "system": {"mode": "testnet"}})
    assert paper["dashboard"] == 9107
    assert set(paper) == {
        "scanner",
        "feed",
        "strategy",
        "executor",
        "recorder",
        "simulator",
        "dashboard",
    }
    assert set(paper) - set(testnet) == {"simulator"}


def test_a_token_with_whitespace_is_refused_without_showing_it() -> None:
    settings = DashboardSettings(metrics_port=9107)
    with pytest.raises(SettingsError, match=r"DASHBOARD_TOKEN: contains whitespace") as info:
        check_exposure(settings, "abc def\n")
    assert "abc" not in str(info.value)
