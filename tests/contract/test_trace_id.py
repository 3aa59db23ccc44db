"""The trace id (issue 14): on the market data, the order commands and the order events.

Bytes written before the field existed (golden/before_trace_id/) still decode, with an
empty trace id; and the field is last in every kind, as the append-only rule asks.
"""

from pathlib import Path
from typing import Any

import msgspec
import pytest

from shared.schema import (
    AmendOrder,
    BookLevels,
    CancelAllOrders,
    CancelOrder,
    ClosePosition,
    Message,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    Quote,
    SubmitOrder,
    Trade,
    decode_body,
)
from tests.helpers.samples import SAMPLES

BEFORE_DIR = Path(__file__).parent / "golden" / "before_trace_id"
TRACED: tuple[type[Message], ...] = (
    Quote,
    Trade,
    BookLevels,
    SubmitOrder,
    AmendOrder,
    CancelOrder,
    CancelAllOrders,
    ClosePosition,
    OrderAccepted,
    OrderRejected,
    OrderDenied,
    OrderPartiallyFilled,
    OrderFilled,
    OrderCanceled,
)


def _untraced(value: Any) -> Any:
    """`value` with every trace id in it (nested commands too) set to ""."""
    if isinstance(value, tuple):
        return tuple(_untraced(v) for v in value)
    if not isinstance(value, msgspec.Struct):
        return value
    changes = {
        name: _untraced(getattr(value, name))
        for name in value.__struct_fields__
        if isinstance(getattr(value, name), tuple | msgspec.Struct)
    }
    if "trace_id" in value.__struct_fields__:
        changes["trace_id"] = ""
    return msgspec.structs.replace(value, **changes)


@pytest.mark.parametrize("kind", TRACED, ids=lambda k: k.__name__)
def test_trace_id_is_the_last_field_and_defaults_to_empty(kind: type[Message]) -> None:
    assert kind.__struct_fields__[-1] == "trace_id"
    assert kind.__struct_defaults__[-1] == ""


@pytest.mark.parametrize("kind", TRACED, ids=lambda k: k.__name__)
def test_every_traced_sample_carries_a_trace_id(kind: type[Message]) -> None:
    assert getattr(SAMPLES[kind.__name__], "trace_id", "") != ""


@pytest.mark.parametrize("path", sorted(BEFORE_DIR.glob("*.msgpack")), ids=lambda p: p.stem)
def test_bytes_from_before_the_trace_id_decode_with_an_empty_one(path: Path) -> None:
    message = decode_body(path.read_bytes())

    assert message == _untraced(SAMPLES[path.stem])


def test_every_traced_kind_has_bytes_from_before_the_trace_id() -> None:
    assert {k.__name__ for k in TRACED} <= {p.stem for p in BEFORE_DIR.glob("*.msgpack")}
