"""Replay: the public stream serves recorded real frames instead of the synthetic market."""

import json
from pathlib import Path
from typing import Any

import pytest

from services.simulator.replay import load_frames
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.simulator import running_simulator

pytestmark = pytest.mark.integration


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


def test_loader_keeps_data_frames_and_skips_the_rest(tmp_path: Path) -> None:
    frames = load_frames(_recording(tmp_path))
    assert [topic for _, topic, _, _ in frames] == ["orderbook.50.BTCUSDT"] * 3 + [
        "publicTrade.BTCUSDT"
    ]


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
