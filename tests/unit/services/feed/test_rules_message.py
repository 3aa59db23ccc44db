"""InstrumentRulesChanged: the feed's message carrying a symbol's rules, in the schema."""

from decimal import Decimal

from shared.bybit import translate
from shared.schema import (
    InstrumentRules,
    InstrumentRulesChanged,
    OrderSide,
    decode_body,
    encode_body,
    topic_for,
)
from tests.helpers.samples import BTCUSDT_RULES, SAMPLES

D = Decimal


def test_the_rules_are_the_schemas_and_the_bybit_package_re_exports_them() -> None:
    assert translate.InstrumentRules is InstrumentRules
    assert InstrumentRules.__module__ == "shared.schema.instruments"


def test_the_rules_still_round_and_check_as_before() -> None:
    rules = BTCUSDT_RULES
    assert rules.round_price(D("64000.17"), OrderSide.BUY) == D("64000.1")
    assert rules.round_price(D("64000.11"), OrderSide.SELL) == D("64000.2")
    assert rules.floor_qty(D("0.0019")) == D("0.001")
    assert rules.check(D("0.001"), D("64000.1")) is None
    assert rules.check(D("0.0001"), D("64000.1")) == "qty 0.0001 below min_qty 0.001"
    assert rules.check(D("0.001"), D("64000.15")) is not None  # off the tick grid
    assert rules.check_qty(D("101"), market=True) == "qty 101 above max_qty 100"


def test_the_message_round_trips_exactly_on_its_symbols_topic() -> None:
    message = SAMPLES["InstrumentRulesChanged"]
    assert isinstance(message, InstrumentRulesChanged)
    assert decode_body(encode_body(message)) == message
    assert message.rules.tick_size == D("0.1")  # Decimal travels as an exact string
    assert topic_for(message, "feed") == b"md.rules.BTCUSDT."
