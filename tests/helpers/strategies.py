"""Hypothesis strategies for any schema Struct, derived from its type hints."""

import enum
import string
import types
import typing
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import strategies as st

from shared.schema import OrderType, SubmitOrder

decimals = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("1e12"), allow_nan=False, places=8
)
_SCALARS: dict[object, st.SearchStrategy[Any]] = {
    Decimal: decimals,
    int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    float: st.floats(allow_nan=False, allow_infinity=False),
    bool: st.booleans(),
    str: st.text(alphabet=string.ascii_letters + string.digits + "-_.", max_size=24),
    bytes: st.binary(max_size=64),
}


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """Return a strategy for a type used in the schema."""
    while hasattr(tp, "__supertype__"):  # NewType
        tp = tp.__supertype__
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return for_struct(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_type(arg) for arg in typing.get_args(tp)])
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return st.lists(for_type(item), max_size=3).map(tuple)
    if tp is type(None):
        return st.none()
    raise TypeError(f"no strategy for {tp!r}")


def for_struct(kind: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(kind)
    fields = {name: for_type(hints[name]) for name in kind.__struct_fields__}
    strategy = st.fixed_dictionaries(fields)
    if kind is SubmitOrder:
        strategy = strategy.filter(
            lambda f: f["order_type"] is OrderType.MARKET or f["limit_price"] is not None
        )
    return strategy.map(lambda f: kind(**f))
