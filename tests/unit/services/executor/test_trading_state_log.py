"""Every trading-state change (halt, flatten, resume, a halt restored at start) is logged
with its reason: the executor's log says why it stopped trading."""

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.executor.order_budget import StrategyRateLimits
from services.executor.order_control import OrderControl
from services.executor.ports import Parts
from services.executor.reconcile_runner import ReconcileRunner
from services.executor.risk import RiskLimits
from services.executor.venue_calls import VenueCalls
from shared.runtime.breaker import Breakers
from shared.schema import SetTradingState, SubmitOrder, Symbol, TradingState
from tests.helpers.executor_parts import make_parts

LIMITS = RiskLimits(
    max_order_notional_usdt=Decimal(1000),
    max_position_notional_usdt=Decimal(5000),
    max_open_orders=10,
    max_orders_per_minute=60,
    price_band_bps=Decimal(100),
    allowed_symbols=frozenset({"BTCUSDT"}),
    daily_loss_limit_usdt=Decimal(500),
)


class _Venue:
    """positions() says long 0.002 BTCUSDT; nothing else is asked in these tests."""

    async def positions(self, symbol: str) -> list[Any]:
        return [SimpleNamespace(symbol=symbol, side="Buy", size=Decimal("0.002"))]


class _Flow:
    def __init__(self) -> None:
        self.sent: list[SubmitOrder] = []

    def send_intent(self, command: SubmitOrder, ts_recv_ns: int) -> None:
        self.sent.append(command)


def _calls(parts: Parts) -> VenueCalls:
    return VenueCalls(parts, Breakers(), StrategyRateLimits(), max_in_flight=8)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    made, _, _ = make_parts(tmp_path, rest=_Venue())
    yield made
    made.journal.close()


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("services.executor")]


async def test_a_halt_and_its_flatten_are_logged_with_the_reason(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    parts.registry.positions[Symbol("BTCUSDT")] = SimpleNamespace(qty=Decimal("0.002"))  # type: ignore[assignment]
    flow = _Flow()
    control = OrderControl(parts, flow, _calls(parts))  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)

    await control.halt("daily loss limit: today's PnL -500.00 USDT", None)

    messages = _messages(caplog)
    assert any(
        "trading state Reducing -> Halted" in m and "daily loss limit" in m for m in messages
    ), messages
    assert any(
        m.startswith("flatten symbol=BTCUSDT") and "daily loss limit" in m for m in messages
    ), messages
    assert len(flow.sent) == 1


async def test_an_operators_resume_is_logged_with_the_reason(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    control = OrderControl(parts, _Flow(), _calls(parts))  # type: ignore[arg-type]
    parts.status.state, parts.status.reconciled = TradingState.HALTED, True
    caplog.set_level(logging.INFO)

    control.set_trading_state(
        SetTradingState(
            state=TradingState.ACTIVE, reason="operator: checked", ts_created_ns=0, expires_at_ns=1
        )
    )

    messages = _messages(caplog)
    assert any("Halted -> Active" in m and "operator: checked" in m for m in messages), messages


async def test_a_close_position_command_is_logged_with_its_reason(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    control = OrderControl(parts, _Flow(), _calls(parts))  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)
    command = SimpleNamespace(reason="strategy: max hold")

    await control.close_position("BTCUSDT", "mom1", command)  # type: ignore[arg-type]

    messages = _messages(caplog)
    assert any("flatten symbol=BTCUSDT" in m and "strategy: max hold" in m for m in messages)


def test_a_halt_restored_from_the_journal_is_logged_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, _, _ = make_parts(tmp_path)
    first.outbox.set_state(TradingState.HALTED, "operator: stop")
    first.journal.close()
    parts, _, _ = make_parts(tmp_path)
    caplog.set_level(logging.INFO)

    # What ExecutorService.run does first: restore, then announce the state.
    ReconcileRunner(parts, None, None).restore_from_journal()  # type: ignore[arg-type]
    parts.outbox.set_state(parts.status.state, parts.status.reason)

    messages = _messages(caplog)
    assert any("-> Halted reason=operator: stop" in m for m in messages), messages
    parts.journal.close()
