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


# The market maker's keys: [strategy.market-maker], swept as dotted `market-maker.KEY`.
NOT_SCALAR_MM = {"follow", "queue-model", "symbols", "intensity-a-per-s", "intensity-k-per-tick"}


def test_every_scalar_market_maker_key_is_sweepable_dotted() -> None:
    from research.sweep.space import sweepable
    from services.strategy.settings import MarketMakerSection

    names = {n.replace("_", "-") for n in MarketMakerSection.__struct_fields__}
    dotted = {k for k in sweepable() if k.startswith("market-maker.")}

    assert dotted == {f"market-maker.{n}" for n in names - NOT_SCALAR_MM}
    assert "market-maker" not in sweepable()  # the table itself is no scalar
    assert sweepable()["market-maker.taker-cap-calm-fills"].kind is int
    assert sweepable()["market-maker.fast-cancel-on-trade-at-price"].default is True


def test_dotted_market_maker_specs() -> None:
    assert parse_param("market-maker.min-spread-bps=0.5:3:0.5") == Range(
        "market-maker.min-spread-bps", float, Decimal("0.5"), Decimal(3), Decimal("0.5")
    )
    assert parse_param("market_maker.vol_sensitivity_ratio=0.1,0.5,1.0") == Choices(
        "market-maker.vol-sensitivity-ratio", (0.1, 0.5, 1.0)
    )
    assert parse_param("market-maker.fast-cancel-on-trade-at-price=true,false") == Choices(
        "market-maker.fast-cancel-on-trade-at-price", (True, False)
    )
    params = parse_params(
        ["market-maker.taker-cap-calm-fills=10:100:10", "market-maker.min-spread-bps=0.5,1.0"]
    )
    assert grid_space(params)["market-maker.taker-cap-calm-fills"][:3] == [10, 20, 30]
    assert grid_size(params) == 20


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("market-maker.nope=1:2", "--param market-maker.nope: not a sweepable"),
        ("market-maker.follow=scanner", "market-maker.follow: not a sweepable"),
        ("market-maker.symbols=ETHUSDT", "market-maker.symbols: not a sweepable"),
        ("market-maker=1:2", "--param market-maker: not a sweepable"),
        ("min-spread-bps=1:2", "--param min-spread-bps: not a sweepable"),
        ("market-maker.vol-sensitivity-ratio=0.5:1.5", "1.5 refused: Expected `float` <= 1"),
        ("market-maker.min-spread-bps=0,1", "market-maker.min-spread-bps: 0.0 refused"),
        ("market-maker.taker-cap-calm-fills=2.5:10", "an integer key, got '2.5'"),
        ("market-maker.taker-cap-calm-fills=0:10", "0 refused: Expected `int` >= 1"),
        ("market-maker.fast-cancel-on-trade-at-price=yes", "expected true or false, got 'yes'"),
        ("market-maker.fast-cancel-on-trade-at-price=0:1", "a bool key takes choices"),
        ("market-maker.max-spread-bps=3:1", "market-maker.max-spread-bps: lo (3) must be below"),
    ],
)
def test_a_bad_market_maker_spec_names_the_dotted_key(spec: str, reason: str) -> None:
    with pytest.raises(SpaceError) as caught:
        parse_param(spec)

    assert reason in str(caught.value)


def test_an_unknown_key_lists_the_dotted_keys_too() -> None:
    with pytest.raises(SpaceError) as caught:
        parse_param("market-maker.min-spred-bps=1:2")

    assert "market-maker.min-spread-bps, market-maker.max-spread-bps" in str(caught.value)
    assert "vwap-trades" in str(caught.value)


@given(st.floats(min_value=-10, max_value=2_000, allow_nan=False))
def test_a_market_maker_choice_is_taken_iff_within_its_bounds(value: float) -> None:
    spec = f"market-maker.min-spread-bps={value!r}"  # Bps: > 0 and <= 1000

    if 0 < value <= 1_000:
        assert parse_param(spec) == Choices("market-maker.min-spread-bps", (value,))
    else:
        with pytest.raises(SpaceError, match=r"market-maker\.min-spread-bps: .* refused"):
            parse_param(spec)


@given(low=st.integers(-5, 200_000), width=st.integers(1, 200_000))
def test_a_market_maker_int_range_is_taken_iff_both_bounds_are(low: int, width: int) -> None:
    spec = f"market-maker.taker-cap-calm-fills={low}:{low + width}"  # Fills: 1 .. 100_000

    if low >= 1 and low + width <= 100_000:
        param = parse_param(spec)
        assert isinstance(param, Range)
        assert (param.kind, param.low, param.high) == (int, low, low + width)
    else:
        with pytest.raises(SpaceError, match=r"market-maker\.taker-cap-calm-fills: .* refused"):
            parse_param(spec)
