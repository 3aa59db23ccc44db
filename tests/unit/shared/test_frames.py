import msgspec
import pytest

from shared.bus import FrameError, Header, Signer, decode_frames, encode_frames
from shared.schema import SCHEMA_VERSION
from tests.helpers.samples import make_quote, make_submit

HEADER = Header(SCHEMA_VERSION, "feed", 7, 1, 123)


def test_frames_round_trip_signed() -> None:
    signer = Signer(b"key")
    frames = encode_frames(b"md.quote.BTCUSDT.", HEADER, make_quote(), signer)
    assert decode_frames(frames, signer) == (b"md.quote.BTCUSDT.", HEADER, make_quote())


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda f: f[:3], "malformed"),
        (lambda f: [f[0], b"x" * 32, f[2], f[3]], "bad_signature"),
        (lambda f: [b"md.quote.ETHUSDT.", f[1], f[2], f[3]], "bad_signature"),
    ],
)
def test_tampered_frames_are_refused(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    signer = Signer(b"key")
    frames = encode_frames(b"md.quote.BTCUSDT.", HEADER, make_quote(), signer)
    with pytest.raises(FrameError) as e:
        decode_frames(mutate(frames), signer)
    assert e.value.reason == reason


def test_other_schema_version_is_refused() -> None:
    signer = Signer(None)
    frames = encode_frames(b"t.", Header(SCHEMA_VERSION + 1, "feed", 1, 1, 0), make_quote(), signer)
    with pytest.raises(FrameError) as e:
        decode_frames(frames, signer)
    assert e.value.reason == "schema_mismatch"


@pytest.mark.parametrize("body", [b"\xc1", b"garbage", msgspec.msgpack.encode({"kind": "Nope"})])
def test_undecodable_body_is_refused(body: bytes) -> None:
    signer = Signer(None)
    frames = encode_frames(b"t.", HEADER, make_quote(), signer)
    with pytest.raises(FrameError) as e:
        decode_frames([frames[0], frames[1], frames[2], body], signer)
    assert e.value.reason == "undecodable"


def test_signer_without_key_is_a_no_op_and_hides_its_key() -> None:
    assert Signer(None).sign(b"a", b"b", b"c") == b""
    assert "secret" not in repr(Signer(b"secret"))


def _header_with_sender(sender: bytes) -> bytes:
    """A msgpack header whose sender is `sender` as raw str bytes (valid UTF-8 or not)."""
    assert len(sender) < 32
    good = msgspec.msgpack.encode(Header(SCHEMA_VERSION, "s" * len(sender), 7, 1, 123))
    return good.replace(b"s" * len(sender), sender, 1)


def test_a_sender_that_is_not_utf8_is_undecodable() -> None:
    # Before: msgspec's UnicodeDecodeError escaped decode_frames and killed the receiver.
    signer = Signer(None)
    frames = encode_frames(b"t.", HEADER, make_quote(), signer)
    with pytest.raises(FrameError) as e:
        decode_frames(
            [frames[0], frames[1], _header_with_sender(b"str\xffategy"), frames[3]], signer
        )
    assert e.value.reason == "undecodable"


@pytest.mark.parametrize(
    ("field", "value"),
    [("qty", "NaN"), ("qty", "sNaN"), ("limit_price", "NaN"), ("strategy_id", b"\xed\xa0\x80")],
)
def test_a_command_with_an_unusable_value_is_undecodable(field: str, value: object) -> None:
    # Before: a NaN qty raised decimal.InvalidOperation from SubmitOrder.__post_init__, and
    # text that is not UTF-8 UnicodeDecodeError, out of decode_frames.
    signer = Signer(None)
    raw = msgspec.to_builtins(make_submit())
    body = msgspec.msgpack.encode(raw | {field: value if isinstance(value, str) else "@@@"})
    if isinstance(value, bytes):
        body = body.replace(b"@@@", value)
    frames = encode_frames(b"cmd.", HEADER, make_submit(), signer)
    with pytest.raises(FrameError) as e:
        decode_frames([frames[0], frames[1], frames[2], body], signer)
    assert e.value.reason == "undecodable"
