"""Found by fuzzing the executor's reports (tests.helpers.fuzz_consumers.executor_reports):
an order report of an unknown orderStatus, a position of an unknown side, a fill whose
execTime is no millisecond timestamp (or one beyond 64-bit nanoseconds), a fee of 1e999999999
(journaled, then adding it to the order's fees overflowed Decimal) passed the report checks
and raised ValueError (or OverflowError from the journal) while being applied,
caught only by on_frame's last resort (`report_broke`). They are refused by the checks,
like a NaN price: counted refused_<report>_<defect>, alerted, never journaled."""

import logging
from collections.abc import Iterator
from decimal import Decimal

import msgspec
import pytest

from shared.bybit.validate import Defect, amount_defect
from tests.helpers.fuzz_consumers import executor_reports

BOUNDARY = executor_reports()
FILL, ORDER, CANCELED, POSITION = 0, 2, 3, 4


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _changed(index: int, **fields: str) -> bytes:
    frame = msgspec.json.decode(BOUNDARY.seeds[index])
    frame["data"][0].update(fields)
    return msgspec.json.encode(frame)


@pytest.mark.parametrize(
    ("index", "fields", "outcome"),
    [
        (ORDER, {"orderStatus": "NaN"}, "refused_order_unknown"),
        (CANCELED, {"orderStatus": "PartiallyFilledCancele}"}, "refused_order_unknown"),
        (ORDER, {"orderStatus": ""}, "refused_order_unknown"),
        (POSITION, {"side": "Bu]y"}, "refused_position_unknown"),
        (FILL, {"execTime": "17462704w0353"}, "refused_fill_not_a_number"),
        (FILL, {"execTime": "NaN"}, "refused_fill_not_a_number"),
        (FILL, {"execTime": "9" * 30}, "refused_fill_out_of_range"),
        (FILL, {"execTime": "-1"}, "refused_fill_out_of_range"),
        (FILL, {"execFee": "1e999999999"}, "refused_fill_out_of_range"),
        (FILL, {"execFee": "-1e41"}, "refused_fill_out_of_range"),
    ],
)
def test_an_unusable_text_value_is_refused_by_the_checks(
    index: int, fields: dict[str, str], outcome: str
) -> None:
    assert BOUNDARY.feed(index, _changed(index, **fields)) == outcome


def test_the_captured_frames_are_accepted() -> None:
    for index, seed in enumerate(BOUNDARY.seeds):
        assert BOUNDARY.feed(index, seed) is None


def test_an_amount_beyond_10_to_the_40_is_out_of_range() -> None:
    assert amount_defect(Decimal("-9.9e40")) is None
    assert amount_defect(Decimal("1e41")) is Defect.OUT_OF_RANGE
    assert amount_defect(Decimal("-1e999999999")) is Defect.OUT_OF_RANGE
