"""The venue's order report can come before its execution reports: a cancel tells what the
venue says was filled, so the strategy waits for those fills instead of going flat."""

from decimal import Decimal
from pathlib import Path

import msgspec

from shared.bybit import wire
from shared.schema import OrderCanceled
from tests.helpers.executor_parts import events_with_a_working_order
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES
from tests.helpers.samples import COID, make_submit


def _report(status: str, cum: str) -> wire.Order:
    raw = (FIXTURES / "rest_order_realtime_response_docexample.json").read_bytes()
    result = msgspec.json.decode(raw, type=wire.RawResponse).result
    order = msgspec.json.decode(result, type=wire.OrderList).list[0]
    return msgspec.structs.replace(
        order,
        order_link_id=COID,
        order_id="v1",
        symbol=make_submit().symbol,
        order_status=status,
        qty=Decimal("0.002"),
        cum_exec_qty=Decimal(cum),
        cancel_type="UNKNOWN",
    )


def test_a_cancel_reported_before_its_fill_tells_the_venues_filled_qty(tmp_path: Path) -> None:
    events, parts, publisher = events_with_a_working_order(tmp_path)

    events._on_order(_report("Cancelled", "0.001"))  # 0.001 filled, then cancelled

    (canceled,) = [m for m in publisher.sent if isinstance(m, OrderCanceled)]
    assert canceled.cum_filled_qty == Decimal("0.001")
    assert parts.counters["order_report_before_fills"] == 1


def test_a_cancel_after_its_fills_tells_what_was_applied(tmp_path: Path) -> None:
    events, _, publisher = events_with_a_working_order(tmp_path)

    events._on_order(_report("Cancelled", "0"))

    (canceled,) = [m for m in publisher.sent if isinstance(m, OrderCanceled)]
    assert canceled.cum_filled_qty == 0
