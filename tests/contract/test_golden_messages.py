"""Bytes written by earlier versions still decode (old writers, new readers)."""

from pathlib import Path

import pytest

from shared.schema import MESSAGE_KINDS, decode_body, encode_body
from tests.helpers.samples import SAMPLES

GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.mark.parametrize("path", sorted(GOLDEN_DIR.glob("*.msgpack")), ids=lambda p: p.stem)
def test_golden_message_still_decodes_to_its_sample(path: Path) -> None:
    message = decode_body(path.read_bytes())
    assert type(message).__name__ == path.stem
    assert message == SAMPLES[path.stem]


def test_every_message_kind_has_a_golden_file() -> None:
    missing = [
        k.__name__ for k in MESSAGE_KINDS if not (GOLDEN_DIR / f"{k.__name__}.msgpack").exists()
    ]
    assert missing == [], "run scripts/update_golden_messages.py after adding a kind"


def test_encoding_is_stable_for_the_samples() -> None:
    changed = [
        kind
        for kind, message in SAMPLES.items()
        if (GOLDEN_DIR / f"{kind}.msgpack").read_bytes() != encode_body(message)
    ]
    assert changed == []
