"""The executor's shared Parts on a real journal, with a recording publisher and a FakeClock:
for unit tests of VenueEvents and ReconcileRunner without sockets or a venue."""

from collections import Counter
from pathlib import Path
from typing import Any

from services.executor.journal import Journal
from services.executor.order_state import OrderRecord
from services.executor.ports import Outbox, Parts, TradingStatus
from services.executor.registry import OrderRegistry
from services.executor.venue_events import VenueEvents
from shared.runtime.clock import FakeClock
from shared.schema import OrderStatus
from tests.helpers.samples import make_submit


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)


def make_parts(tmp_path: Path, rest: Any = None) -> tuple[Parts, RecordingPublisher, FakeClock]:
    """Parts with a NORMAL-synchronous journal in `tmp_path`; `rest` stands in for BybitRest."""
    clock, publisher, counters = FakeClock(1_000), RecordingPublisher(), Counter[str]()
    status = TradingStatus()
    journal = Journal(tmp_path / "journal.sqlite", synchronous="NORMAL")
    outbox = Outbox(publisher, clock, counters, status, journal)  # type: ignore[arg-type]
    return Parts(clock, OrderRegistry(), journal, rest, counters, status, outbox), publisher, clock


def events_with_a_working_order(
    tmp_path: Path, rest: Any = None
) -> tuple[VenueEvents, Parts, RecordingPublisher]:
    """VenueEvents on make_parts' Parts with one working order: make_submit()'s 0.002
    BTCUSDT (COID), journaled and Submitted."""
    parts, publisher, _ = make_parts(tmp_path, rest)
    command = make_submit()
    parts.journal.record_intent(command, 1, sent_ns=1)
    record = OrderRecord.from_command(command)
    record.apply_status(OrderStatus.SUBMITTED)
    parts.registry.add(record)
    return VenueEvents(parts), parts, publisher
