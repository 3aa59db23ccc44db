"""The market maker's backtest output is unchanged by the quote cycle's speed work.

The digests were taken on the tree before that work (commit 6f012cf: the maker as the
cycle's p99 of 206.9 us measured it), the same way as the backtest's own identity test
(tests/unit/research/test_backtest_identity.py `result_json`: orders, fills, equity,
counters and summary, not the settings' echo), on the 10 s ETHUSDT fixture under three
settings: quoting at the touch (fills, amends, fast-cancels), the shipped defaults with
the bench's executor limits and latency, and a setting that reaches the queue-aware keep
(rule 5, more ticks kept), the probabilistic queue and SOFT sizes (a fill's fee is a
window loss over the soft limit). The 6-minute fixture's whole JSON under the bench's
settings was compared byte for byte as well (too slow for a unit test).
A change that moves one order, fill, equity point or counter fails here; a change meant
to do so takes the digests again and says why.
"""

import hashlib
from collections.abc import Callable

import msgspec
import pytest

from research.backtest.settings import BacktestSettings
from services.executor.settings import ExecutorSettings
from services.feed.settings import FeedSettings
from services.strategy.settings import MarketMakerSection, StrategySettings
from tests.unit.research.support import latency
from tests.unit.research.test_backtest_identity import REPLAY, result_json
from tests.unit.research.test_backtest_mm import QUOTING


def _settings(section: MarketMakerSection, latency_ms: float) -> BacktestSettings:
    strategy = StrategySettings(
        metrics_port=1, kind="market-maker", strategy_id="mm1", market_maker=section
    )
    executor = ExecutorSettings(
        metrics_port=1, max_orders_per_minute=1200, strategy_orders_per_minute=1200
    )
    return BacktestSettings(
        symbol="ETHUSDT",
        strategy=strategy,
        executor=executor,
        feed=FeedSettings(metrics_port=1),
        entry_latency=latency(latency_ms),
        response_latency=latency(latency_ms),
    )


def _keeping() -> BacktestSettings:
    section = msgspec.structs.replace(
        QUOTING,
        keep_max_ticks=3,
        queue_model="probabilistic",
        window_loss_soft_usdt=0.01,  # a fill's fee: SOFT, half-size quotes from then on
        window_loss_hard_usdt=1_000.0,
    )
    return _settings(section, 1.0)


CASES: dict[str, tuple[Callable[[], BacktestSettings], str]] = {
    "quoting": (
        lambda: _settings(QUOTING, 2.0),
        "1459e35c7e613b2dc2f0563c5caa95d81ee44e33c8b5fe9543573c3978ec3922",
    ),
    "defaults": (
        lambda: _settings(MarketMakerSection(), 5.0),
        "ea584be0c1e871b8b1fae58d29706163485da7936753cd8ce22c5e8c62d9bfa1",
    ),
    "keeping": (_keeping, "9ca9b2c3d5808ba3441f9d8d5b00549068e522a020198573c4cb9fb4f0b869be"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_makers_result_is_byte_identical_to_before_the_cycle_speed_work(name: str) -> None:
    make_settings, digest = CASES[name]
    assert hashlib.sha256(result_json((make_settings, REPLAY))).hexdigest() == digest
