"""The live session's own prints: the backtest venue skips one per fill, the feed still gets
every print."""

from collections import Counter
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from research.backtest.engine import Engine
from research.backtest.market import recording_lines
from research.parity.own_trades import OwnPrints, own_prints
from research.parity.records import Fill
from services.simulator.venue import RecordedTrade
from services.strategy.api import Output
from services.strategy.kinds import build_strategy
from shared.schema import BusMessage, Trade
from tests.unit.research import support
from tests.unit.research.test_backtest_identity import REPLAY

T = 1_796_622_322_954  # a fill's venue time, ms
GRIDS = {"BTCUSDT": (Decimal("0.1"), Decimal("0.001"))}


def fill(side: str, qty: str, price: str, *, maker: bool = False, ms: int = T) -> Fill:
    return Fill(side, Decimal(qty), Decimal(price), maker, ms * 1_000_000, "mom1-1-x")


def trade(taker_is_buy: bool, ticks: int, lots: int, ms: int = T) -> RecordedTrade:
    return RecordedTrade("BTCUSDT", ms, taker_is_buy, ticks, lots, 0, ms)


def test_a_taker_and_a_maker_fill_skip_their_prints_once_each() -> None:
    own = own_prints(
        [fill("Buy", "0.001", "97211.3"), fill("Buy", "0.002", "97000", maker=True, ms=T + 7)],
        "BTCUSDT",
        GRIDS,
    )

    assert own(trade(True, 972_113, 1))  # we bought as taker: the taker bought
    assert not own(trade(True, 972_113, 1))  # once per fill
    assert not own(trade(True, 970_000, 2, T + 7))  # we made the buy: the taker sold
    assert own(trade(False, 970_000, 2, T + 7))
    assert not own(trade(False, 972_113, 1))  # another side: someone else's
    assert own.skipped == 2
    assert own.describe().startswith("2 of the session's 2 fills' public prints kept from")


def test_a_fill_of_unknown_side_or_off_the_grid_skips_nothing() -> None:
    own = own_prints([fill("?", "0.001", "1"), fill("Buy", "0.0005", "1")], "BTCUSDT", GRIDS)

    assert sum(own.wanted.values()) == 0
    assert own.describe().startswith("0 of the session's 2 fills'")


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.booleans(), st.sampled_from([1, 500])),
        max_size=12,
    ),
    st.lists(st.integers(0, 11), max_size=6, unique=True),
)
def test_exactly_the_prints_of_the_fills_are_skipped(
    prints: list[tuple[int, bool, int]], ours: list[int]
) -> None:
    chosen = [prints[i] for i in ours if i < len(prints)]
    fills = [
        fill("Buy" if buy else "Sell", str(Decimal(lots) / 1000), "100", ms=T + t)
        for t, buy, lots in chosen
    ]
    own = own_prints(fills, "BTCUSDT", GRIDS)

    applied = [(t, buy, lots) for t, buy, lots in prints if not own(trade(buy, 1000, lots, T + t))]

    left = list(prints)
    for print_ in chosen:
        left.remove(print_)
    assert sorted(applied) == sorted(left)
    assert own.skipped == len(chosen)


class CountingStrategy:
    """The scalper, counting the Trade messages it is told (the feed's view)."""

    def __init__(self) -> None:
        self.inner = build_strategy(support.settings().strategy, 0)
        self.trades = 0
        self.counters: Counter[str] = self.inner.counters

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        self.trades += isinstance(message, Trade)
        return self.inner.on_message(message, now_ns)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_the_venue_skips_them_and_the_feed_still_tells_the_strategy() -> None:
    skipped: list[RecordedTrade] = []

    def skip_all(event: RecordedTrade) -> bool:
        skipped.append(event)
        return True

    plain, skipping = CountingStrategy(), CountingStrategy()
    Engine(support.settings(), recording_lines([REPLAY]), strategy=plain).run()  # type: ignore[arg-type]
    Engine(
        support.settings(),
        recording_lines([REPLAY]),
        strategy=skipping,  # type: ignore[arg-type]
        venue_skip=skip_all,
    ).run()

    assert skipped, "the fixture's trades reached the skip"
    assert skipping.trades == plain.trades > 0


def test_a_skip_that_takes_nothing_leaves_the_run_as_it_was() -> None:
    nothing = OwnPrints(fills=0)
    plain = Engine(support.settings(), recording_lines([REPLAY])).run().to_json()
    with_skip = Engine(support.settings(), recording_lines([REPLAY]), venue_skip=nothing).run()

    assert with_skip.to_json() == plain
