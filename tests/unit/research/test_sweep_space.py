"""`--param` specs: checked against StrategySettings; grids enumerated exactly."""

import tomllib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from research.sweep.space import (
    Choices,
    Range,
    SpaceError,
    grid_size,
    grid_space,
    parse_param,
    parse_params,
    range_values,
    toml_value,
)


def test_a_stepped_float_range_is_read_in_decimal() -> None:
    param = parse_param("momentum-threshold=0.00001:0.0001:0.00001")

    assert param == Range(
        "momentum-threshold", float, Decimal("0.00001"), Decimal("0.0001"), Decimal("0.00001")
    )
    assert range_values(param) == (
        1e-05,
        2e-05,
        3e-05,
        4e-05,
        5e-05,
        6e-05,
        7e-05,
        8e-05,
        9e-05,
        1e-04,
    )


def test_the_seed_example_is_a_ten_by_ten_grid() -> None:
    params = parse_params(["momentum-threshold=0.00001:0.0001:0.00001", "vwap-trades=5:50:5"])

    assert grid_size(params) == 100
    assert grid_space(params)["vwap-trades"] == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]


def test_choices_and_snake_case_keys() -> None:
    assert parse_param("take_profit_pct=0.1,0.3") == Choices("take-profit-pct", (0.1, 0.3))
    assert parse_param("strategy-id=a,b") == Choices("strategy-id", ("a", "b"))
    assert parse_param("vwap-trades=10:20") == Range(
        "vwap-trades", int, Decimal(10), Decimal(20), None
    )


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("momentum-treshold=0.1:0.2", "momentum-treshold: not a sweepable [strategy] key"),
        ("metrics-port=1:2", "metrics-port: not a sweepable"),
        ("momentum-threshold=0:0.1", "momentum-threshold: 0.0 refused: Expected `float` > 0"),
        ("momentum-threshold=0.1:1.5", "refused: Expected `float` < 1"),
        ("vwap-trades=2.5:10", "vwap-trades: an integer key, got '2.5'"),
        ("vwap-trades=1,5", "vwap-trades: 1 refused: Expected `int` >= 2"),
        ("vwap-trades=5,x", "vwap-trades: not a number: 'x'"),
        ("max-hold-s=5:1", "max-hold-s: lo (5) must be below hi (1)"),
        ("max-hold-s=1:5:0", "max-hold-s: step 0 must be > 0"),
        ("max-hold-s=1:5:9", "step 9 must be > 0 and <= hi - lo"),
        ("max-hold-s=1:2:3:4", "expected lo:hi or lo:hi:step"),
        ("max-hold-s=1:nan", "not a finite number"),
        ("strategy-id=a:b", "a str key takes choices"),
        ("strategy-id=ok,not ok!", "'not ok!' refused"),
        ("max-hold-s=1,1", "a choice is given twice"),
        ("max-hold-s", "expected key=lo:hi[:step] or key=a,b,c"),
    ],
)
def test_a_bad_spec_names_the_key_and_the_reason(spec: str, reason: str) -> None:
    with pytest.raises(SpaceError, match=None) as caught:
        parse_param(spec)

    assert reason in str(caught.value)


def test_a_key_given_twice_refuses() -> None:
    with pytest.raises(SpaceError, match="max-hold-s: given more than once"):
        parse_params(["max-hold-s=1:2", "max-hold-s=3,4"])


def test_a_grid_needs_steps() -> None:
    with pytest.raises(SpaceError, match="max-hold-s: a grid needs a step"):
        grid_space(parse_params(["max-hold-s=1:2"]))


@given(
    low=st.integers(1, 10_000),
    width=st.integers(1, 10_000),
    step=st.integers(1, 10_000),
    scale=st.sampled_from([Decimal("0.00001"), Decimal("0.01"), Decimal(1)]),
)
def test_a_grid_starts_at_lo_steps_exactly_and_stays_within_hi(
    low: int, width: int, step: int, scale: Decimal
) -> None:
    step = min(step, width)
    lo, hi, st_ = low * scale, (low + width) * scale, step * scale
    param = Range("max-hold-s", float, lo, hi, st_)

    values = range_values(param)

    assert len(values) == width // step + 1
    assert values[0] == float(lo)
    assert all(float(lo) <= v <= float(hi) for v in values)
    assert [Decimal(str(v)) for v in values] == [lo + k * st_ for k in range(len(values))]
    assert float(hi) - values[-1] < float(st_)


@given(
    st.one_of(
        st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(), st.booleans()
    )
)
def test_toml_value_reads_back_as_itself(value: int | float | str | bool) -> None:
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value
