"""Found by fuzzing the executor's reports (tests.helpers.fuzz_consumers.executor_reports): an
execution of one of our orders that the order cannot take (more than its qty, or on an order
the venue never had) was journaled, then OrderRecord.apply_fill raised InvalidFill out of
VenueEvents.on_frame: the private stream's reader died, and the journal kept a fill that
raises again when it is replayed at the next start. It is now refused before the journal:
counted (invalid_fills), alerted (invalid_fill, CRITICAL), reconciliation asked for."""

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from services.executor.order_state import OrderRecord
from services.executor.venue_events import VenueEvents
from shared.bybit.stream import StreamFrame
from shared.schema import Alert, AlertSeverity, OrderStatus
from tests.helpers.executor_parts import make_parts
from tests.helpers.fixtures import BYBIT_FIXTURES
from tests.helpers.fuzz_consumers import executor_reports
from tests.helpers.samples import COID, make_submit


def _frame(qty: str) -> bytes:
    frame = json.loads((BYBIT_FIXTURES / "ws_private_execution_linear_docexample.json").read_text())
    frame["data"][0].update(orderLinkId=COID, orderId="v1", execQty=qty, execPrice="64000.1")
    return json.dumps(frame).encode()


def _fills(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM fills").fetchone()[0])


@pytest.mark.parametrize(
    ("status", "qty"),
    [
        (OrderStatus.SUBMITTED, "0.003"),  # the order is for 0.002
        (OrderStatus.SUBMITTED, "1000000000000000000000000000000"),
        (OrderStatus.REJECTED, "0.001"),  # the venue never had it
    ],
)
def test_a_fill_the_order_cannot_take_is_refused_before_the_journal(
    tmp_path: Path, status: OrderStatus, qty: str
) -> None:
    parts, publisher, _ = make_parts(tmp_path)
    command = make_submit()
    parts.journal.record_intent(command, 1, sent_ns=1)
    record = OrderRecord.from_command(command)
    record.apply_status(OrderStatus.SUBMITTED)
    if status is OrderStatus.REJECTED:
        record.apply_status(status)
    parts.registry.add(record)
    events = VenueEvents(parts)

    assert events.on_frame(StreamFrame(_frame(qty), 1)) is None

    assert parts.counters["invalid_fills"] == 1
    assert [(a.code, a.severity) for a in publisher.sent if isinstance(a, Alert)] == [
        ("invalid_fill", AlertSeverity.CRITICAL)
    ]
    assert parts.reconcile_wanted.is_set()
    assert _fills(tmp_path / "journal.sqlite") == 0
    assert record.cum_filled_qty == 0
    assert not parts.registry.exec_ids  # a good report of it later is applied


def test_the_fuzz_boundary_names_it() -> None:
    boundary = executor_reports()
    seed = boundary.seeds[0]
    assert b'"execQty":"0.001"' in seed

    assert boundary.feed(0, seed.replace(b'"execQty":"0.001"', b'"execQty":"0.003"')) == (
        "invalid_fill"
    )
