"""The taker cap: never exceeded in any rolling hour; lower when volatile."""

from hypothesis import given
from hypothesis import strategies as st

from services.strategy.mm.settings import MarketMakerSettings
from services.strategy.mm.taker_cap import HOUR_NS, Regime, TakerCap, regime_of

SETTINGS = MarketMakerSettings()
MINUTE_NS = 60 * 1_000_000_000


@given(
    st.lists(st.tuples(st.integers(0, 10 * MINUTE_NS), st.floats(0, 1)), min_size=1, max_size=400)
)
def test_the_cap_is_never_exceeded_in_any_window(steps: list[tuple[int, float]]) -> None:
    cap = TakerCap(SETTINGS)
    now_ns = 0
    taken: list[int] = []
    for gap_ns, score in steps:
        now_ns += gap_ns
        cap.set_volatility_score(score)
        if cap.may_take(now_ns):
            before = sum(1 for t in taken if t > now_ns - HOUR_NS)
            assert before < cap.cap_fills  # this take keeps the current cap
            cap.note_taker_fill(now_ns)
            taken.append(now_ns)
    for t in taken:
        in_window = sum(1 for u in taken if t - HOUR_NS < u <= t)
        assert in_window <= SETTINGS.taker_cap_calm_fills


def test_volatile_regime_allows_thirty_an_hour_then_frees_after_an_hour() -> None:
    cap = TakerCap(SETTINGS)
    cap.set_volatility_score(0.9)
    for i in range(30):
        assert cap.may_take(i)
        cap.note_taker_fill(i)
    assert not cap.may_take(30)
    assert cap.may_take(HOUR_NS)  # the first fill left the window
    cap.set_volatility_score(0.1)
    assert cap.cap_fills == 75
    assert cap.may_take(31)


def test_regimes_by_volatility_score() -> None:
    assert regime_of(0.1, SETTINGS) == Regime.CALM
    assert regime_of(0.5, SETTINGS) == Regime.NORMAL
    assert regime_of(0.67, SETTINGS) == Regime.VOLATILE
    assert regime_of(float("nan"), SETTINGS) == Regime.VOLATILE
    assert TakerCap(SETTINGS).regime == Regime.VOLATILE  # until a score is known
