"""Replay: the simulator's market is a recording; the public stream serves its frames
unchanged, and REST and trading match against its order book."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.simulator.replay_file import ReplaySchedule, read_lines
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.simulator import running_simulator

pytestmark = pytest.mark.integration
# 10 s of real ETHUSDT, `<receive ns> <frame>` lines (tests/fixtures/replay/SOURCES.md)
ETHUSDT_10S = Path(__file__).parents[1] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"


def _recording(tmp_path: Path) -> Path:
    names = [
        "ws_public_linear_orderbook50_delta.json",
        "ws_public_linear_orderbook50_snapshot.json",
        "ws_public_linear_orderbook50_delta.json",
        "ws_public_linear_publicTrade.json",
    ]
    lines = [json.dumps(json.loads((FIXTURES / n).read_text())) for n in names]
    path = tmp_path / "recording.jsonl"
    path.write_text("\n".join([*lines, "not a frame"]) + "\n")
    return path


def test_the_schedule_keeps_data_frames_and_skips_the_rest(tmp_path: Path) -> None:
    schedule = ReplaySchedule(_recording(tmp_path))
    frames = schedule.due(now_ms=10**12)  # the clock starts
    frames += schedule.due(now_ms=10**12 + 3_600_000)  # recorded gaps are capped at 1 s
    assert [f.topic for f in frames][:4] == ["orderbook.50.BTCUSDT"] * 3 + ["publicTrade.BTCUSDT"]
    assert (schedule.skipped, schedule.passes) == (1, 2), "then it started over"


async def test_replayed_book_starts_at_its_snapshot(tmp_path: Path) -> None:
    async with running_simulator(
        symbols=("BTCUSDT",), replay_file=str(_recording(tmp_path))
    ) as sim:
        ws = await sim.session.ws_connect(f"{sim.ws_url}/v5/public/linear")
        await ws.send_json(
            {"op": "subscribe", "args": ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"]}
        )
        frames: list[dict[str, Any]] = []
        while len(frames) < 3:
            frame = await ws.receive_json(timeout=10)
            if "topic" in frame:
                frames.append(frame)
        await ws.close()
    # The delta recorded before the snapshot is withheld: a book starts at a snapshot.
    assert [(f["topic"], f["type"]) for f in frames] == [
        ("orderbook.50.BTCUSDT", "snapshot"),
        ("orderbook.50.BTCUSDT", "delta"),
        ("publicTrade.BTCUSDT", "snapshot"),
    ]
    assert frames[0]["data"]["u"] == 3545397


def _expected_frames(topics: set[str]) -> list[str]:
    """The recording's frames a subscriber to `topics` gets: books from their snapshot."""
    out, synced = [], set()
    for _, raw in read_lines(ETHUSDT_10S):
        head = json.loads(raw)
        topic = head["topic"]
        if topic not in topics:
            continue
        if topic.startswith("orderbook."):
            if head["type"] == "snapshot":
                synced.add(topic)
            if topic not in synced:
                continue
        out.append(raw)
    return out


async def test_a_resting_order_fills_as_the_recorded_market_says() -> None:
    topics = {"orderbook.500.ETHUSDT", "publicTrade.ETHUSDT"}
    async with running_simulator(
        symbols=("ETHUSDT",), replay_file=str(ETHUSDT_10S), replay_speed=4.0
    ) as sim:
        ws = await sim.session.ws_connect(f"{sim.ws_url}/v5/public/linear")
        await ws.send_json({"op": "subscribe", "args": sorted(topics)})
        received: list[str] = []
        while not received or '"orderbook.500.ETHUSDT","type":"snapshot"' not in received[-1]:
            text = await ws.receive_str(timeout=10)
            if '"topic"' in text:
                received.append(text)
        book = await sim.get(
            "/v5/market/orderbook", {"category": "linear", "symbol": "ETHUSDT", "limit": "1"}
        )
        assert book["result"]["b"][0][0] >= "2681.62", "REST shows the recorded book"
        # Below the market (2681.62 / 2681.63) until the price falls through it ~6 s later.
        created = await sim.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "ETHUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.05",
                "price": "2681.50",
                "orderLinkId": "replay-1",
            },
        )
        assert created["retCode"] == 0, created
        query = {"category": "linear", "symbol": "ETHUSDT", "orderLinkId": "replay-1"}
        while True:  # until the recording trades below our price
            text = await ws.receive_str(timeout=10)
            if '"topic"' not in text:
                continue
            received.append(text)
            frame = json.loads(text)
            if frame["topic"].startswith("publicTrade.") and any(
                Decimal(t["p"]) < Decimal("2681.50") for t in frame["data"]
            ):
                break
        # The venue matched the frame before it was sent: the order is filled already.
        (order,) = (await sim.get("/v5/order/realtime", query, signed=True))["result"]["list"]
        assert (order["orderStatus"], order["cumExecQty"]) == ("Filled", "0.05")
        fills = await sim.get("/v5/execution/list", query, signed=True)
        (fill,) = fills["result"]["list"]
        assert (fill["execPrice"], fill["execQty"], fill["isMaker"]) == ("2681.50", "0.05", True)
        await ws.close()
    assert received == _expected_frames(topics)[: len(received)], "exactly the recording"
