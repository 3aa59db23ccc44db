"""The strategy loop sends the market maker's commands (batches, amends) like any other,
and an undelivered batch is denied order by order, each with the batch's kind."""

from types import SimpleNamespace
from typing import Any

from services.strategy.loop import StrategyLoop
from shared.runtime.clock import FakeClock
from shared.schema import OrderDenied, SubmitOrders
from tests.unit.services.strategy.mm.core_support import START, book, maker, submits
from tests.unit.services.strategy.support import T0


class _Sender:
    def __init__(self, *, delivers: bool) -> None:
        self.delivers, self.sent = delivers, list[Any]()

    def send(self, command: Any) -> bool:
        self.sent.append(command)
        return self.delivers


class _Publisher:
    def send(self, message: Any) -> None:
        pass  # alerts and status: not what this test is about


class _Recorder:
    def __init__(self) -> None:
        self.told: list[Any] = []

    def on_message(self, message: Any, now_ns: int) -> list[Any]:
        self.told.append(message)
        return []


def _loop(strategy: Any, sender: _Sender) -> StrategyLoop:
    sockets = SimpleNamespace(commands=sender, publisher=_Publisher())
    return StrategyLoop(strategy, "mm1", sockets, None, FakeClock(T0), 1.0)  # type: ignore[arg-type]


def test_a_batch_is_sent_as_one_command() -> None:
    out = book(maker(), "50000.0", "50000.1", START)
    sender = _Sender(delivers=True)
    loop = _loop(_Recorder(), sender)
    loop._act(out)
    assert [type(c) for c in sender.sent] == [SubmitOrders]
    assert loop.counters["sent_SubmitOrders"] == 1


def test_an_undelivered_batch_is_denied_for_each_of_its_orders() -> None:
    out = book(maker(), "50000.0", "50000.1", START)
    strategy = _Recorder()
    loop = _loop(strategy, _Sender(delivers=False))
    loop._act(out)
    denials = [m for m in strategy.told if isinstance(m, OrderDenied)]
    assert [d.client_order_id for d in denials] == [o.client_order_id for o in submits(out)]
    assert {d.command_kind for d in denials} == {"SubmitOrders"}


def test_the_maker_frees_both_slots_when_its_batch_is_undelivered() -> None:
    mm = maker()
    out = book(mm, "50000.0", "50000.1", START)
    loop = _loop(mm, _Sender(delivers=False))
    loop._act(out)
    assert mm.manager.book.quotes() == []
    assert mm.counters["new_quotes_backed_off"] >= 1
