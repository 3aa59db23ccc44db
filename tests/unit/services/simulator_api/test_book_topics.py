from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.simulator.book_topics import BookTopic

D = Decimal


def _apply(book: dict[Decimal, Decimal], delta: list[tuple[Decimal, Decimal]]) -> None:
    for price, qty in delta:
        if qty == 0:
            book.pop(price, None)
        else:
            book[price] = qty


_levels = st.dictionaries(
    st.integers(min_value=1, max_value=60).map(D),
    st.integers(min_value=1, max_value=9).map(D),
    max_size=12,
)


@given(st.lists(st.tuples(_levels, _levels), min_size=1, max_size=15))
def test_snapshot_plus_deltas_equals_the_venue_book(
    states: list[tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]],
) -> None:
    topic = BookTopic("BTCUSDT", depth=5)
    client_bids: dict[Decimal, Decimal] = {}
    client_asks: dict[Decimal, Decimal] = {}
    last_u = topic.u
    for bids, asks in states:
        venue_bids = sorted(bids.items(), reverse=True)
        venue_asks = sorted(asks.items())
        delta = topic.update(venue_bids, venue_asks)
        if delta is not None:
            _apply(client_bids, delta[0])
            _apply(client_asks, delta[1])
            assert topic.u == last_u + 1
            last_u = topic.u
        assert client_bids == dict(venue_bids[:5])
        assert client_asks == dict(venue_asks[:5])


def test_unchanged_book_sends_nothing() -> None:
    topic = BookTopic("BTCUSDT", depth=2)
    topic.update([(D(10), D(1))], [(D(11), D(1))])
    assert topic.update([(D(10), D(1))], [(D(11), D(1))]) is None


def test_injected_gap_skips_one_update_id() -> None:
    topic = BookTopic("BTCUSDT", depth=2)
    topic.update([(D(10), D(1))], [(D(11), D(1))])
    topic.update([(D(10), D(2))], [(D(11), D(1))], skip_u=True)
    assert topic.u == 3


def test_crossed_level_is_removed_by_the_next_update() -> None:
    topic = BookTopic("BTCUSDT", depth=2)
    topic.update([(D(10), D(1))], [(D(11), D(1))])
    bids, _ = topic.cross(D("0.5")) or ([], [])
    assert bids == [(D("11.5"), D(1))]
    delta = topic.update([(D(10), D(1))], [(D(11), D(1))])
    assert delta == ([(D("11.5"), D(0))], [])
