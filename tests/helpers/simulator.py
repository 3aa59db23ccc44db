"""Run the real simulator in the test's event loop, and talk to it with raw signed requests."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.simulator.exchange import Exchange, ExchangeConfig
from services.simulator.service import SimulatorService
from services.simulator.settings import Faults, SimulatorSettings
from shared.bybit.auth import query_string, signed_headers, ws_auth_signature
from shared.runtime import LiveClock

API_KEY = "testkey0001"
API_SECRET = "testsecret-not-a-real-one-0001"


@dataclass
class Sim:
    service: SimulatorService
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.service.port}"

    async def get(
        self, path: str, params: dict[str, str] | None = None, *, signed: bool = False
    ) -> Any:
        query = query_string(params or {})
        headers = _headers(query) if signed else {}
        async with self.session.get(f"{self.url}{path}?{query}", headers=headers) as response:
            return json.loads(await response.read())

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        raw = json.dumps(body)
        async with self.session.post(
            f"{self.url}{path}", data=raw, headers=_headers(raw)
        ) as response:
            return json.loads(await response.read())

    async def set_faults(self, **faults: Any) -> None:
        body = {k.replace("_", "-"): v for k, v in faults.items()}
        async with self.session.post(f"{self.url}/admin/faults", json=body) as response:
            assert response.status == 200, await response.text()

    async def post_admin(self, path: str) -> Any:
        async with self.session.post(f"{self.url}{path}") as response:
            assert response.status == 200, await response.text()
            return json.loads(await response.read())

    async def stats(self) -> dict[str, Any]:
        """The simulator's /admin/stats, with the time they were read (now_ns)."""
        async with self.session.get(f"{self.url}/admin/stats") as response:
            stats: dict[str, Any] = json.loads(await response.read())
        return {**stats, "now_ns": time.time_ns()}

    async def private_ws(self, topics: list[str]) -> aiohttp.ClientWebSocketResponse:
        ws = await self.session.ws_connect(f"{self.ws_url}/v5/private")
        expires = int(time.time() * 1000) + 10_000
        await ws.send_json(
            {"op": "auth", "args": [API_KEY, expires, ws_auth_signature(API_SECRET, expires)]}
        )
        assert (await ws.receive_json(timeout=5))["success"] is True
        await ws.send_json({"op": "subscribe", "args": topics})
        assert (await ws.receive_json(timeout=5))["success"] is True
        return ws


def resting_buy(order_link_id: str = "", qty: str = "0.01") -> dict[str, Any]:
    """A create body: a BTCUSDT limit buy at 1000, far below the market, so it rests."""
    body = {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": qty,
        "price": "1000",
    }
    return body | {"orderLinkId": order_link_id} if order_link_id else body


def _headers(payload: str) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    headers = signed_headers(API_KEY, API_SECRET, timestamp, "5000", payload)
    return {**headers, "Content-Type": "application/json"}


def make_service(
    *,
    seed: int = 7,
    symbols: tuple[str, ...] | None = None,
    faults: Faults | None = None,
    replay_file: str = "",
    replay_speed: float = 1.0,
    volatility_scale: float = 1.0,
    trade_rate_scale: float = 1.0,
) -> SimulatorService:
    clock = LiveClock()
    settings = SimulatorSettings(
        metrics_port=9999,
        port=0,
        seed=seed,
        step_ms=20,
        faults=faults or Faults(),
        replay_file=replay_file,
        replay_speed=replay_speed,
    )
    exchange = Exchange(
        ExchangeConfig(
            seed=seed,
            symbols=symbols,
            volatility_scale=volatility_scale,
            trade_rate_scale=trade_rate_scale,
            market_source="recorded" if replay_file else "synthetic",
        ),
        now_ms=clock.now_ns() // 1_000_000,
    )
    return SimulatorService(settings, exchange, {API_KEY: API_SECRET}, clock)


@contextlib.asynccontextmanager
async def running_simulator(**kwargs: Any) -> AsyncIterator[Sim]:
    service = make_service(**kwargs)
    async with contextlib.AsyncExitStack() as stack:
        await service.start(stack)
        task = asyncio.create_task(service.run())
        session = await stack.enter_async_context(aiohttp.ClientSession())
        try:
            yield Sim(service, session)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
