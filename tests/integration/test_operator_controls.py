"""scripts/halt and scripts/resume against the in-process executor and the real simulator."""

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from scripts import operator
from shared.schema import OrderAccepted, TradingState
from shared.settings import BusSettings
from tests.conftest import endpoints_in
from tests.helpers.executor_rig import MakeNode, rig
from tests.helpers.waiting import eventually


def _operator_bus(ipc_dir: Path) -> BusSettings:
    return BusSettings(endpoints=endpoints_in(ipc_dir), heartbeat_interval_ms=100)


async def test_halt_cancels_flattens_and_halts_then_resume_trades_again(
    make_node: MakeNode, ipc_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with rig(make_node, ipc_dir) as r:
        # Arrange: a position and a resting order
        await r.send(r.order("0.002"))
        await eventually(
            lambda: r.executor.registry.position_qty("BTCUSDT") == Decimal("0.002"), 10
        )
        price = (await r.last_price() * Decimal("0.995")).quantize(Decimal("0.1"))
        resting = r.order(limit_price=price)
        await r.send(resting)
        await eventually(lambda: r.open_at_venue(), timeout_s=10)
        bus = _operator_bus(ipc_dir)

        # Act: halt
        halted = await asyncio.to_thread(operator.main, ["halt", "--timeout", "20"], bus=bus)
        halt_out = capsys.readouterr()
        open_after_halt = await r.open_at_venue()
        position_after_halt = await r.venue_position()
        state_after_halt = r.executor.state

        # Act: resume, then a new order
        resumed = await asyncio.to_thread(
            operator.main, ["resume", "--reason", "test over"], bus=bus
        )
        resume_out = capsys.readouterr()
        state_after_resume = r.executor.state
        again = r.order()
        await r.send(again)
        await eventually(
            lambda: any(
                a.client_order_id == again.client_order_id for a in r.messages(OrderAccepted)
            ),
            timeout_s=10,
        )

    # Assert
    assert halted == 0, halt_out
    assert "confirmed: executor is Halted" in halt_out.out
    assert "no open orders and no positions" in halt_out.out
    assert state_after_halt is TradingState.HALTED
    assert open_after_halt == []
    assert Decimal(position_after_halt["size"]) == 0
    assert resumed == 0, resume_out
    assert "confirmed: executor is Active (was Halted)" in resume_out.out
    assert "test over" in resume_out.out
    assert state_after_resume is TradingState.ACTIVE


def test_says_not_delivered_when_no_executor_listens(
    ipc_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Act
    code = operator.main(["halt", "--timeout", "1"], bus=_operator_bus(ipc_dir))

    # Assert
    err = capsys.readouterr().err
    assert code == 1
    assert "not delivered: no executor takes commands on ipc://" in err


def test_bad_settings_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Arrange
    settings = tmp_path / "settings.toml"
    settings.write_text("[bus]\nno-such-key = 1\n")
    monkeypatch.setenv("TRADING_SETTINGS", str(settings))

    # Act
    code = operator.main(["resume"])

    # Assert
    assert code == 2
    assert "error:" in capsys.readouterr().err
