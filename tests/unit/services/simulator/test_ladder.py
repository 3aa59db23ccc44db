"""The recorded L2 ladder: snapshots, deltas, deletes, the depth it follows, what is consumed."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator.ladder import RecordedDepth
from services.simulator.market_events import DepthUpdate, Level

NOW = 1_000
NONE: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())


def update(
    bids: list[Level], asks: list[Level], *, snapshot: bool = False, depth: int = 50
) -> DepthUpdate:
    return DepthUpdate("ETHUSDT", NOW, depth, snapshot, tuple(bids), tuple(asks))


def ladder_of(bids: list[Level], asks: list[Level]) -> RecordedDepth:
    ladder = RecordedDepth(bid0=1, ask0=2)
    assert ladder.apply(update(bids, asks, snapshot=True), NONE) == []
    return ladder


def side(ladder: RecordedDepth, is_bid: bool) -> list[Level]:
    return [(p, ladder.lots(is_bid, p, NOW)) for p in ladder.candidates(is_bid)]


def test_a_snapshot_sets_the_ladder_best_first_and_the_top() -> None:
    ladder = ladder_of([(99, 5), (100, 3), (97, 0)], [(102, 4), (101, 7)])
    assert side(ladder, True) == [(100, 3), (99, 5)]  # a zero level is not a level
    assert side(ladder, False) == [(101, 7), (102, 4)]
    assert (ladder.bid0, ladder.ask0) == (100, 101)


def test_a_delta_sets_adds_and_deletes_levels() -> None:
    ladder = ladder_of([(100, 3), (99, 5)], [(101, 7)])
    ladder.apply(update([(100, 0), (98, 2), (99, 6)], [(101, 1), (103, 0)]), NONE)
    assert side(ladder, True) == [(99, 6), (98, 2)]
    assert side(ladder, False) == [(101, 1)]
    assert ladder.bid0 == 99, "the best bid left with its level"


def test_a_new_snapshot_replaces_everything() -> None:
    ladder = ladder_of([(100, 3), (99, 5)], [(101, 7)])
    ladder.deplete(True, 100, 2, NOW)
    ladder.apply(update([(90, 1)], [(95, 2)], snapshot=True), NONE)
    assert side(ladder, True) == [(90, 1)]
    assert side(ladder, False) == [(95, 2)]
    assert (ladder.bid0, ladder.ask0) == (90, 95)


def test_a_delta_before_any_snapshot_is_skipped_and_counted() -> None:
    ladder = RecordedDepth(bid0=1, ask0=2)
    assert ladder.apply(update([(100, 3)], []), NONE) is None
    assert ladder.skipped["delta_before_snapshot"] == 1
    assert list(ladder.candidates(True)) == []
    assert (ladder.bid0, ladder.ask0) == (1, 2), "the top stays as it was"


def test_the_ladder_follows_the_deepest_book_it_has_seen() -> None:
    ladder = RecordedDepth(bid0=1, ask0=2)
    ladder.apply(update([(100, 3)], [(101, 1)], snapshot=True, depth=1), NONE)
    assert ladder.depth == 1
    assert ladder.apply(update([(99, 5)], [], depth=500), NONE) is None, "no snapshot yet"
    ladder.apply(update([(100, 4), (99, 5)], [(101, 2)], snapshot=True, depth=500), NONE)
    assert ladder.depth == 500
    assert ladder.apply(update([(100, 9)], [(101, 9)], snapshot=True, depth=1), NONE) is None
    assert ladder.skipped == {"shallower_depth": 1, "delta_before_snapshot": 1}
    assert side(ladder, True) == [(100, 4), (99, 5)]


def test_what_our_takers_consume_stays_consumed_until_the_level_is_updated() -> None:
    ladder = ladder_of([(100, 3)], [(101, 7), (102, 4)])
    ladder.deplete(False, 101, 7, NOW)
    ladder.deplete(False, 102, 1, NOW)
    assert ladder.lots(False, 101, NOW + 60_000) == 0, "time brings nothing back"
    assert not ladder.refill(NOW + 60_000)
    assert ladder.best(False, NOW) == 102
    assert ladder.ask0 == 101, "the recorded top does not move for our takers"
    ladder.apply(update([], [(101, 5)]), NONE)
    assert ladder.lots(False, 101, NOW) == 5, "the recording's update sets the level"
    assert ladder.lots(False, 102, NOW) == 3, "another level is still consumed"


def test_recorded_trades_take_from_their_level_and_are_counted_until_its_update() -> None:
    ladder = ladder_of([(100, 10)], [(101, 7)])
    ladder.on_trade(True, 100, 4)
    ladder.on_trade(True, 100, 1)
    ladder.on_trade(True, 98, 1)  # a level the depth stream did not show: nothing to take
    assert ladder.lots(True, 100, NOW) == 5
    assert ladder.traded_at(True, 100) == 5
    assert ladder.recorded(True, 100) == 10
    changes = ladder.apply(update([(100, 5)], []), ((), (100,)))
    assert changes == [(True, 100, 10, 5, 5)]
    assert ladder.traded_at(True, 100) == 0
    assert ladder.lots(True, 100, NOW) == 5


def test_changes_name_only_the_watched_levels_and_a_snapshot_names_them_all() -> None:
    ladder = ladder_of([(100, 10), (99, 2)], [(101, 7)])
    watched = ((101, 105), (99,))
    assert ladder.apply(update([(100, 1), (99, 0)], [(102, 3)]), watched) == [(True, 99, 2, 0, 0)]
    snapshot = update([(100, 2)], [(105, 6)], snapshot=True)
    assert sorted(ladder.apply(snapshot, watched) or []) == [
        (False, 101, 7, 0, 0),
        (False, 105, 0, 6, 0),
        (True, 99, 0, 0, 0),
    ]


_levels = st.lists(
    st.tuples(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=9)),
    max_size=12,
)
_updates = st.lists(st.tuples(st.booleans(), _levels, _levels), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(updates=_updates)
def test_the_ladder_is_the_recorded_book(
    updates: list[tuple[bool, list[Level], list[Level]]],
) -> None:
    ladder = RecordedDepth(bid0=1, ask0=2)
    reference: tuple[dict[int, int], dict[int, int]] = ({}, {})
    synced = False
    for snapshot, bids, asks in updates:
        applied = ladder.apply(update(bids, asks, snapshot=snapshot), NONE) is not None
        assert applied == (snapshot or synced)
        if not applied:
            continue
        synced = True
        for is_bid, levels in ((True, bids), (False, asks)):
            book = reference[is_bid]
            if snapshot:
                book.clear()
            for price, lots in levels:
                if lots:
                    book[price] = lots
                else:
                    book.pop(price, None)
        for is_bid in (True, False):
            book = reference[is_bid]
            expected = sorted(book.items(), reverse=is_bid)
            assert side(ladder, is_bid) == expected
            assert all(lots > 0 for _, lots in side(ladder, is_bid))
        if reference[True]:
            assert ladder.bid0 == max(reference[True])
        if reference[False]:
            assert ladder.ask0 == min(reference[False])


# ---------------------------------------------------------------- venue times (match_ms)


def timed(
    bids: list[Level],
    asks: list[Level],
    match_ms: int,
    *,
    snapshot: bool = False,
    depth: int = 500,
) -> DepthUpdate:
    return DepthUpdate("ETHUSDT", NOW, depth, snapshot, tuple(bids), tuple(asks), match_ms=match_ms)


def timed_ladder(bids: list[Level], asks: list[Level], match_ms: int = 100) -> RecordedDepth:
    ladder = RecordedDepth(bid0=1, ask0=2)
    assert ladder.apply(timed(bids, asks, match_ms, snapshot=True), NONE) == []
    return ladder


def trade(ladder: RecordedDepth, is_bid: bool, price: int, lots: int, trade_ms: int) -> None:
    ladder.trade_ms = trade_ms
    ladder.on_trade(is_bid, price, lots)


def test_a_trade_later_than_the_book_is_taken_off_until_the_update_that_shows_it() -> None:
    ladder = timed_ladder([(100, 10)], [(101, 7)], match_ms=100)
    trade(ladder, True, 100, 4, trade_ms=120)  # real data: the trade, then the book
    assert ladder.lots(True, 100, NOW) == 6
    assert ladder.traded_at(True, 100) == 4, "its next update shows it again: not a cancel"
    assert ladder.apply(timed([(100, 6)], [], 130), ((), (100,))) == [(True, 100, 10, 6, 4)]
    assert ladder.lots(True, 100, NOW) == 6
    assert ladder.counts["trades_taken"] == 1


def test_a_trade_the_book_already_shows_is_not_taken_off_twice() -> None:
    # a paper session's recording: the step's book (net of its trades) before the trades
    ladder = timed_ladder([(100, 10)], [(101, 7)], match_ms=100)
    ladder.apply(timed([(100, 6)], [], 150), NONE)  # the book at 150 shows the trade at 140
    trade(ladder, True, 100, 4, trade_ms=140)
    assert ladder.lots(True, 100, NOW) == 6, "the book newer than the trade: lots stand"
    assert ladder.traded_at(True, 100) == 0, "the next update's decrease does not hold it"
    trade(ladder, True, 100, 2, trade_ms=150)  # the same venue time: the book shows it too
    assert ladder.lots(True, 100, NOW) == 6
    assert ladder.counts == {
        "top_updates": 0,
        "top_unchanged": 0,
        "top_clamped_levels": 0,
        "trades_taken": 0,
        "trades_in_book": 2,
    }


def test_a_trade_without_a_venue_time_is_taken_off_as_before() -> None:
    ladder = timed_ladder([(100, 10)], [(101, 7)], match_ms=100)
    trade(ladder, True, 100, 4, trade_ms=0)
    assert ladder.lots(True, 100, NOW) == 6


def test_a_newer_shallower_top_hides_better_levels_and_its_sizes_stand() -> None:
    ladder = timed_ladder([(100, 3), (99, 5)], [(101, 7), (102, 4), (103, 9)], match_ms=100)
    top = timed([(100, 2)], [(103, 1)], 110, snapshot=True, depth=1)
    assert ladder.apply(top, NONE) == []
    assert side(ladder, False) == [(103, 1)], "asks better than the top's are gone"
    assert side(ladder, True) == [(100, 2), (99, 5)], "the top's size stands"
    assert (ladder.bid0, ladder.ask0) == (100, 103)
    assert ladder.best(False, NOW) == 103
    assert ladder.counts["top_updates"] == 1
    assert ladder.counts["top_clamped_levels"] == 2
    assert ladder.depth == 500, "the ladder still follows the deeper book"


def test_a_stale_deeper_delta_does_not_bring_back_what_the_top_removed() -> None:
    ladder = timed_ladder([(100, 3)], [(101, 7), (102, 4), (103, 9)], match_ms=100)
    ladder.apply(timed([(100, 2)], [(103, 1)], 110, snapshot=True, depth=1), NONE)
    ladder.apply(timed([(99, 6)], [(101, 8), (104, 2)], 105), NONE)  # older than the top
    assert side(ladder, False) == [(103, 1), (104, 2)], "the top is applied again after it"
    assert side(ladder, True) == [(100, 2), (99, 6)]
    assert ladder.ask0 == 103
    ladder.apply(timed([], [(102, 5)], 120), NONE)  # newer than the top: the deep book stands
    assert side(ladder, False) == [(101, 8), (102, 5), (103, 9), (104, 2)]
    assert side(ladder, True) == [(100, 3), (99, 6)]
    assert (ladder.bid0, ladder.ask0) == (100, 101)


def test_a_top_not_newer_than_the_deeper_book_or_a_shallower_delta_is_skipped() -> None:
    ladder = timed_ladder([(100, 3)], [(101, 7)], match_ms=100)
    assert ladder.apply(timed([(100, 1)], [(102, 1)], 100, snapshot=True, depth=1), NONE) is None
    assert ladder.apply(timed([(100, 1)], [(102, 1)], 130, depth=1), NONE) is None
    assert ladder.skipped["shallower_depth"] == 2
    assert side(ladder, False) == [(101, 7)]


def test_a_trade_at_the_top_is_compared_with_the_top_and_deeper_ones_with_the_book() -> None:
    ladder = timed_ladder([(100, 3)], [(101, 7), (102, 4)], match_ms=100)
    ladder.apply(timed([(100, 3)], [(101, 5)], 110, snapshot=True, depth=1), NONE)
    trade(ladder, False, 101, 2, trade_ms=108)  # the top (110) shows it already
    trade(ladder, False, 102, 1, trade_ms=108)  # the deep book (100) does not
    assert ladder.lots(False, 101, NOW) == 5
    assert ladder.lots(False, 102, NOW) == 3
    assert ladder.counts["trades_in_book"] == 1
    assert ladder.counts["trades_taken"] == 1


def test_a_top_moves_the_queue_of_the_watched_levels_it_changes() -> None:
    ladder = timed_ladder([(100, 3), (99, 5)], [(101, 7), (102, 4)], match_ms=100)
    trade(ladder, False, 101, 2, trade_ms=105)
    watched = ((101, 102), (99,))
    changes = ladder.apply(timed([(99, 5)], [(102, 4)], 110, snapshot=True, depth=1), watched)
    assert sorted(changes or []) == [
        (False, 101, 7, 0, 2),  # hidden by the top; the trade printed there since
        (False, 102, 4, 4, 0),  # the top's own level
        (True, 99, 5, 5, 0),
    ]
    changes = ladder.apply(timed([], [(102, 3)], 120), watched)  # lifts the top
    assert sorted(changes or []) == [(False, 101, 0, 7, 2), (False, 102, 4, 3, 0)]


_events = st.lists(
    st.tuples(
        st.sampled_from(["snapshot", "delta", "top"]),
        st.integers(min_value=1, max_value=30),  # venue time (0 would be "unknown")
        _levels,
        _levels,
    ),
    min_size=1,
    max_size=25,
)


class Reference:
    """The rule of the top over the deeper book, written plainly."""

    def __init__(self) -> None:
        self.deep: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.top: list[Level | None] = [None, None]  # per side, asks then bids
        self.book_ms = self.top_ms = -1

    def on_top(self, ms: int, bids: list[Level], asks: list[Level]) -> bool:
        if ms <= self.book_ms:
            return False
        self.top_ms = ms
        for is_bid, levels in ((True, bids), (False, asks)):
            shown = {p: n for p, n in dict(levels).items() if n > 0}
            if shown:
                best = max(shown) if is_bid else min(shown)
                self.top[is_bid] = (best, shown[best])
        return True

    def on_deep(self, ms: int, snapshot: bool, bids: list[Level], asks: list[Level]) -> None:
        self.book_ms = ms
        for is_bid, levels in ((True, bids), (False, asks)):
            if snapshot:
                self.deep[is_bid].clear()
            for price, lots in levels:
                if lots:
                    self.deep[is_bid][price] = lots
                else:
                    self.deep[is_bid].pop(price, None)
        if ms >= self.top_ms:
            self.top = [None, None]

    def shown(self, is_bid: bool) -> list[Level]:
        shown = dict(self.deep[is_bid])
        top = self.top[is_bid]
        if top is not None:
            price, lots = top
            shown = {p: n for p, n in shown.items() if (p <= price if is_bid else p >= price)}
            shown[price] = lots
        return sorted(shown.items(), reverse=is_bid)


@settings(max_examples=200, deadline=None)
@given(events=_events)
def test_the_ladder_is_the_deeper_book_under_the_newer_top(
    events: list[tuple[str, int, list[Level], list[Level]]],
) -> None:
    ladder = RecordedDepth(bid0=1, ask0=2)
    reference = Reference()
    for kind, ms, bids, asks in events:
        if kind == "top":
            if reference.book_ms < 0:  # no deeper book yet: a depth-1 snapshot would be it
                continue
            applied = ladder.apply(timed(bids, asks, ms, snapshot=True, depth=1), NONE)
            if not reference.on_top(ms, bids, asks):
                assert applied is None
        else:
            snapshot = kind == "snapshot"
            if ladder.apply(timed(bids, asks, ms, snapshot=snapshot), NONE) is None:
                assert reference.book_ms < 0
                continue
            reference.on_deep(ms, snapshot, bids, asks)
        for is_bid in (True, False):
            assert side(ladder, is_bid) == reference.shown(is_bid)
            top = reference.top[is_bid]
            if top is not None:
                assert (ladder.bid0 if is_bid else ladder.ask0) == top[0]
