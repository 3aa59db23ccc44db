"""The HTTP side with aiohttp's test client: tokens, origins, GETs, websocket, reports."""

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from services.dashboard.controls import Outcome
from services.dashboard.server import Hub, Server
from services.dashboard.view import Header, View
from shared.runtime import LiveClock

TOKEN = "s3cret-token-for-tests"
Make = Callable[..., Any]


class FakeControls:
    """Records what the server asked for; sends nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    async def halt(self) -> Outcome:
        self.calls.append(("halt",))
        return Outcome(True, ["confirmed: executor is HALTED"])

    async def resume(self) -> Outcome:
        self.calls.append(("resume",))
        return Outcome(True, ["confirmed"])

    async def cancel_all(self) -> Outcome:
        self.calls.append(("cancel-all",))
        return Outcome(True, ["nothing to cancel"])

    async def flatten(self, symbol: str) -> Outcome:
        self.calls.append(("flatten", symbol))
        return Outcome(True, [f"confirmed: no position in {symbol}"])


class Rig:
    def __init__(self, client: TestClient, view: View, hub: Hub, controls: FakeControls) -> None:
        self.client, self.view, self.hub, self.controls = client, view, hub, controls

    @property
    def origin(self) -> str:
        return f"http://{self.client.host}:{self.client.port}"

    async def control(self, action: str, body: Any = None, **headers: str) -> Any:
        return await self.client.post(
            f"/api/control/{action}",
            data=json.dumps(body or {}),
            headers={"Content-Type": "application/json", **headers},
        )


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[Make]:
    clients: list[TestClient] = []

    async def make(token: str | None = TOKEN) -> Rig:
        view = View(Header("paper", "/run", token is not None, "500"))
        hub, controls = Hub(view, LiveClock()), FakeControls()
        server = Server(
            hub,
            controls,  # type: ignore[arg-type]
            token=token,
            reports_root=tmp_path / "reports",
            allowed_host="127.0.0.1",
        )
        client = TestClient(TestServer(server.app(), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return Rig(client, view, hub, controls)

    yield make
    for client in clients:
        await client.close()


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_control_with_the_token_runs_and_answers_its_lines(make_rig: Make) -> None:
    rig = await make_rig()
    response = await rig.control("halt", **BEARER, Origin=rig.origin)
    assert response.status == 200
    assert await response.json() == {"ok": True, "lines": ["confirmed: executor is HALTED"]}
    assert rig.controls.calls == [("halt",)]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
async def test_a_missing_or_wrong_token_is_401_and_sends_nothing(
    make_rig: Make, headers: dict[str, str]
) -> None:
    rig = await make_rig()
    for action in ("halt", "resume", "cancel-all", "flatten"):
        response = await rig.control(action, {"symbol": "BTCUSDT"}, **headers)
        assert response.status == 401
        assert (await response.json())["ok"] is False
    assert rig.controls.calls == []


async def test_a_cross_site_request_is_403_even_with_the_token(make_rig: Make) -> None:
    rig = await make_rig()
    evil = await rig.control("halt", **BEARER, Origin="http://evil.example")
    fetch_site = await rig.control("halt", **BEARER, **{"Sec-Fetch-Site": "cross-site"})
    assert (evil.status, fetch_site.status) == (403, 403)
    assert rig.controls.calls == []


async def test_without_a_token_in_the_environment_every_control_is_403(make_rig: Make) -> None:
    rig = await make_rig(token=None)
    for action in ("halt", "resume", "cancel-all", "flatten"):
        response = await rig.control(action, {"symbol": "BTCUSDT"}, **BEARER)
        assert response.status == 403
    state = await (await rig.client.get("/api/state")).json()
    assert state["state"]["settings"]["controls_enabled"] is False
    assert rig.controls.calls == []


async def test_get_never_changes_state(make_rig: Make) -> None:
    rig = await make_rig()
    for path in ("/api/control/halt", "/api/control/flatten?symbol=BTCUSDT"):
        response = await rig.client.get(path, headers=BEARER)
        assert response.status == 405
    for path in ("/", "/api/state", "/api/reports", "/reports/x.html", "/static/app.js"):
        await rig.client.get(path, headers=BEARER)
    assert rig.controls.calls == []


async def test_a_control_needs_a_json_body_and_flatten_a_symbol(make_rig: Make) -> None:
    rig = await make_rig()
    form = await rig.client.post("/api/control/halt", data="x=1", headers=BEARER)
    bad_symbol = await rig.control("flatten", {"symbol": "btc/../x"}, **BEARER)
    unknown = await rig.control("explode", **BEARER)
    flatten = await rig.control("flatten", {"symbol": "ETHUSDT"}, **BEARER)
    assert (form.status, bad_symbol.status, unknown.status) == (415, 400, 404)
    assert flatten.status == 200
    assert rig.controls.calls == [("flatten", "ETHUSDT")]


async def test_a_foreign_host_header_is_refused(make_rig: Make) -> None:
    rig = await make_rig()
    response = await rig.client.get("/api/state", headers={"Host": "attacker.example:8780"})
    assert response.status == 421


async def test_the_websocket_starts_with_the_snapshot_then_sends_deltas_with_send_times(
    make_rig: Make,
) -> None:
    rig = await make_rig()
    rig.view.set(("health", "trading_state"), "ACTIVE")
    async with rig.client.ws_connect("/ws", headers={"Origin": rig.origin}) as ws:
        first = await ws.receive_json(timeout=5)
        rig.view.behind(1234)
        rig.view.set(("health", "trading_state"), "HALTED")
        rig.hub.flush()
        second = await ws.receive_json(timeout=5)
    assert first["type"] == "snapshot"
    assert first["state"]["health"]["trading_state"] == "ACTIVE"
    assert second == {
        "type": "delta",
        "seq": first["seq"] + 1,
        "ts_sent_ns": 1234,
        "sampled": False,
        "changes": [{"path": ["health", "trading_state"], "op": "set", "value": "HALTED"}],
    }


async def test_a_cross_site_websocket_is_refused(make_rig: Make) -> None:
    rig = await make_rig()
    response = await rig.client.get(
        "/ws",
        headers={
            "Origin": "http://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403


async def test_a_page_too_slow_is_closed_to_reconnect(make_rig: Make) -> None:
    rig = await make_rig()
    async with rig.client.ws_connect("/ws") as ws:
        await ws.receive_json(timeout=5)
        for i in range(400):  # more than the queue holds, without yielding to the sender
            rig.view.set(("health", "trading_reason"), str(i))
            rig.hub.flush()
        while True:  # what was queued before the close, then the close
            message = await ws.receive(timeout=5)
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                break
    assert rig.hub.counters["slow_pages_closed"] == 1
    assert ws.close_code == 1013


async def test_reports_are_listed_and_shown_and_nothing_outside_them(
    make_rig: Make, tmp_path: Path
) -> None:
    rig = await make_rig()
    root = tmp_path / "reports"
    (root / "sweeps").mkdir(parents=True)
    (root / "day.html").write_text("<h1>day</h1>")
    (root / "sweeps" / "s1.json").write_text('{"best": 1}')
    (root / "notes.txt").write_text("no")
    (tmp_path / "secret.json").write_text('{"key": 1}')
    (root / "link.json").symlink_to(tmp_path / "secret.json")

    listing = await (await rig.client.get("/api/reports")).json()
    html = await rig.client.get("/reports/day.html")
    pretty = await rig.client.get("/reports/sweeps/s1.json")
    refused = [
        (await rig.client.get(path)).status
        for path in (
            "/reports/../secret.json",
            "/reports/%2e%2e/secret.json",
            "/reports/sweeps/%2e%2e/%2e%2e/secret.json",
            "/reports//etc/passwd",
            "/reports/notes.txt",
            "/reports/link.json",
            "/reports/missing.html",
        )
    ]

    assert sorted(r["name"] for r in listing["reports"]) == ["day.html", "sweeps/s1.json"]
    assert html.status == 200
    assert await html.text() == "<h1>day</h1>"
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert json.loads(await pretty.text()) == {"best": 1}
    assert "\n" in await pretty.text()  # pretty-printed
    assert set(refused) == {404}
