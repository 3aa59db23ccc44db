import json
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.feed.book import BookUpdate, OrderBook
from shared.bybit import wire
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES

SYMBOL = "BTCUSDT"
NS_PER_MS = 1_000_000

Venue = dict[int, int]  # one side of the venue's book: price tick -> qty in lots


# ---------------------------------------------------------------- helpers


def _fixture(name: str) -> wire.OrderBookMessage:
    raw = (FIXTURES / f"ws_public_linear_{name}.json").read_bytes()
    return msgspec.json.decode(raw, type=wire.OrderBookMessage)


def _fixture_book(name: str) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    # The plain reading of a captured frame: json, dicts and Decimal(str).
    data = json.loads((FIXTURES / f"ws_public_linear_{name}.json").read_bytes())["data"]
    return (
        {Decimal(p): Decimal(q) for p, q in data["b"]},
        {Decimal(p): Decimal(q) for p, q in data["a"]},
    )


def _apply_plain(book: dict[Decimal, Decimal], delta: dict[Decimal, Decimal]) -> None:
    for price, qty in delta.items():
        if qty:
            book[price] = qty
        else:
            book.pop(price, None)


def _px(tick: int) -> Decimal:
    return Decimal(f"{tick / 10:.2f}")


def _qty(lots: int) -> Decimal:
    return Decimal(f"{lots}.000")  # "0.000" deletes, as the venue's "0" does


def _levels(side: Venue) -> list[tuple[Decimal, Decimal]]:
    return [(_px(tick), _qty(lots)) for tick, lots in side.items()]


def _message(
    kind: str, u: int, bids: Venue, asks: Venue, *, depth: int = 50, ts_ms: int = 1_000
) -> wire.OrderBookMessage:
    """Build a venue frame and read it back as the feed does (JSON bytes -> wire type)."""
    message = wire.OrderBookMessage(
        topic=f"orderbook.{depth}.{SYMBOL}",
        type=kind,
        ts=ts_ms,
        data=wire.OrderBookData(
            s=SYMBOL,
            b=sorted(_levels(bids), reverse=True),
            a=sorted(_levels(asks)),
            u=u,
            seq=10 * u,
        ),
        cts=ts_ms - 1,
    )
    return msgspec.json.decode(msgspec.json.encode(message), type=wire.OrderBookMessage)


def _window(side: Venue, depth: int, *, bids: bool) -> Venue:
    ticks = sorted(side, reverse=bids)[:depth]
    return {tick: side[tick] for tick in ticks}


def _diff(old: Venue, new: Venue) -> Venue:
    # What Bybit sends for one side: changed or new levels, and 0 for levels that left.
    changed = {tick: lots for tick, lots in new.items() if old.get(tick) != lots}
    return changed | {tick: 0 for tick in old if tick not in new}


def _expected(bids: Venue, asks: Venue) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    return (
        [(_px(t), _qty(bids[t])) for t in sorted(bids, reverse=True)],
        [(_px(t), _qty(asks[t])) for t in sorted(asks)],
    )


def _synced_book(
    bids: Venue | None = None, asks: Venue | None = None, *, u: int = 100
) -> OrderBook:
    book = OrderBook(SYMBOL, 50)
    snapshot = _message("snapshot", u, bids or {99: 1, 98: 2}, asks or {101: 3, 102: 4})
    assert book.apply(snapshot, recv_ns=0) is BookUpdate.APPLIED
    return book


# ---------------------------------------------------------------- venue model (hypothesis)

Change = tuple[bool, int, int]  # (is_bid, tick, lots); lots 0 removes the level
_bid_ticks = st.integers(0, 30)
_ask_ticks = st.integers(20, 50)  # overlaps the bids: some books cross
_side_levels = st.integers(1, 9)
_changes = st.lists(
    st.one_of(
        st.tuples(st.just(True), _bid_ticks, st.integers(0, 9)),
        st.tuples(st.just(False), _ask_ticks, st.integers(0, 9)),
    ),
    min_size=1,
    max_size=6,
)


