"""Fuzz of every boundary where bytes enter a process: decoded, or dropped with a reason.

The bus boundaries (subscriber, command PULL, snapshot ROUTER and DEALER) are seeded from
encoded samples of every bus message (tests.helpers.samples); the venue boundaries (public
and private websocket data, control replies, REST bodies) from the captured Bybit frames and
responses in tests/fixtures/bybit, and so are the feed's and the executor's handling of
those frames past decoding (tests.helpers.fuzz_consumers: the book and trades checked and
applied; a private report checked, journaled and applied), whose refusals are documented
outcomes too. The mutations are those of tests.helpers.mutations (byte flips, truncations,
insertions, invalid UTF-8, numbers replaced by huge, NaN, negative or wrongly typed values,
deep nesting). Anything raised fails the test: it would end the service, the stream, or
escape the REST client's BybitError.
"""

import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.bus import DropReason
from shared.bybit.drops import VenueDropReason
from shared.bybit.validate import Defect
from tests.helpers.fuzz_consumers import all_boundaries
from tests.helpers.fuzz_targets import Boundary
from tests.helpers.mutations import KINDS, Mutation, mutate

_BUS = {r.value for r in DropReason} | {"incomplete"}
_VENUE = {r.value for r in VenueDropReason}


def _refused(*reports: str) -> set[str]:
    return {f"refused_{report}_{defect}" for report in reports for defect in Defect}


# The consumers' last resort (book_broke, report_broke) is not documented: a frame that
# decodes must be refused by the checks, not break the book or the order it is applied to.
DOCUMENTED = {
    "bus_decode": _BUS,
    "bus_command": _BUS,
    "bus_snapshot_server": _BUS,
    "bus_snapshot_client": _BUS,
    "ws_public": _VENUE,
    "ws_private": _VENUE,
    "ws_control": _VENUE,
    "rest": {f"bad_response_{r}" for r in _VENUE}
    | {f"bad_ticker_{r}" for r in _VENUE}
    | {"venue", "rate_limited"},
    "feed_frames": _VENUE | _refused("book", "trade"),
    "executor_reports": _VENUE | _refused("fill", "order", "position", "wallet") | {"invalid_fill"},
}
BOUNDARIES = {b.name: b for b in all_boundaries()}
MUTATIONS = st.lists(
    st.builds(Mutation, st.sampled_from(KINDS), st.integers(0, 2**20), st.integers(0, 2**16)),
    min_size=1,
    max_size=3,
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """Every drop logs an error line; thousands of them only slow the run."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _check(boundary: Boundary, index: int, data: bytes) -> None:
    outcome = boundary.feed(index, data)
    assert outcome is None or set(outcome.split(",")) <= DOCUMENTED[boundary.name], outcome


def test_every_boundary_is_fuzzed() -> None:
    assert set(BOUNDARIES) == set(DOCUMENTED)


@pytest.mark.parametrize("name", sorted(set(BOUNDARIES) - {"ws_control", "rest"}))
def test_every_seed_is_accepted(name: str) -> None:
    boundary = BOUNDARIES[name]
    for index, seed in enumerate(boundary.seeds):
        assert boundary.feed(index, seed) is None


@pytest.mark.parametrize("name", BOUNDARIES)
@FUZZ
@given(seed=st.integers(0, 10**6), mutations=MUTATIONS)
def test_a_mutated_seed_is_accepted_or_dropped_with_a_reason(
    name: str, seed: int, mutations: list[Mutation]
) -> None:
    boundary = BOUNDARIES[name]
    index = seed % len(boundary.seeds)
    _check(boundary, index, mutate(boundary.seeds[index], mutations, boundary.fmt))


@pytest.mark.parametrize("name", BOUNDARIES)
@FUZZ
@given(seed=st.integers(0, 10**6), data=st.binary(max_size=512))
def test_any_bytes_are_accepted_or_dropped_with_a_reason(name: str, seed: int, data: bytes) -> None:
    boundary = BOUNDARIES[name]
    _check(boundary, seed % len(boundary.seeds), data)
