"""The registry keeps only its last few hundred finished orders (memory stays flat over a
long run); a report about an older order of ours is matched through the journal, which keeps
every order: booked to that order, never as an external fill."""

import json
from pathlib import Path

import msgspec

from services.executor.journal_records import EventKind
from services.executor.order_state import OrderRecord
from services.executor.registry import _DONE_KEPT
from services.executor.venue_events import VenueEvents
from shared.bybit.stream import StreamFrame
from shared.schema import Alert, ClientOrderId, OrderPartiallyFilled, OrderStatus, VenueOrderId
from tests.helpers.executor_parts import make_parts
from tests.helpers.fixtures import BYBIT_FIXTURES
from tests.helpers.samples import COID, make_submit


def _fill_frame(exec_id: str) -> bytes:
    frame = json.loads((BYBIT_FIXTURES / "ws_private_execution_linear_docexample.json").read_text())
    frame["data"][0].update(
        orderLinkId=COID, orderId="v1", execQty="0.001", execPrice="64000.1", execId=exec_id
    )
    return json.dumps(frame).encode()


def _finished(coid: str) -> OrderRecord:
    record = OrderRecord.from_command(
        msgspec.structs.replace(make_submit(), client_order_id=ClientOrderId(coid))
    )
    record.apply_status(OrderStatus.SUBMITTED)
    record.apply_status(OrderStatus.CANCELED)
    return record


def test_a_late_fill_of_an_order_the_registry_let_go_is_booked_to_it(tmp_path: Path) -> None:
    parts, publisher, _ = make_parts(tmp_path)
    parts.journal.record_intent(make_submit(), 1, sent_ns=1)
    parts.journal.record_ack(COID, 2, VenueOrderId("v1"), 1, OrderStatus.SUBMITTED)
    parts.journal.record_event(COID, EventKind.STATUS, 3, status=OrderStatus.CANCELED)
    for n in range(_DONE_KEPT + 1):  # newer finished orders push it out, or it never was in
        parts.registry.add(_finished(f"other-{n}"))
    parts.registry.open_records()
    assert parts.registry.get(COID) is None
    events = VenueEvents(parts)

    events.on_frame(StreamFrame(_fill_frame("late-1"), 1))

    fills = [m for m in publisher.sent if isinstance(m, OrderPartiallyFilled)]
    assert [(f.client_order_id, f.strategy_id, f.exec_id) for f in fills] == [
        (COID, "mom1", "late-1")
    ]
    assert parts.counters["orders_recalled"] == 1
    assert parts.counters["external_fills"] == 0
    assert not [m for m in publisher.sent if isinstance(m, Alert)]
    record = parts.registry.get(COID)
    assert record is not None
    assert record.status is OrderStatus.CANCELED
    assert record.cum_filled_qty == record.qty / 2

    events.on_frame(StreamFrame(_fill_frame("late-2"), 1))  # the next one finds it in memory
    assert parts.counters["orders_recalled"] == 1
    assert parts.counters["fills"] == 2


def test_the_registry_keeps_a_bounded_number_of_finished_orders(tmp_path: Path) -> None:
    parts, _, _ = make_parts(tmp_path)
    for n in range(3 * _DONE_KEPT):
        parts.registry.add(_finished(f"o-{n}"))
        parts.registry.open_records()
    kept = [n for n in range(3 * _DONE_KEPT) if parts.registry.get(f"o-{n}") is not None]
    assert kept == list(range(2 * _DONE_KEPT, 3 * _DONE_KEPT))


def test_a_fill_booked_before_is_a_duplicate_without_reading_the_journal(tmp_path: Path) -> None:
    """A REST listing repeats old fills of orders the registry let go: each is known by its
    execId, so no order is read back from the journal for it."""
    parts, publisher, _ = make_parts(tmp_path)
    parts.journal.record_intent(make_submit(), 1, sent_ns=1)
    parts.registry.exec_ids.add("late-1")
    events = VenueEvents(parts)

    events.on_frame(StreamFrame(_fill_frame("late-1"), 1))

    assert parts.counters["duplicate_fills"] == 1
    assert parts.counters["orders_recalled"] == 0
    assert parts.registry.get(COID) is None
    assert not [m for m in publisher.sent if isinstance(m, OrderPartiallyFilled)]
