"""orderLinkId derivation: Bybit's length and charset rule, injectivity, and the inverse."""

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.order_ids import (
    MAX_EPOCH,
    MAX_SEQ,
    OrderIdParts,
    client_order_id,
    parse_client_order_id,
)

ORDER_LINK_ID = re.compile(r"[0-9A-Za-z_-]{1,36}")  # reference 4.7

strategy_ids = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=16)
epochs = st.integers(min_value=0, max_value=MAX_EPOCH)
seqs = st.integers(min_value=0, max_value=MAX_SEQ)
intents = st.tuples(strategy_ids, epochs, seqs)


def test_id_is_readable_for_small_numbers() -> None:
    assert client_order_id("mom1", 3, 17) == "mom1-3-h"
    assert client_order_id("mom1", 0, 0) == "mom1-0-0"


def test_longest_id_fits_exactly() -> None:
    assert len(client_order_id("s" * 16, MAX_EPOCH, MAX_SEQ)) == 36


def test_nanosecond_timestamp_fits_as_a_seq() -> None:
    seq = 1_763_700_000_000_000_000
    assert parse_client_order_id(client_order_id("mom1", 3, seq)) == OrderIdParts("mom1", 3, seq)


@pytest.mark.parametrize(
    ("strategy_id", "epoch", "seq"),
    [
        ("", 0, 0),
        ("a-b", 0, 0),
        ("a b", 0, 0),
        ("s" * 17, 0, 0),
        ("mom1", -1, 0),
        ("mom1", MAX_EPOCH + 1, 0),
        ("mom1", 0, -1),
        ("mom1", 0, MAX_SEQ + 1),
    ],
)
def test_out_of_range_intent_raises(strategy_id: str, epoch: int, seq: int) -> None:
    with pytest.raises(ValueError, match=r"strategy_id|epoch|seq"):
        client_order_id(strategy_id, epoch, seq)


@pytest.mark.parametrize(
    "value",
    ["", "mom1", "mom1-3", "mom1-03-1", "mom1-3-1-1", "mom1-3-H", "fd4300ae-7847-404e-b947-b4"],
)
def test_foreign_or_non_canonical_ids_do_not_parse(value: str) -> None:
    assert parse_client_order_id(value) is None


@settings(derandomize=True, max_examples=500, deadline=None)
@given(intents)
def test_id_meets_bybit_rule_and_parses_back(intent: tuple[str, int, int]) -> None:
    value = client_order_id(*intent)
    assert ORDER_LINK_ID.fullmatch(value)
    assert parse_client_order_id(value) == OrderIdParts(*intent)


@settings(derandomize=True, max_examples=500, deadline=None)
@given(intents, intents)
def test_distinct_intents_get_distinct_ids(
    a: tuple[str, int, int], b: tuple[str, int, int]
) -> None:
    if a != b:
        assert client_order_id(*a) != client_order_id(*b)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(intents, st.sampled_from([0, 1, 2]))
def test_ids_differing_in_one_part_differ(intent: tuple[str, int, int], part: int) -> None:
    # Random pairs rarely collide by chance; vary one part by one to probe the boundaries.
    changed = list(intent)
    if part == 0:
        changed[0] = intent[0] + "_" if len(intent[0]) < 16 else intent[0][:-1]
    else:
        changed[part] = intent[part] + 1 if intent[part] < (MAX_EPOCH, MAX_SEQ)[part - 1] else 0
    assert client_order_id(*intent) != client_order_id(*changed)
