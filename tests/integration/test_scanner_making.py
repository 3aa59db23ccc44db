"""The scanner's market-making selection on the simulator: published, snapshotted, filtered."""

from pathlib import Path

import pytest

from shared.schema import MarketMakingUniverse, topics
from tests.helpers.simulator import running_simulator
from tests.helpers.waiting import eventually
from tests.integration.test_scanner import MakeNode, running_scanner

pytestmark = pytest.mark.integration

OPEN = {  # filters that let every listed symbol through: the test checks the order and the size
    "mm_min_turnover_24h_usdt": 0.0,
    "mm_min_touch_depth_usdt": 0.0,
    "mm_max_spread_bps": 1_000.0,
    "mm_max_tick_bps": 1_000.0,
}


async def test_the_selection_is_published_and_served_to_late_joiners(
    make_node: MakeNode, tmp_path: Path
) -> None:
    async with (
        running_simulator() as sim,
        running_scanner(
            sim, make_node("scanner"), tmp_path, mm_top_n=4, top_n=6, **OPEN
        ) as scanner,
    ):
        await eventually(lambda: scanner.service.selection is not None)
        selection = scanner.service.selection
        assert selection is not None

        node = make_node("late")
        client = node.snapshot_client(node.settings.endpoints.universe_snapshot)
        reply = await client.fetch_async(topics.MM_UNIVERSE, timeout_s=2)
        found = [m for _, m in reply.messages if isinstance(m, MarketMakingUniverse)]
        assert found == [selection]
        assert [m for _, m in reply.messages] == [selection]  # nothing else under universe.mm.

        assert len(selection.symbols) == 4
        assert selection.symbols == tuple(c.symbol for c in selection.ranking[:4])
        assert len(selection.ranking) == 6
        scores = [c.score for c in selection.ranking]
        assert scores == sorted(scores, reverse=True)
        for c in selection.ranking:
            assert c.score == pytest.approx(
                float(c.turnover_24h_usdt) / max(c.spread_bps, c.tick_bps), rel=1e-9
            )
        assert scanner.metric("scanner_mm_selected") == 4
        assert scanner.metric("scanner_mm_changes_total") == 1  # unchanged: published once


async def test_the_filters_keep_coarse_ticks_out(make_node: MakeNode, tmp_path: Path) -> None:
    filters = {**OPEN, "mm_max_tick_bps": 0.2}  # BTCUSDT 0.01, ETHUSDT 0.03; SOLUSDT 0.55 bps
    async with (
        running_simulator() as sim,
        running_scanner(sim, make_node("scanner"), tmp_path, mm_top_n=3, **filters) as scanner,
    ):
        await eventually(lambda: scanner.service.selection is not None)
        selection = scanner.service.selection
        assert selection is not None
        assert len(selection.symbols) == 3
        assert "SOLUSDT" not in selection.symbols
        assert all(c.tick_bps <= 0.2 for c in selection.ranking)
        assert selection.symbols[:2] == ("BTCUSDT", "ETHUSDT")