def _change(bids: Venue, asks: Venue, changes: list[Change]) -> None:
    for is_bid, tick, lots in changes:
        side = bids if is_bid else asks
        if lots:
            side[tick] = lots
        else:
            side.pop(tick, None)


def _venue_deltas(
    depth: int, bids: Venue, asks: Venue, steps: list[list[Change]], first_u: int
) -> list[tuple[wire.OrderBookMessage, Venue, Venue]]:
    """Each delta Bybit would send on orderbook.<depth> as the venue changes, with the
    windows (top `depth` levels per side) the subscriber should then hold."""
    out = []
    old_bids, old_asks = _window(bids, depth, bids=True), _window(asks, depth, bids=False)
    u = first_u
    for changes in steps:
        _change(bids, asks, changes)
        new_bids, new_asks = _window(bids, depth, bids=True), _window(asks, depth, bids=False)
        delta_bids, delta_asks = _diff(old_bids, new_bids), _diff(old_asks, new_asks)
        if not delta_bids and not delta_asks:
            continue  # nothing changed in the window: the venue sends nothing
        u += 1
        out.append((_message("delta", u, delta_bids, delta_asks, depth=depth), new_bids, new_asks))
        old_bids, old_asks = new_bids, new_asks
    return out


def _is_crossed(bids: Venue, asks: Venue) -> bool:
    return bool(bids and asks) and max(bids) >= min(asks)


