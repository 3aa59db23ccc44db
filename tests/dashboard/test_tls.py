"""With both TLS files set the page is served over HTTPS only (beyond loopback the settings
require them): a client that trusts the certificate's CA reads /api/state, plain HTTP on
the same port gets no page."""

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from services.dashboard.server import Hub, Server
from services.dashboard.settings import DashboardSettings
from services.dashboard.view import Header, View
from shared.runtime import LiveClock


@pytest.fixture
async def https_port(tmp_path: Path) -> AsyncIterator[tuple[int, trustme.CA]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    settings = DashboardSettings(
        metrics_port=1, tls_cert_file=str(cert_file), tls_key_file=str(key_file)
    )
    view = View(Header("paper", "/run", False, None))
    server = Server(
        Hub(view, LiveClock()),
        None,  # type: ignore[arg-type]  # no control is called here
        token=None,
        reports_root=tmp_path,
        allowed_host="127.0.0.1",
    )
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=settings.tls_context())
    await site.start()
    port = runner.addresses[0][1]
    yield port, ca
    await runner.cleanup()


async def test_the_page_is_served_over_tls_with_the_configured_certificate(
    https_port: tuple[int, trustme.CA],
) -> None:
    port, ca = https_port
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://127.0.0.1:{port}/api/state", ssl=client_context) as r:
            assert r.status == 200
            assert (await r.json())["state"]["settings"]["mode"] == "paper"
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/api/state") as plain:
                await plain.read()


def test_without_tls_files_there_is_no_context() -> None:
    assert DashboardSettings(metrics_port=1).tls_context() is None
