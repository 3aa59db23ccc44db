"""Fuzz of every venue boundary: mutated captures come out as decoded frames or counted drops.

Seeded from the captured Bybit frames and responses in tests/fixtures/bybit; the mutations
are those of tests.helpers.mutations (byte flips, truncations, insertions, invalid UTF-8,
numbers replaced by huge, NaN, negative or wrongly typed values, deep nesting). Anything
raised fails the test: it would end the stream or escape the REST client's BybitError.
"""

import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.bybit.drops import VenueDropReason
from tests.helpers.fuzz_targets import Boundary, rest_bodies, ws_control, ws_private, ws_public
from tests.helpers.mutations import KINDS, Mutation, mutate

REASONS = {r.value for r in VenueDropReason}
DOCUMENTED = {
    "ws_public": REASONS,
    "ws_private": REASONS,
    "ws_control": REASONS,
    "rest": {f"bad_response_{r}" for r in REASONS}
    | {f"bad_ticker_{r}" for r in REASONS}
    | {"venue", "rate_limited"},
}
BOUNDARIES = {b.name: b for b in (ws_public(), ws_private(), ws_control(), rest_bodies())}
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


@pytest.mark.parametrize("name", ["ws_public", "ws_private"])
def test_every_captured_data_frame_decodes(name: str) -> None:
    boundary = BOUNDARIES[name]
    for index, seed in enumerate(boundary.seeds):
        assert boundary.feed(index, seed) is None


@pytest.mark.parametrize("name", BOUNDARIES)
@FUZZ
@given(seed=st.integers(0, 10**6), mutations=MUTATIONS)
def test_a_mutated_capture_is_decoded_or_dropped_with_a_reason(
    name: str, seed: int, mutations: list[Mutation]
) -> None:
    boundary = BOUNDARIES[name]
    index = seed % len(boundary.seeds)
    _check(boundary, index, mutate(boundary.seeds[index], mutations, boundary.fmt))


@pytest.mark.parametrize("name", BOUNDARIES)
@FUZZ
@given(seed=st.integers(0, 10**6), data=st.binary(max_size=512))
def test_any_bytes_are_decoded_or_dropped_with_a_reason(name: str, seed: int, data: bytes) -> None:
    boundary = BOUNDARIES[name]
    _check(boundary, seed % len(boundary.seeds), data)
