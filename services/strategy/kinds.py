"""The strategy of `[strategy] kind`, for the service and the backtest alike."""

import time

from services.strategy.api import Strategy
from services.strategy.machine import MomentumScalper
from services.strategy.mm.core import MarketMaker
from services.strategy.settings import StrategySettings


def build_strategy(settings: StrategySettings, last_seq: int) -> Strategy:
    """The momentum scalper or the market maker; order ids start above `last_seq`."""
    if settings.kind == "market-maker":
        return MarketMaker(settings, last_seq=last_seq, timer_ns=time.perf_counter_ns)
    return MomentumScalper(settings, last_seq=last_seq)
