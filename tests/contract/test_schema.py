"""Every bus message kind round-trips, has a unique tag and a topic."""

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.schema import (
    MESSAGE_KINDS,
    Message,
    decode_body,
    encode_body,
    to_json,
    topic_for,
)
from tests.helpers.samples import SAMPLES
from tests.helpers.strategies import for_struct


@pytest.mark.parametrize("kind", MESSAGE_KINDS, ids=lambda k: k.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_message_round_trips_when_encoded_and_decoded(
    kind: type[Message], data: st.DataObject
) -> None:
    message = data.draw(for_struct(kind))
    assert decode_body(encode_body(message)) == message


def test_tags_are_unique_and_named_after_the_class() -> None:
    tags = [kind.__struct_config__.tag for kind in MESSAGE_KINDS]
    assert len(tags) == len(set(tags))
    assert tags == [kind.__name__ for kind in MESSAGE_KINDS]


def test_every_kind_has_a_sample_and_a_topic_ending_with_a_dot() -> None:
    assert sorted(SAMPLES) == sorted(kind.__name__ for kind in MESSAGE_KINDS)
    for message in SAMPLES.values():
        topic = topic_for(message, "feed")
        assert topic.endswith(b".")
        assert b".." not in topic


def test_symbol_topics_do_not_prefix_each_other() -> None:
    eth = topic_for(SAMPLES["Quote"].__replace__(symbol="ETH"), "feed")  # type: ignore[attr-defined]
    ethfi = topic_for(SAMPLES["Quote"].__replace__(symbol="ETHFI"), "feed")  # type: ignore[attr-defined]
    assert not ethfi.startswith(eth)


def test_messages_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SAMPLES["Quote"].bid_price = Decimal(1)  # type: ignore[misc]


def test_submit_order_with_non_positive_qty_does_not_decode() -> None:
    raw = msgspec.msgpack.decode(encode_body(SAMPLES["SubmitOrder"]))
    raw["qty"] = "0"
    with pytest.raises(msgspec.ValidationError, match="qty must be positive"):
        decode_body(msgspec.msgpack.encode(raw))


def test_money_travels_as_exact_decimal_strings() -> None:
    as_json = msgspec.json.decode(to_json(SAMPLES["Quote"]))
    assert as_json["bid_price"] == "64000.1"
    assert as_json["kind"] == "Quote"