_books = st.tuples(
    st.integers(2, 8),
    st.dictionaries(_bid_ticks, _side_levels, max_size=20),
    st.dictionaries(_ask_ticks, _side_levels, max_size=20),
    st.lists(_changes, max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(_books)
def test_book_equals_venue_window_after_snapshot_and_any_deltas(
    case: tuple[int, Venue, Venue, list[list[Change]]],
) -> None:
    # Arrange
    depth, bids, asks, steps = case
    book = OrderBook(SYMBOL, depth)
    snap_bids, snap_asks = _window(bids, depth, bids=True), _window(asks, depth, bids=False)
    snapshot = _message("snapshot", 7, snap_bids, snap_asks, depth=depth)

    # Act / Assert: after the snapshot and after every delta, the book is the venue's window
    outcome = book.apply(snapshot, recv_ns=1)
    assert book.levels(depth) == _expected(snap_bids, snap_asks)
    assert outcome is (
        BookUpdate.CROSSED if _is_crossed(snap_bids, snap_asks) else BookUpdate.APPLIED
    )
    for message, window_bids, window_asks in _venue_deltas(depth, bids, asks, steps, 7):
        outcome = book.apply(message, recv_ns=2)
        assert book.levels(depth) == _expected(window_bids, window_asks)
        assert len(book) == len(window_bids) + len(window_asks)
        assert book.last_u == message.data.u
        crossed = _is_crossed(window_bids, window_asks)
        assert outcome is (BookUpdate.CROSSED if crossed else BookUpdate.APPLIED)
        assert book.tradeable is (not crossed and bool(window_bids and window_asks))


@settings(max_examples=300, deadline=None)
@given(_books)
def test_best_bid_below_best_ask_after_every_applied_update(
    case: tuple[int, Venue, Venue, list[list[Change]]],
) -> None:
    depth, bids, asks, steps = case
    book = OrderBook(SYMBOL, depth)
    snap_bids, snap_asks = _window(bids, depth, bids=True), _window(asks, depth, bids=False)
    messages = [_message("snapshot", 7, snap_bids, snap_asks, depth=depth)]
    messages += [m for m, _, _ in _venue_deltas(depth, bids, asks, steps, 7)]

    for message in messages:
        outcome = book.apply(message, recv_ns=0)
        top = book.top()
        if outcome is BookUpdate.APPLIED and top is not None:
            assert top[0] < top[2]
            assert book.tradeable
        else:
            assert outcome in (BookUpdate.APPLIED, BookUpdate.CROSSED)
            assert not book.tradeable
            if outcome is BookUpdate.CROSSED:
                assert top is not None
                assert top[0] >= top[2]


@settings(max_examples=200, deadline=None)
@given(_books, st.data())
def test_any_skipped_u_is_a_gap_and_the_book_is_unusable_until_a_snapshot(
    case: tuple[int, Venue, Venue, list[list[Change]]], data: st.DataObject
) -> None:
    # Arrange
    depth, bids, asks, steps = case
    book = OrderBook(SYMBOL, depth)
    book.apply(_message("snapshot", 7, bids, asks, depth=depth), recv_ns=0)
    deltas = [m for m, _, _ in _venue_deltas(depth, bids, asks, steps, 7)]
    for _ in range(2):
        u = deltas[-1].data.u + 1 if deltas else 8
        deltas.append(_message("delta", u, {1: u}, {}, depth=depth))
    skipped = data.draw(st.integers(0, len(deltas) - 2), label="skipped delta")

    # Act
    for message in deltas[:skipped]:
        book.apply(message, recv_ns=0)
    outcome = book.apply(deltas[skipped + 1], recv_ns=0)

    # Assert: the gap, then every later delta, leaves no usable book
    assert outcome is BookUpdate.GAP
    assert book.last_u == deltas[skipped].data.u - 1  # what was expected, for the log
    for message in deltas[skipped + 2 :]:
        assert book.apply(message, recv_ns=0) is BookUpdate.GAP
    assert not book.tradeable
    assert not book.synced
    assert book.top() is None
    assert book.is_stale(now_ns=0, stale_after_ns=10**18)
    resnapshot = _message("snapshot", 1000, {5: 1}, {45: 1}, depth=depth)
    assert book.apply(resnapshot, recv_ns=0) is BookUpdate.APPLIED
    assert book.tradeable
    assert book.top() == (_px(5), _qty(1), _px(45), _qty(1))


@settings(max_examples=200, deadline=None)
@given(_books, st.data())
def test_replayed_deltas_are_duplicates_and_change_nothing(
    case: tuple[int, Venue, Venue, list[list[Change]]], data: st.DataObject
) -> None:
    depth, bids, asks, steps = case
    book = OrderBook(SYMBOL, depth)
    book.apply(_message("snapshot", 7, bids, asks, depth=depth), recv_ns=0)
    deltas = [m for m, _, _ in _venue_deltas(depth, bids, asks, steps, 7)]
    for message in deltas:
        book.apply(message, recv_ns=0)
    before = (book.levels(depth), book.last_u, book.last_seq, book.tradeable)

    replayed = data.draw(st.lists(st.sampled_from(deltas), max_size=5)) if deltas else []
    outcomes = [book.apply(message, recv_ns=0) for message in replayed]

    assert outcomes == [BookUpdate.DUPLICATE] * len(replayed)
    assert (book.levels(depth), book.last_u, book.last_seq, book.tradeable) == before


# ---------------------------------------------------------------- captured venue frames


def test_orderbook50_capture_applies_snapshot_then_next_delta() -> None:
    # Arrange
    book = OrderBook(SYMBOL, 50)
    snapshot = _fixture("orderbook50_snapshot")
    delta = _fixture("orderbook50_delta")

    # Act
    first = book.apply(snapshot, recv_ns=1)
    top_after_snapshot = book.top()
    second = book.apply(delta, recv_ns=2)

    # Assert
    assert (first, second) == (BookUpdate.APPLIED, BookUpdate.APPLIED)
    assert top_after_snapshot == (
        Decimal("26368.50"),
        Decimal("217.017"),
        Decimal("26368.70"),
        Decimal("2.159"),
    )
    assert book.top() == (
        Decimal("26368.50"),
        Decimal("205.017"),
        Decimal("26368.70"),
        Decimal("2.159"),
    )
    assert (book.last_u, book.last_seq, book.last_ts_ms) == (3545398, 8096804776, 1685082883413)
    assert book.tradeable
    assert len(book) == 100


@pytest.mark.parametrize("depth", [50, 200, 500])
def test_captured_snapshot_and_delta_give_the_plain_reading_of_both(depth: int) -> None:
    # Arrange
    snapshot = _fixture(f"orderbook{depth}_snapshot")
    delta = _fixture(f"orderbook{depth}_delta")
    book = OrderBook(snapshot.data.s, depth)
    bids, asks = _fixture_book(f"orderbook{depth}_snapshot")
    delta_bids, delta_asks = _fixture_book(f"orderbook{depth}_delta")
    _apply_plain(bids, delta_bids)
    _apply_plain(asks, delta_asks)

    # Act
    outcomes = [book.apply(snapshot, recv_ns=1), book.apply(delta, recv_ns=2)]

    # Assert
    assert delta.data.u == snapshot.data.u + 1
    assert outcomes == [BookUpdate.APPLIED, BookUpdate.APPLIED]
    assert book.levels(depth) == (
        sorted(bids.items(), reverse=True),
        sorted(asks.items()),
    )
    assert len(book) == 2 * depth  # the venue deletes what falls out of its window
    top = book.top()
    assert top == (max(bids), bids[max(bids)], min(asks), asks[min(asks)])
    assert top[0] < top[2]
    assert book.tradeable
    assert book.last_u == delta.data.u


def test_orderbook1_capture_is_a_snapshot_and_its_resend_confirms_the_book() -> None:
    # Arrange
    book = OrderBook("BANDUSDT", 1)
    message = _fixture("orderbook1_snapshot")
    recv_ns = message.ts * NS_PER_MS + 5 * NS_PER_MS
    resend = msgspec.structs.replace(message, ts=message.ts + 3_000)  # unchanged, every 3 s

    # Act
    first = book.apply(message, recv_ns)
    resent = book.apply(resend, recv_ns + 3_000 * NS_PER_MS)

    # Assert
    assert (first, resent) == (BookUpdate.APPLIED, BookUpdate.DUPLICATE)
    assert book.top() == (Decimal("0.6131"), Decimal("17.9"), Decimal("0.6134"), Decimal("35.4"))
    assert book.last_u == 24042997
    assert (book.last_recv_ns, book.last_ts_ms) == (recv_ns + 3_000 * NS_PER_MS, resend.ts)
    assert not book.is_stale(recv_ns + 3_100 * NS_PER_MS, stale_after_ns=1_000 * NS_PER_MS)


def test_captured_delta_before_any_snapshot_is_a_gap() -> None:
    book = OrderBook(SYMBOL, 50)

    outcome = book.apply(_fixture("orderbook50_delta"), recv_ns=0)

    assert outcome is BookUpdate.GAP
    assert book.top() is None
    assert not book.tradeable


def test_captured_delta_applied_twice_is_a_duplicate_the_second_time() -> None:
    book = OrderBook(SYMBOL, 50)
    book.apply(_fixture("orderbook50_snapshot"), recv_ns=0)
    delta = _fixture("orderbook50_delta")

    outcomes = [book.apply(delta, recv_ns=0), book.apply(delta, recv_ns=0)]

    assert outcomes == [BookUpdate.APPLIED, BookUpdate.DUPLICATE]
    assert book.top() is not None
    assert book.top()[1] == Decimal("205.017")


# ---------------------------------------------------------------- rules, one by one


def test_depth1_message_typed_delta_is_taken_as_a_snapshot() -> None:
    book = OrderBook(SYMBOL, 1)
    book.apply(_message("snapshot", 10, {99: 1}, {101: 1}, depth=1), recv_ns=0)

    outcome = book.apply(_message("delta", 11, {100: 2}, {102: 3}, depth=1), recv_ns=0)

    assert outcome is BookUpdate.APPLIED
    assert book.levels(5) == ([(_px(100), _qty(2))], [(_px(102), _qty(3))])


def test_snapshot_with_u_1_replaces_the_book_and_counts_a_restart() -> None:
    book = _synced_book(u=500)

    outcome = book.apply(_message("snapshot", 1, {50: 1}, {60: 2}), recv_ns=0)

    assert outcome is BookUpdate.APPLIED
    assert book.levels(10) == ([(_px(50), _qty(1))], [(_px(60), _qty(2))])
    assert (book.last_u, book.restarts) == (1, 1)


def test_message_with_u_1_typed_delta_is_taken_as_a_snapshot() -> None:
    book = _synced_book(u=500)

    outcome = book.apply(_message("delta", 1, {50: 1}, {60: 2}), recv_ns=0)

    assert outcome is BookUpdate.APPLIED
    assert book.levels(10) == ([(_px(50), _qty(1))], [(_px(60), _qty(2))])


def test_snapshot_replaces_a_gapped_book() -> None:
    book = _synced_book(u=100)
    assert book.apply(_message("delta", 102, {97: 1}, {}), recv_ns=0) is BookUpdate.GAP

    outcome = book.apply(_message("snapshot", 150, {90: 1}, {110: 1}), recv_ns=0)

    assert outcome is BookUpdate.APPLIED
    assert book.tradeable
    assert book.levels(10) == ([(_px(90), _qty(1))], [(_px(110), _qty(1))])


def test_delta_deletes_known_and_ignores_unknown_prices_at_size_0() -> None:
    book = _synced_book({99: 1, 98: 2}, {101: 3, 102: 4}, u=100)

    outcome = book.apply(_message("delta", 101, {99: 0, 50: 0}, {102: 5, 103: 6}), recv_ns=0)

    assert outcome is BookUpdate.APPLIED
    assert book.levels(10) == (
        [(_px(98), _qty(2))],
        [(_px(101), _qty(3)), (_px(102), _qty(5)), (_px(103), _qty(6))],
    )


def test_delta_price_with_another_exponent_is_the_same_level() -> None:
    book = _synced_book({99: 1}, {101: 3}, u=100)
    delta = wire.OrderBookMessage(
        topic=f"orderbook.50.{SYMBOL}",
        type="delta",
        ts=1,
        data=wire.OrderBookData(s=SYMBOL, b=[(Decimal("9.9"), Decimal("0"))], a=[], u=101, seq=1),
    )

    book.apply(delta, recv_ns=0)

    assert book.levels(10) == ([], [(_px(101), _qty(3))])


def test_crossing_delta_flags_the_book_until_an_update_uncrosses_it() -> None:
    book = _synced_book({99: 1}, {101: 3}, u=100)

    crossed = book.apply(_message("delta", 101, {101: 2}, {}), recv_ns=0)
    still_listed = book.top()
    uncrossed = book.apply(_message("delta", 102, {101: 0}, {}), recv_ns=0)

    assert crossed is BookUpdate.CROSSED
    assert still_listed == (_px(101), _qty(2), _px(101), _qty(3))
    assert uncrossed is BookUpdate.APPLIED
    assert book.tradeable
    assert not book.crossed


def test_crossed_book_is_not_tradeable() -> None:
    book = OrderBook(SYMBOL, 50)

    outcome = book.apply(_message("snapshot", 5, {101: 1}, {100: 1}), recv_ns=0)

    assert outcome is BookUpdate.CROSSED
    assert book.crossed
    assert not book.tradeable


def test_one_sided_book_has_no_top_and_is_not_tradeable() -> None:
    book = _synced_book({99: 1}, {101: 3}, u=100)

    outcome = book.apply(_message("delta", 101, {}, {101: 0}), recv_ns=0)

    assert outcome is BookUpdate.APPLIED
    assert book.top() is None
    assert not book.tradeable
    assert book.levels(3) == ([(_px(99), _qty(1))], [])


def test_snapshot_drops_zero_levels_and_keeps_the_later_of_a_repeated_price() -> None:
    book = OrderBook(SYMBOL, 50)
    snapshot = wire.OrderBookMessage(
        topic=f"orderbook.50.{SYMBOL}",
        type="snapshot",
        ts=1,
        data=wire.OrderBookData(
            s=SYMBOL,
            b=[(_px(99), _qty(1)), (_px(98), _qty(0)), (_px(99), _qty(7)), (_px(97), _qty(2))],
            a=[(_px(101), _qty(3))],
            u=5,
            seq=1,
        ),
    )

    book.apply(snapshot, recv_ns=0)

    assert book.levels(10) == ([(_px(99), _qty(7)), (_px(97), _qty(2))], [(_px(101), _qty(3))])


def test_levels_returns_best_first_up_to_n() -> None:
    book = _synced_book({99: 1, 98: 2, 97: 3}, {101: 4, 102: 5, 103: 6})

    assert book.levels(2) == (
        [(_px(99), _qty(1)), (_px(98), _qty(2))],
        [(_px(101), _qty(4)), (_px(102), _qty(5))],
    )
    assert book.levels(0) == ([], [])
    assert len(book.levels(100)[0]) == 3


def test_message_for_another_symbol_is_refused() -> None:
    book = OrderBook("ETHUSDT", 50)

    with pytest.raises(ValueError, match="BTCUSDT"):
        book.apply(_message("snapshot", 1, {1: 1}, {2: 1}), recv_ns=0)


def test_reset_leaves_no_usable_book() -> None:
    book = _synced_book()

    book.reset()

    assert (book.top(), book.synced, book.last_u) == (None, False, 0)
    assert book.apply(_message("delta", 101, {97: 1}, {}), recv_ns=0) is BookUpdate.GAP


@pytest.mark.parametrize(
    ("now_ms", "recv_ms", "venue_ms", "stale"),
    [
        (1_100, 1_000, 990, False),  # fresh
        (1_600, 1_000, 990, True),  # silent for 600 ms
        (1_100, 1_000, 400, True),  # arrived 600 ms after the venue stamped it
        (1_500, 1_000, 500, False),  # both ages exactly at the limit
    ],
)
def test_book_is_stale_when_silent_or_late(
    now_ms: int, recv_ms: int, venue_ms: int, stale: bool
) -> None:
    book = OrderBook(SYMBOL, 50)
    book.apply(_message("snapshot", 5, {99: 1}, {101: 1}, ts_ms=venue_ms), recv_ms * NS_PER_MS)

    assert book.is_stale(now_ms * NS_PER_MS, stale_after_ns=500 * NS_PER_MS) is stale


def test_book_without_snapshot_is_stale() -> None:
    assert OrderBook(SYMBOL, 50).is_stale(now_ns=0, stale_after_ns=10**18)


def test_depth_below_1_is_refused() -> None:
    with pytest.raises(ValueError, match="depth"):
        OrderBook(SYMBOL, 0)


def test_an_old_snapshot_copy_does_not_roll_a_synced_book_back() -> None:
    book = OrderBook("BTCUSDT", 50)

    def msg(kind: str, u: int, bid: str) -> wire.OrderBookMessage:
        data = wire.OrderBookData(
            s="BTCUSDT",
            b=[(Decimal(bid), Decimal(1))],
            a=[(Decimal("101"), Decimal(1))],
            u=u,
            seq=u,
        )
        return wire.OrderBookMessage(topic="orderbook.50.BTCUSDT", type=kind, ts=1, data=data)

    book.apply(msg("snapshot", 10, "100"), 1)
    book.apply(msg("delta", 11, "100.5"), 2)
    assert book.apply(msg("snapshot", 10, "100"), 3) is BookUpdate.DUPLICATE
    top = book.top()
    assert top is not None
    assert top[0] == Decimal("100.5")
    assert book.stale_snapshots == 1
    assert book.apply(msg("snapshot", 1, "99"), 4) is BookUpdate.APPLIED  # a venue restart
