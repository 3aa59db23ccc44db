"""Found by fuzzing the feed past decoding (tests.helpers.fuzz_consumers.feed_frames): a book
frame or trade whose venue timestamp or update id is beyond a 64-bit integer (`"ts":
10**30`) decoded, was applied, then broke the publisher's encoding (OverflowError): the
feed's last resort reset a good book and resubscribed. Such a frame is dropped at the
boundary (wrong_shape), and the book is left as it was."""

import logging
from collections.abc import Iterator

import msgspec
import pytest

from tests.helpers.fuzz_consumers import feed_frames

BOUNDARY = feed_frames()
SNAPSHOT, DELTA, TRADE = 0, 1, 2
HUGE = (10**30, -(10**30), 2**63)


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _changed(index: int, path: tuple[str | int, ...], value: int) -> bytes:
    frame = msgspec.json.decode(BOUNDARY.seeds[index])
    node = frame
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return msgspec.json.encode(frame)


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize(
    ("index", "path"),
    [
        (SNAPSHOT, ("ts",)),
        (SNAPSHOT, ("data", "u")),
        (DELTA, ("ts",)),
        (DELTA, ("data", "u")),
        (TRADE, ("data", 0, "T")),
    ],
)
def test_a_timestamp_or_update_id_beyond_64_bits_is_dropped_not_applied(
    index: int, path: tuple[str | int, ...], value: int
) -> None:
    assert BOUNDARY.feed(index, _changed(index, path, value)) == "wrong_shape"


def test_the_captured_frames_are_accepted() -> None:
    for index, seed in enumerate(BOUNDARY.seeds):
        assert BOUNDARY.feed(index, seed) is None
